import functools


@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@functools.cache
def factorial(n):
    return 1 if n <= 1 else n * factorial(n - 1)


print(fib(80), factorial(20))
info = fib.cache_info()
print(info.hits, info.misses)
print(functools.reduce(lambda acc, v: acc * v, range(1, 6), 1))
