# attack: compile a code object to run later
# expect: compile is not allowed (dynamic code execution)
code = compile("print(1)", "<x>", "exec")
print(code)
