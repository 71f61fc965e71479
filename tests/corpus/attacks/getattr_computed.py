# attack: compute the attribute name at run time so no literal appears
# expect: getattr() with a computed attribute name is not allowed
name = "".join(chr(c) for c in [95, 95, 109, 114, 111, 95, 95])
print(getattr(int, name))
