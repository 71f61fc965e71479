"""Ordinary code near the validator's newer rules: private names of the tool's own classes,
namedtuple's API, literal format templates, type(self)(...), singledispatch with classes,
vars() read in place, annotations read in place, tempfile with literal names."""

import enum
import functools
import json
import tempfile
from collections import namedtuple


class Inventory:
    _instances = 0

    def __init__(self, **items):
        self._items = dict(items)
        self.__dict__.update(label="stock")
        Inventory._instances += 1

    def _total(self):
        return sum(self._items.values())

    def __add__(self, other):
        merged = dict(self._items)
        for name, count in other._items.items():
            merged[name] = merged.get(name, 0) + count
        return type(self)(**merged)

    def __eq__(self, other):
        return self.__dict__ == other.__dict__

    def __repr__(self):
        return "{}({} items, total {})".format(type(self).__name__, len(self._items), self._total())

    def fields(self):
        return sorted(vars(self))


class Level(enum.Enum):
    LOW = 1
    HIGH = 2

    @classmethod
    def _missing_(cls, value):
        return cls.LOW


@functools.singledispatch
def describe(value):
    return "something"


@describe.register(int)
def _(value):
    return "a number"


@describe.register(list | tuple)
def _(value):
    return f"a sequence of {len(value)}"


def scale(value: float, factor: int = 2) -> float:
    return value * factor


Point = namedtuple("Point", "x y")
p = Point(1, 2)
print(p._asdict(), p._replace(y=5), Point._fields, Point._make([3, 4]))

a = Inventory(apples=3)
b = Inventory(apples=1, pears=2)
print(a + b, a == Inventory(apples=3), (a + b).fields(), Inventory._instances)
print(Level(7), Level.HIGH._value_, Level.HIGH._name_)
print(describe(1), describe([1, 2]), describe((1,)), describe("x"))
print(scale.__annotations__["value"].__name__, sorted(scale.__annotations__), len(scale.__annotations__))

line_template = "{name:<8}|{count:>4}"
print(line_template.format(name="apples", count=3), "{0[0]}-{0[1]}".format(p), "{:.1%}".format(0.25))
print(json.dumps(a, default=lambda o: o.__dict__, sort_keys=True))
print(type(p).__name__, type(1) is int, isinstance(p, type(p)))

with tempfile.TemporaryDirectory(prefix="benign_") as folder:
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", dir=folder, delete=False) as handle:
        handle.write("kept in a temporary folder\n")
    with open(handle.name, "rb", buffering=4096) as again:
        print(again.read().decode().strip())
