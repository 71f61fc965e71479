# attack: run a shell command through os.system
# expect: import of 'os' is not allowed
import os

os.system("id")
