# attack: pass timeit its statement through *args, so the validator never sees the text it compiles;
#   timeit compiles it in its own module, where the real builtins (and so the real import) are
# escaped-if: stdout has "BYPASSED:" (the statement imported the real os module)
import timeit

statement = "import os; print('BYPASSED: timeit ran text with the real import, os.getuid() =', os.getuid())"
timeit.timeit(*[statement], number=1)
