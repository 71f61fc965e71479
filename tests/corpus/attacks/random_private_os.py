# attack: reach os through the private reference random._os
# expect: access to attribute '_os' is not allowed
import random

random._os.system("id")
