import random
import uuid

print(uuid.uuid5(uuid.NAMESPACE_DNS, "example.com"))
rng = random.Random(42)
print([rng.randint(1, 100) for _ in range(5)])
random.seed(7)
deck = list(range(10))
random.shuffle(deck)
print(deck, random.choice("abcdef"))
