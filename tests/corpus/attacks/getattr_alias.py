# attack: alias getattr so the call with a computed name is not recognised
# expect: getattr used as a value is not allowed
look = getattr
print(look(object, "__" + "bases" + "__"))
