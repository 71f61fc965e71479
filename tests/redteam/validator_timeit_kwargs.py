# attack: pass timeit its statement through **kwargs, so the validator never sees the text it compiles
# escaped-if: stdout has "BYPASSED:" (the statement imported the real os module)
import timeit

options = {"stmt": "import os; print('BYPASSED: timeit **kwargs ran the real import, uid', os.getuid())"}
timeit.timeit(**options, number=1)
