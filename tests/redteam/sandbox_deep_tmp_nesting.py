# attack: nest directories in the tool's /tmp deeper than the host's recursive clean-up can follow,
#   so the scratch directory (and the run's uid) is never freed
# escaped-if: the executor raises, or a scratch directory is left on the host (the test looks)
# policy: wide
import os

scratch = os.environ.get("TMPDIR") or "/tmp"
print("scratch directory:", scratch)  # a host path at the process level: the test checks it is gone
os.chdir(scratch)
depth = 0
try:
    while depth < 2000:
        os.mkdir("d")
        os.chdir("d")
        depth += 1
except OSError as exc:
    print("stopped:", exc.strerror)
print("nested", depth, "directories deep")
