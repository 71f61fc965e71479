# attack: leave files on the host for later: in the world-writable places (/tmp, /var/tmp, /dev/shm,
#   /run/lock), a symlink to /etc/shadow waiting for a root process to follow it, a hard link to a
#   host file, and files outside /tmp (/, /usr, /etc, the working directory)
# escaped-if: a file named nexus-redteam-leftover* exists on the host after the run (the test looks),
#   or stdout has "ESCAPED:" (a file was created outside every world-writable directory)
# policy: wide
import os

NAME = "nexus-redteam-leftover"
for directory in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/run/shm"):
    path = os.path.join(directory, NAME)
    for label, make in (
        ("file", lambda p: os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o666))),
        ("symlink", lambda p: os.symlink("/etc/shadow", p + "-symlink")),
        ("hardlink", lambda p: os.link("/etc/passwd", p + "-hardlink")),
    ):
        try:
            make(path)
            print("made", label, "in", directory)
        except OSError as exc:
            print(label, "in", directory, "refused:", exc.strerror)
for path in ("/" + NAME, "/usr/" + NAME, "/etc/" + NAME, os.path.join(os.getcwd(), "..", NAME)):
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o666))
        print("ESCAPED: created", os.path.normpath(path))
    except OSError as exc:
        print(path, "refused:", exc.strerror)
