# attack: hold memory outside the address space: data written to memfd files (RAM-backed) counts
#   against no address-space limit (the executor tests give 64 MB)
# escaped-if: stdout has "ESCAPED:" (more than 64 MB held in memory files)
# policy: wide
import os

LIMIT_MB = 64
chunk = b"m" * (1024 * 1024)
held, files = 0, []
try:
    for _ in range(12):
        fd = os.memfd_create("nexus-redteam")
        files.append(fd)
        for _ in range(10):  # 10 MB per file: below a 10 MB file-size limit
            os.write(fd, chunk)
            held += 1
except OSError as exc:
    print("stopped:", exc.strerror)
if held > LIMIT_MB:
    print("ESCAPED: holds", held, "MB in memory files under a", LIMIT_MB, "MB limit")
else:
    print("held at most", held, "MB")
