# attack: fetch an already-imported os from sys.modules
# expect: attribute 'sys.modules' is not allowed
import sys

print(sys.modules["os"])
