# attack: fetch __builtins__ out of globals()
# expect: globals()['__builtins__'] is not allowed
print(globals()["__builtins__"])
