# attack: send a forged "end" frame so the host believes the tool is done, and leave a detached
#   process running on (exec'd with a marker in its command line) while the tool lingers briefly
# escaped-if: a process with nexus-redteam-linger in its command line is alive on the host after the
#   run (the test looks), or its sandbox is not removed
# policy: wide
import os
import time


def frame_descriptor():
    """The bootstrap's private pipe to the host: a pipe that is not the one behind fd 2."""
    stderr = os.readlink("/proc/self/fd/2")
    for fd in range(3, 16):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(("pipe:", "socket:")) and target != stderr:
            return fd
    raise SystemExit("no frame descriptor found")


if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in range(3, 64):  # hold nothing of the tool's: only the process itself lingers
            try:
                os.close(fd)
            except OSError:
                pass
        sleeper = "import time\nwhile True: time.sleep(1)"
        os.execv("/proc/self/exe", ["python3", "-S", "-c", sleeper, "nexus-redteam-linger"])
    os._exit(0)
os.wait()
time.sleep(0.3)  # let the sleeper exec
end = b'{"t": "end", "ok": true, "elapsed": 0.0, "exit": null, "error": null, "truncated": {}}\n'
os.write(frame_descriptor(), b'{"t": "out", "d": "forged report\\n"}\n' + end)
time.sleep(1)
