# attack: pass a module around so its private attributes are read from a plain variable
# expect: module 'random' used as a value is not allowed
import random

holder = [random][0]
print(holder.__name__)
