# attack: list every class in the interpreter from object
# expect: '__subclasses__' is not allowed
print(len(object.__subclasses__()))
