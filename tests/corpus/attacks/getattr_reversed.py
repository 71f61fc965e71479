# attack: hide the attribute name as a reversed string
# expect: getattr() of attribute '__subclasses__' is not allowed
print(getattr(object, "__sessalcbus__"[::-1])())
