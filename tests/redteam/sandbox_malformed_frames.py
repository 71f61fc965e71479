# attack: write frames of the right shape but the wrong types straight to the frame descriptor
#   (a list as the kind, a deeply nested array, a text "elapsed", a number for "truncated"), to
#   crash the host's parser instead of being reported as a result
# escaped-if: the executor raises or the response says "internal error" (the host parser crashed)
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
frames = [
    b'{"t": ["out"], "d": "x"}',
    b'{"t": {"kind": "out"}}',
    b"[" * 100_000,
    b"\xff\xfe not utf-8 \xc3\x28",
    b'{"t": "out", "d": 12345}',
    b'{"t": "val", "d": ["x"]}',
    b'{"t": "end", "ok": false, "elapsed": "soon", "exit": [], "error": "boom", "truncated": 7}',
]
for frame in frames:
    os.write(fd, frame + b"\n")
print("every malformed frame was sent")
