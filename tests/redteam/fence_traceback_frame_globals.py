# attack: an exception's traceback leads to frames; walk f_back out of the tool into the bootstrap
#   and read its module globals (os, sys, the reporter)
# escaped-if: stdout has "BYPASSED:" (bootstrap globals reached) or "ESCAPED:" (the host reached)
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


try:
    raise ValueError("x")
except ValueError as exc:
    frame = exc.__traceback__.tb_frame
while frame is not None:
    if "os" in frame.f_globals and frame.f_globals is not globals():
        print("BYPASSED: tb_frame.f_back reached the bootstrap's globals:", sorted(frame.f_globals)[:6])
        contain(frame.f_globals["os"].__dict__)
        break
    frame = frame.f_back
