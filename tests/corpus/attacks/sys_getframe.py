# attack: read the caller frame's globals with sys._getframe
# expect: access to attribute '_getframe' is not allowed
import sys

print(sys._getframe(1).f_globals)
