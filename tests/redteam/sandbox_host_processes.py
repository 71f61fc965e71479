# attack: read other processes through /proc: command lines and environments holding secrets
#   (the test runs a decoy whose command line holds nexus-redteam-secret), their open files and
#   pipes (another tool's frames), their memory
# escaped-if: stdout has "ESCAPED:" (a secret seen, or another user's process files opened)
# policy: wide
import os

me = os.getuid()


def read(path):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


seen = opened = 0
for name in os.listdir("/proc"):
    if not name.isdigit() or int(name) == os.getpid():
        continue
    seen += 1
    for what in ("cmdline", "environ"):
        try:
            if b"nexus-redteam-secret" in read(f"/proc/{name}/{what}"):
                print("ESCAPED: found the secret in", f"/proc/{name}/{what}")
        except OSError:
            pass
    try:
        uid = int(read(f"/proc/{name}/status").split(b"\nUid:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        continue
    if uid == me:
        continue
    try:
        descriptors = os.listdir(f"/proc/{name}/fd")
    except OSError:
        continue
    for fd in descriptors:
        try:
            os.close(os.open(f"/proc/{name}/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK))
            opened += 1
        except OSError:
            pass
if opened:
    print("ESCAPED: opened", opened, "descriptors of other users' processes")
print("looked at", seen, "other processes")
