# attack: str.format looks attributes up, so a template can reach __mro__
# expect: a string naming the blocked attribute '__mro__' is not allowed
print("{0.__class__.__mro__}".format(1))
