# attack: reach the real builtins module through dataclasses.builtins
# expect: access to attribute 'builtins' is not allowed
import dataclasses

print(dataclasses.builtins.eval("1"))
