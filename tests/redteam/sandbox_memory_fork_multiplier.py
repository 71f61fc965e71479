# attack: hold more memory than the tool's limit by spreading it over child processes, each under
#   the limit on its own (the executor tests give 64 MB)
# escaped-if: stdout has "ESCAPED:" (the tool's processes held more than 64 MB at once)
# policy: wide
import os
import time

LIMIT_MB, CHILDREN, EACH_MB = 64, 6, 40
report_r, report_w = os.pipe()
release_r, release_w = os.pipe()
children = []
for index in range(CHILDREN):
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        os.close(release_w)
        try:
            block = bytearray(EACH_MB * 1024 * 1024)
            for offset in range(0, len(block), 4096):
                block[offset] = 1  # touch every page: resident, not just reserved
            os.write(report_w, bytes([index]))
        except MemoryError:
            pass
        os.read(release_r, 1)  # hold it until the parent has counted
        os._exit(0)
    children.append(pid)
os.close(report_w)
os.close(release_r)
os.set_blocking(report_r, False)
answered, dead, deadline = set(), set(), time.monotonic() + 5
while len(answered | dead) < CHILDREN and time.monotonic() < deadline:
    try:
        answered.update(os.read(report_r, 16))
    except BlockingIOError:
        time.sleep(0.02)  # children still allocating
    for index, pid in enumerate(children):
        if index not in dead and os.waitpid(pid, os.WNOHANG)[0]:
            dead.add(index)  # killed (a memory cgroup at work), maybe after it answered
time.sleep(0.3)  # let a kill that is under way finish before counting who still holds its block
for index, pid in enumerate(children):
    if index not in dead and os.waitpid(pid, os.WNOHANG)[0]:
        dead.add(index)
held = len(answered - dead) * EACH_MB  # the living children that hold their block right now
os.close(release_w)
for index, pid in enumerate(children):
    if index not in dead:
        os.waitpid(pid, 0)
if held > LIMIT_MB:
    print("ESCAPED: the tool held", held, "MB at once under a", LIMIT_MB, "MB limit")
else:
    print("held at most", held, "MB at once")
