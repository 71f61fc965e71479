# attack: write outside /tmp where the kernel listens: sysctls, the OOM score (to make the host's
#   OOM killer pick someone else), cgroup limits, sysrq, core_pattern
# escaped-if: stdout has "ESCAPED:" (one of these writes was accepted)
# policy: wide
import os

WRITES = {
    "/proc/self/oom_score_adj": b"-1000",
    "/proc/sys/kernel/hostname": b"nexus-redteam",
    "/proc/sys/kernel/core_pattern": b"|/tmp/nexus-redteam",
    "/proc/sysrq-trigger": b"h",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes": b"-1",
    "/sys/fs/cgroup/pids/pids.max": b"max",
    "/sys/fs/cgroup/memory.max": b"max",
}
for path, data in WRITES.items():
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        print(path, "refused:", exc.strerror)
        continue
    try:
        os.write(fd, data)
        print("ESCAPED: wrote", path)
    except OSError as exc:
        print(path, "write refused:", exc.strerror)
    finally:
        os.close(fd)
