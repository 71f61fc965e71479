# attack: string.Formatter.get_field is getattr with a computed name, returning the real object
# expect: access to 'get_field' is not allowed
import string

name = "".join(["0.", "__class__"])
print(string.Formatter().get_field(name, [1], {}))
