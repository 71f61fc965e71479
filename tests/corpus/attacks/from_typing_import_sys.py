# attack: import the real sys as a name from typing
# expect: import of 'sys' from 'typing' is not allowed
from typing import sys

print(sys.modules)
