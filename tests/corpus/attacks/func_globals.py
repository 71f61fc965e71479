# attack: reach the module namespace (and real builtins) through a function's globals
# expect: access to attribute '__globals__' is not allowed
print((lambda: 0).__globals__["__builtins__"])
