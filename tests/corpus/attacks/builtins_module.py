# attack: reach the real builtins module to get eval back
# expect: import of 'builtins' is not allowed
import builtins

builtins.eval("1 + 1")
