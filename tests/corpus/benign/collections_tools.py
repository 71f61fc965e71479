"""Counting and grouping with the collections module."""

from collections import Counter, OrderedDict, defaultdict, deque, namedtuple

Point = namedtuple("Point", ["x", "y"])
p = Point(3, 4)
print(p, p._asdict(), p._replace(x=10), Point._fields)

words = "the quick brown fox jumps over the lazy dog the end".split()
counts = Counter(words)
print(counts.most_common(2))

by_length = defaultdict(list)
for word in words:
    by_length[len(word)].append(word)
print(dict(sorted(by_length.items())))

window = deque(maxlen=3)
for n in range(6):
    window.append(n)
print(list(window))

ordered = OrderedDict(a=1, b=2)
ordered.move_to_end("a")
print(list(ordered))
