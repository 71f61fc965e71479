# attack: build the blocked attribute name from pieces for getattr
# expect: getattr() of attribute '__subclasses__' is not allowed
print(getattr(object, "__sub" + "classes__")())
