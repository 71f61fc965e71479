# attack: evaluate code from a string
# expect: eval is not allowed (dynamic code execution)
print(eval("2 ** 10"))
