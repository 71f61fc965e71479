# attack: import os inside a lambda body
# expect: __import__ is not allowed
opener = lambda: __import__("os")  # noqa: E731
opener().system("id")
