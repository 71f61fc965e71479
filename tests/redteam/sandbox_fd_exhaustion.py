# attack: open descriptors without end (to exhaust the host's) and keep them past the limit
# escaped-if: stdout has "ESCAPED:" (more than 64 descriptors open at once)
# policy: wide
import os

LIMIT = 64
held = []
try:
    while len(held) < 10_000:
        held.append(os.dup(0))
except OSError as exc:
    print("stopped after", len(held), "duplicates:", exc.strerror)
os.close(held.pop())  # room for listing the descriptors
total = len(os.listdir("/proc/self/fd"))  # counts the listing's own descriptor, as the one closed
print(("ESCAPED: " if total > LIMIT else "") + f"{total} descriptors open at once")
