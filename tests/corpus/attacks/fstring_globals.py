# attack: an f-string expression that reaches __globals__
# expect: access to attribute '__globals__' is not allowed
print(f"{(lambda: 0).__globals__}")
