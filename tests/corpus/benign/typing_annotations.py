from __future__ import annotations

from typing import NamedTuple, Optional, TypedDict


class Row(NamedTuple):
    key: str
    value: Optional[int] = None


class Summary(TypedDict):
    count: int
    keys: list[str]


def summarise(rows: list[Row]) -> Summary:
    return {"count": len(rows), "keys": [r.key for r in rows if r.value is not None]}


print(summarise([Row("a", 1), Row("b"), Row("c", 3)]))
print(Row("z")._asdict(), summarise.__name__, summarise.__annotations__["return"])
