import difflib
from graphlib import TopologicalSorter

deps = {"deploy": {"test", "build"}, "test": {"build"}, "build": {"fetch"}}
print(list(TopologicalSorter(deps).static_order()))
a = ["apple", "banana", "cherry"]
b = ["apple", "blueberry", "cherry", "date"]
for line in difflib.unified_diff(a, b, "old", "new", lineterm=""):
    print(line)
print(difflib.get_close_matches("appel", ["ape", "apple", "peach"]))
print(round(difflib.SequenceMatcher(None, "kitten", "sitting").ratio(), 3))
