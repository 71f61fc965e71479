# attack: timeit compiles its statement with the real builtins
# expect: timeit.timeit() with stmt given as text is not allowed
import timeit

timeit.timeit("print('escaped')", number=1)
