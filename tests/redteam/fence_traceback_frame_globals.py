# attack: an exception's traceback leads to frames; walk f_back out of the tool into the bootstrap
#   and read its module globals (os, sys, the reporter)
# escaped-if: stdout has "BYPASSED:" (a dangerous call on what it reached was not refused) or
#   "ESCAPED:" (the host reached with it); "REACHED:" only says what the walk got to
# policy: normal


def contain(real):
    """Use the real os (or posix) it reached: BYPASSED for each dangerous call the runtime fence lets
    run (in the sandbox), ESCAPED for anything that reaches the host."""
    reached, ran = [], []
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
    importer = (real.get("__builtins__") or {}).get("__import__", __import__)
    attempts = {
        "ran a shell command": lambda: real["system"]("true"),
        "opened /etc/passwd": lambda: real["close"](real["open"]("/etc/passwd", real["O_RDONLY"])),
        "sent a signal": lambda: real["kill"](real["getpid"](), 0),
        "listed /": lambda: real["listdir"]("/"),
        "made a socket": lambda: importer("socket").socket().close(),
    }
    for what, attempt in attempts.items():
        try:
            attempt()
            ran.append(what)
        except Exception:  # refused, whichever way
            pass
    print("BYPASSED: the fence let it: " + ", ".join(ran) if ran else "fence held: all refused")
    print("ESCAPED: " + ", ".join(reached) if reached else "sandbox held: no host file, secret or parent")


try:
    raise ValueError("x")
except ValueError as exc:
    frame = exc.__traceback__.tb_frame
while frame is not None:
    if "os" in frame.f_globals and frame.f_globals is not globals():
        print("REACHED: tb_frame.f_back reached the bootstrap's globals:", sorted(frame.f_globals)[:6])
        contain(frame.f_globals["os"].__dict__)
        break
    frame = frame.f_back
