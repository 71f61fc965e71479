# attack: type.__dict__ gives the descriptor for __subclasses__
# expect: access to attribute '__dict__' is not allowed
print(type.__dict__)
