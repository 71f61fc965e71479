# attack: plant annotation text on a library function so a library helper evaluates it in that module
# expect: changing '__annotations__' is not allowed
import functools
import json

json.dumps.__annotations__["obj"] = "print('evaluated in the json module')"
dispatch = functools.singledispatch(lambda value: value)
dispatch.register(json.dumps)
