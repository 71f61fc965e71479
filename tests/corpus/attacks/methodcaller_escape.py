# attack: operator.methodcaller invoking __subclasses__
# expect: methodcaller() of attribute '__subclasses__' is not allowed
from operator import methodcaller

print(methodcaller("__subclasses__")(object))
