# attack: make namespaces of its own (a user namespace makes the tool root in it) and mount a
#   filesystem: past the /tmp size cap, over the read-only root, the usual start of kernel exploits
# escaped-if: stdout has "ESCAPED:" (a namespace was created or something was mounted)
# policy: wide
import ctypes
import os
import subprocess

NUMBERS = {"x86_64": {"unshare": 272, "mount": 165}, "aarch64": {"unshare": 97, "mount": 40}}
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
numbers = NUMBERS.get(os.uname().machine)


def outcome(result):
    return "succeeded" if result == 0 else os.strerror(ctypes.get_errno())


if numbers:
    for label, flags in (("user", CLONE_NEWUSER), ("mount", CLONE_NEWNS), ("network", CLONE_NEWNET)):
        # In a child: a successful unshare would change this process for what follows.
        pid = os.fork()
        if pid == 0:
            os._exit(0 if libc.syscall(numbers["unshare"], flags) == 0 else 1)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0:
            print("ESCAPED: created a", label, "namespace")
        else:
            print(label, "namespace refused")
    result = libc.syscall(numbers["mount"], b"nexus", b"/tmp", b"tmpfs", 0, b"size=1g")
    print("ESCAPED: mounted a tmpfs" if result == 0 else "mount refused: " + outcome(result))
for command in (["unshare", "-Ur", "id", "-u"], ["unshare", "-m", "true"]):
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError) as exc:
        print(command[0:2], "not run:", type(exc).__name__)
        continue
    if done.returncode == 0:
        print("ESCAPED:", " ".join(command), "succeeded:", done.stdout.strip())
    else:
        print(" ".join(command), "refused:", done.returncode)
