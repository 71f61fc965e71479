# attack: read type's namespace to get __subclasses__ without writing the attribute
# expect: vars() of a module, a type or an expression is not allowed
subclasses = vars(type)["__sub" + "classes__"]
print(subclasses(object))
