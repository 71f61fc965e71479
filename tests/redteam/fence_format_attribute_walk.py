# attack: str.format looks attributes up by names in the template (text built at run time), so read
#   the bootstrap's secrets through a function's globals without any attribute syntax
# escaped-if: stdout has "BYPASSED:" (a dangerous call on what it reached was not refused) or
#   "ESCAPED:" (the host reached with it); "REACHED:" only says what the walk got to
# policy: normal
import random

template = "{0.seed.ZZfuncZZ.ZZglobalsZZ[_os]}|{0.seed.ZZfuncZZ.ZZglobalsZZ[_os].environ}".replace("Z", "_")
try:
    text = template.format(random.Random())
except Exception as exc:
    print("refused:", type(exc).__name__, exc)
else:
    if "module 'os'" in text:
        print("REACHED: a format template read the real os module:", text[:120])
    if "nexus-redteam-secret" in text:
        print("ESCAPED: a format template read the host environment")
