# attack: read a host file through pathlib
# expect: import from 'pathlib' is not allowed (file-system or operating-system access)
from pathlib import Path

print(Path("/etc/passwd").read_text())
