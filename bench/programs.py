"""Ordinary tool programs of a given length, for timing the validator.

Made of distinct, realistic blocks (parsing, statistics, dates, a small class hierarchy, text
processing, a graph search...) rather than one repeated line, so the validator sees the variety of
nodes real LLM-written tools contain. Only allowed standard-library modules are imported: the
validator walks the whole tree of a program it accepts.
"""

from __future__ import annotations

_BLOCKS = [
    """
import csv
import io
import json
from collections import Counter, defaultdict

RAW_SALES = '''region,product,units,price
north,widget,12,2.50
south,widget,7,2.50
north,gadget,3,10.00
east,gizmo,21,1.25
south,gadget,9,10.00
west,widget,14,2.45
east,widget,5,2.55
'''


def load_rows(text):
    '''Parse the CSV text into dicts with typed numbers.'''
    rows = []
    for record in csv.DictReader(io.StringIO(text)):
        rows.append({
            "region": record["region"].strip(),
            "product": record["product"].strip(),
            "units": int(record["units"]),
            "price": float(record["price"]),
        })
    return rows


def revenue_by(rows, key):
    totals = defaultdict(float)
    for row in rows:
        totals[row[key]] += row["units"] * row["price"]
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


rows = load_rows(RAW_SALES)
units = Counter()
for row in rows:
    units[row["product"]] += row["units"]
print(json.dumps(revenue_by(rows, "region"), indent=2))
print("best seller:", units.most_common(1)[0])
""",
    """
import math
import statistics


def describe(values):
    '''Summary statistics of a list of numbers, as a dict.'''
    if not values:
        raise ValueError("no values to describe")
    ordered = sorted(values)
    mean = statistics.fmean(ordered)
    spread = statistics.pstdev(ordered) if len(ordered) > 1 else 0.0
    return {
        "n": len(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "mean": round(mean, 3),
        "median": statistics.median(ordered),
        "stdev": round(spread, 3),
        "cv": round(spread / mean, 3) if mean else math.inf,
    }


def zscores(values):
    info = describe(values)
    if info["stdev"] == 0:
        return [0.0 for _ in values]
    return [round((v - info["mean"]) / info["stdev"], 2) for v in values]


def outliers(values, limit=2.0):
    return [v for v, z in zip(values, zscores(values)) if abs(z) > limit]


measurements = [12.1, 11.8, 12.4, 12.0, 30.2, 11.9, 12.3, 12.2, 11.7, 12.0]
summary = describe(measurements)
for key, value in summary.items():
    print(f"{key:>6}: {value}")
print("outliers:", outliers(measurements))
""",
    """
from datetime import date, datetime, timedelta


def parse_stamp(stamp):
    '''Convert "20250907-143022" into a datetime.'''
    date_part, time_part = stamp.split("-")
    return datetime(
        int(date_part[:4]),
        int(date_part[4:6]),
        int(date_part[6:8]),
        int(time_part[:2]),
        int(time_part[2:4]),
        int(time_part[4:6]),
    )


def business_days(start, end):
    '''Count Monday-to-Friday days in [start, end).'''
    count = 0
    day = start
    while day < end:
        if day.weekday() < 5:
            count += 1
        day += timedelta(days=1)
    return count


stamps = ["20250907-143022", "20250101-000000", "20241231-235959"]
parsed = sorted(parse_stamp(s) for s in stamps)
for moment in parsed:
    print(moment.isoformat(), moment.strftime("%A"))
gap = parsed[-1] - parsed[0]
print("span:", gap.days, "days")
print("business days:", business_days(date(2025, 1, 1), date(2025, 2, 1)))
""",
    """
from dataclasses import dataclass, field


@dataclass
class Account:
    owner: str
    balance: float = 0.0
    history: list = field(default_factory=list)

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("deposit must be positive")
        self.balance += amount
        self.history.append(("deposit", amount))

    def withdraw(self, amount):
        if amount > self.balance:
            raise ValueError(f"insufficient funds: {self.balance:.2f} < {amount:.2f}")
        self.balance -= amount
        self.history.append(("withdraw", amount))


class SavingsAccount(Account):
    rate = 0.02

    def add_interest(self):
        interest = round(self.balance * self.rate, 2)
        self.deposit(interest)
        return interest


accounts = [Account("ada"), SavingsAccount("grace", 100.0)]
accounts[0].deposit(50)
try:
    accounts[0].withdraw(80)
except ValueError as problem:
    print("refused:", problem)
print("interest:", accounts[1].add_interest())
for account in accounts:
    print(account.owner, round(account.balance, 2), len(account.history))
""",
    """
import re
import textwrap
from collections import Counter

TEXT = '''The quick brown fox jumps over the lazy dog. The dog, being lazy,
does not react; the fox, being quick, is already gone. Foxes and dogs
have been written about for centuries, and will be for many more.'''

WORD = re.compile(r"[A-Za-z']+")


def words(text):
    return [w.lower() for w in WORD.findall(text)]


def sentences(text):
    parts = re.split(r"(?<=[.!?])\\s+", text.replace("\\n", " "))
    return [p.strip() for p in parts if p.strip()]


def keyword_density(text, top=5):
    counts = Counter(w for w in words(text) if len(w) > 3)
    total = sum(counts.values()) or 1
    return [(w, round(c / total, 3)) for w, c in counts.most_common(top)]


print("sentences:", len(sentences(TEXT)))
print("words:", len(words(TEXT)))
for word, share in keyword_density(TEXT):
    print(f"{word:<10}{share:>6.1%}")
print(textwrap.fill(TEXT.replace("\\n", " "), width=48))
""",
    """
import heapq


GRAPH = {
    "A": {"B": 4, "C": 2},
    "B": {"C": 5, "D": 10},
    "C": {"E": 3},
    "D": {"F": 11},
    "E": {"D": 4},
    "F": {},
}


def shortest_paths(graph, source):
    '''Dijkstra: distance and predecessor of every reachable node.'''
    dist = {source: 0}
    prev = {}
    queue = [(0, source)]
    while queue:
        d, node = heapq.heappop(queue)
        if d > dist.get(node, float("inf")):
            continue
        for neighbour, weight in graph[node].items():
            candidate = d + weight
            if candidate < dist.get(neighbour, float("inf")):
                dist[neighbour] = candidate
                prev[neighbour] = node
                heapq.heappush(queue, (candidate, neighbour))
    return dist, prev


def path_to(prev, target):
    path = [target]
    while path[-1] in prev:
        path.append(prev[path[-1]])
    return list(reversed(path))


distances, previous = shortest_paths(GRAPH, "A")
for node in sorted(distances):
    print(node, distances[node], "->".join(path_to(previous, node)))
""",
    """
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


def amortization(principal, yearly_rate, months):
    '''Monthly payment and schedule of a fixed-rate loan.'''
    rate = Decimal(str(yearly_rate)) / 12
    principal = Decimal(str(principal))
    factor = (1 + rate) ** months
    payment = (principal * rate * factor / (factor - 1)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    schedule = []
    balance = principal
    for month in range(1, months + 1):
        interest = (balance * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
        balance = balance + interest - payment
        schedule.append((month, interest, max(balance, Decimal(0))))
    return payment, schedule


def egyptian(fraction):
    '''Greedy Egyptian-fraction expansion.'''
    terms = []
    while fraction.numerator:
        unit = Fraction(1, -(-fraction.denominator // fraction.numerator))
        terms.append(unit)
        fraction -= unit
    return terms


payment, plan = amortization(12000, 0.06, 12)
print("payment:", payment)
for month, interest, balance in plan[:3]:
    print(month, interest, balance.quantize(Decimal("0.01")))
print(" + ".join(str(t) for t in egyptian(Fraction(7, 15))))
""",
    """
import json
from functools import lru_cache
from itertools import combinations, islice


@lru_cache(maxsize=None)
def partitions(n, largest=None):
    '''Number of integer partitions of n with parts <= largest.'''
    if largest is None:
        largest = n
    if n == 0:
        return 1
    if n < 0 or largest == 0:
        return 0
    return partitions(n - largest, largest) + partitions(n, largest - 1)


def primes():
    found = []
    candidate = 2
    while True:
        if all(candidate % p for p in found if p * p <= candidate):
            found.append(candidate)
            yield candidate
        candidate += 1


def subset_sums(values, target):
    hits = []
    for size in range(1, len(values) + 1):
        for combo in combinations(values, size):
            if sum(combo) == target:
                hits.append(combo)
    return hits


report = {
    "partitions": {n: partitions(n) for n in (5, 10, 20, 40)},
    "first_primes": list(islice(primes(), 12)),
    "subsets_to_15": subset_sums([1, 3, 5, 7, 9, 11], 15),
}
print(json.dumps(report, indent=1))
""",
    """
import xml.etree.ElementTree as ET

CATALOG = '''<catalog>
  <book id="b1"><title>Dune</title><year>1965</year><price>9.99</price></book>
  <book id="b2"><title>Neuromancer</title><year>1984</year><price>7.50</price></book>
  <book id="b3"><title>Hyperion</title><year>1989</year><price>8.25</price></book>
</catalog>'''


class Book:
    def __init__(self, element):
        self.ident = element.get("id")
        self.title = element.findtext("title", default="?")
        self.year = int(element.findtext("year", default="0"))
        self.price = float(element.findtext("price", default="0"))

    def __repr__(self):
        return f"Book({self.ident!r}, {self.title!r}, {self.year})"

    @property
    def decade(self):
        return self.year // 10 * 10


def by_decade(books):
    groups = {}
    for book in books:
        groups.setdefault(book.decade, []).append(book.title)
    return groups


root = ET.fromstring(CATALOG)
books = [Book(node) for node in root.iter("book")]
print(books)
print(by_decade(books))
print("average price:", round(sum(b.price for b in books) / len(books), 2))
""",
    """
from collections import deque


MAZE = [
    "S.#.......",
    ".##.####..",
    "....#..#.#",
    "##.##.##..",
    "......#..E",
]


def neighbours(grid, row, col):
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        r, c = row + dr, col + dc
        if 0 <= r < len(grid) and 0 <= c < len(grid[0]) and grid[r][c] != "#":
            yield r, c


def solve(grid):
    '''Breadth-first search from S to E; returns the path or None.'''
    start = next((r, row.index("S")) for r, row in enumerate(grid) if "S" in row)
    goal = next((r, row.index("E")) for r, row in enumerate(grid) if "E" in row)
    came_from = {start: None}
    frontier = deque([start])
    while frontier:
        cell = frontier.popleft()
        if cell == goal:
            break
        for nxt in neighbours(grid, *cell):
            if nxt not in came_from:
                came_from[nxt] = cell
                frontier.append(nxt)
    if goal not in came_from:
        return None
    path, cell = [], goal
    while cell is not None:
        path.append(cell)
        cell = came_from[cell]
    return path[::-1]


route = solve(MAZE)
print("steps:", len(route) - 1 if route else "no route")
""",
    """
import base64
import hashlib
import json
import zlib


def checksum(payload):
    return hashlib.sha256(payload).hexdigest()[:16]


def pack(records):
    '''Serialize, compress and encode records for transport.'''
    raw = json.dumps(records, sort_keys=True, separators=(",", ":")).encode()
    packed = base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
    return {"data": packed, "sha": checksum(raw), "size": len(raw)}


def unpack(envelope):
    raw = zlib.decompress(base64.b64decode(envelope["data"]))
    if checksum(raw) != envelope["sha"]:
        raise ValueError("checksum mismatch")
    return json.loads(raw)


records = [{"id": i, "name": f"item-{i}", "tags": ["a", "b"][: i % 3]} for i in range(25)]
envelope = pack(records)
print("compressed", envelope["size"], "->", len(envelope["data"]), "chars")
assert unpack(envelope) == records
tampered = dict(envelope, sha="0" * 16)
try:
    unpack(tampered)
except ValueError as exc:
    print("detected:", exc)
""",
]


def program(lines: int) -> str:
    """A valid, safe program of exactly ``lines`` lines, made of distinct blocks."""
    out: list[str] = []
    index = 0
    while len(out) < lines:
        block = _BLOCKS[index % len(_BLOCKS)].strip("\n").splitlines()
        if index >= len(_BLOCKS):
            # A second pass renames top-level names so no block is an exact repeat.
            suffix = f"_{index // len(_BLOCKS)}"
            block = [line.replace("def ", "def v" + suffix + "_") for line in block]
        room = lines - len(out)
        if len(block) + 1 > room:
            # Pad with a comment block rather than cut a statement in half.
            out.extend(f"# note {n}: the remaining lines document the run" for n in range(room))
            break
        out.extend([*block, ""])
        index += 1
    return "\n".join(out[:lines]) + "\n"
