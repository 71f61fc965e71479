# attack: start a child process with subprocess
# expect: 'subprocess' is not allowed (process or thread creation)
from subprocess import run

run(["id"], check=False)
