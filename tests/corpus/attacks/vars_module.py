# attack: read a module's globals through vars() to find its private os reference
# expect: vars() of a module, a type or an expression is not allowed
import random

print(vars(random)["_os"])
