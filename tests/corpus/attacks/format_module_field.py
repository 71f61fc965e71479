# attack: a format field that reaches a module reference (random._os)
# expect: a format field reaching attribute '_os' is not allowed
import random

print("{0._os}".format(random.Random))
