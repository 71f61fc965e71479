# attack: timeit's statement may be a function the tool defines, so define one and rebind its name
#   to text: the validator trusts the name, timeit compiles the text with the real builtins
# escaped-if: stdout has "BYPASSED:" (the statement imported the real os module)
import timeit


def statement():
    return None


statement = "import os; print('BYPASSED: a rebound function name reached timeit, uid', os.getuid())"  # noqa: F811
timeit.timeit(statement, number=1)
