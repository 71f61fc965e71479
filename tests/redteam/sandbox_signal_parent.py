# attack: kill the process that runs the sandbox (the kernel or the test), then any process of
#   another user, then everything this uid may signal (kill(-1) from a child)
# escaped-if: stdout has "ESCAPED:" (a process outside the tool could be signalled), or the host
#   process running the tool dies
# policy: wide
import os
import signal

me = os.getuid()


def owner(pid):
    try:
        fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
    except OSError:
        return None
    try:
        for line in os.read(fd, 8192).decode().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    finally:
        os.close(fd)
    return None


parent = os.getppid()
if parent == 0:
    print("no parent visible: the tool is the first process of its own pid namespace")
else:
    try:
        os.kill(parent, signal.SIGKILL)
        print("ESCAPED: SIGKILL delivered to the parent process", parent, "uid", owner(parent))
    except OSError as exc:
        print("parent", parent, "refused:", exc.strerror)

for name in os.listdir("/proc"):
    if name.isdigit() and int(name) != os.getpid():
        uid = owner(int(name))
        if uid is not None and uid != me:
            try:
                os.kill(int(name), 0)
                print("ESCAPED: may signal process", name, "of uid", uid)
            except OSError:
                pass

child = os.fork()
if child == 0:
    try:
        os.kill(-1, signal.SIGKILL)  # every process this uid may signal (this one included)
    except OSError:
        pass
    os._exit(0)
os.waitpid(child, 0)
print("still here after kill(-1) in a child")
