# attack: execute statements from a string
# expect: exec is not allowed (dynamic code execution)
exec("import os\nos.system('id')")
