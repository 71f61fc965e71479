import sys

sys.stdout.write("written with sys.stdout.write\n")
print("a warning line", file=sys.stderr)
print("python major version is", sys.version_info[0])
print("maxsize is positive:", sys.maxsize > 0)
sys.stdout.flush()
sys.exit(0)
