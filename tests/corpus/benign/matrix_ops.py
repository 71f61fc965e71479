def transpose(m):
    return [list(row) for row in zip(*m)]


def matmul(a, b):
    return [[sum(x * y for x, y in zip(row, col)) for col in transpose(b)] for row in a]


a = [[1, 2], [3, 4]]
b = [[5, 6], [7, 8]]
print(matmul(a, b))
print(transpose([[1, 2, 3], [4, 5, 6]]))
people = [("ada", 36), ("alan", 41), ("grace", 36)]
print(sorted(people, key=lambda p: (-p[1], p[0])))
print({name: age for name, age in people if age > 36}, {age for _, age in people})
