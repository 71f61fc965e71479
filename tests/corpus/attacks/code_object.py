# attack: rewrite a function's code object
# expect: access to attribute '__code__' is not allowed
def f():
    return 1


print(f.__code__.co_consts)
