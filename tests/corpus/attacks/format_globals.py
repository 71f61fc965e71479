# attack: a format template that prints a function's globals
# expect: a string naming the blocked attribute '__globals__' is not allowed
def f():
    pass


print("{0.__globals__}".format(f))
