# attack: relative import to reach modules next to the bootstrap
# expect: relative import is not allowed
from . import bootstrap

print(bootstrap)
