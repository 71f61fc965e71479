# attack: swap an object's class by assignment
# expect: assignment to '__class__' is not allowed
class A:
    pass


class B:
    pass


a = A()
a.__class__ = B
print(type(a))
