# attack: reach the real sys (and sys.modules) through typing.sys
# expect: access to attribute 'sys' is not allowed
import typing

print(typing.sys.modules["os"])
