# attack: get_type_hints evaluates annotation text as code (with an empty globalns, using the real builtins)
# expect: attribute 'typing.get_type_hints' is not allowed
import typing


class Carrier:
    field: "print('evaluated')"


typing.get_type_hints(Carrier, globalns={})
