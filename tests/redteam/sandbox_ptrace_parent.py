# attack: attach to the parent (or the namespace's first process) with ptrace, or read its memory
#   through /proc/PID/mem, to run code outside the tool
# escaped-if: stdout has "ESCAPED:" (attached to, or opened the memory of, a process not the tool's)
# policy: wide
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
targets = {pid for pid in (os.getppid(), 1) if pid not in (0, os.getpid())}
for pid in sorted(targets):
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        print("ESCAPED: ptrace attached to", pid)
        libc.ptrace(PTRACE_DETACH, pid, None, None)
    else:
        print("ptrace", pid, "refused:", os.strerror(ctypes.get_errno()))
    try:
        os.close(os.open(f"/proc/{pid}/mem", os.O_RDONLY))
        print("ESCAPED: opened /proc/%d/mem" % pid)
    except OSError as exc:
        print("/proc/%d/mem refused: %s" % (pid, exc.strerror))
if not targets:
    print("no other process to attach to: the tool is alone in its pid namespace")
