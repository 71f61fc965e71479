import itertools


def primes():
    found = []
    for n in itertools.count(2):
        if all(n % p for p in found if p * p <= n):
            found.append(n)
            yield n


def chunks(items, size):
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


def flatten(nested):
    for item in nested:
        if isinstance(item, list):
            yield from flatten(item)
        else:
            yield item


print(list(itertools.islice(primes(), 10)))
print(list(chunks(range(7), 3)))
print(list(flatten([1, [2, [3, 4]], 5])))
print(list(itertools.combinations("abc", 2)), list(itertools.accumulate([1, 2, 3, 4])))
