# attack: swap an object's class with setattr
# expect: setattr() of attribute '__class__' is not allowed
class A:
    pass


class B:
    pass


a = A()
setattr(a, "__class__", B)
