# attack: operator.attrgetter with a dotted path to object's base class
# expect: attrgetter() of attribute '__base__' is not allowed
import operator

print(operator.attrgetter("__class__.__base__")(()))
