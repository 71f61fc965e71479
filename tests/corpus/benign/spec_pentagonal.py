def pentagonal_number(n):
    """Calculate the nth pentagonal number: n(3n-1)/2"""
    return n * (3 * n - 1) // 2


def verify_pentagonal(p):
    """Verify if a number is pentagonal"""
    # Using quadratic formula: n = (1 + sqrt(1 + 24p)) / 6
    import math

    discriminant = 1 + 24 * p
    if discriminant < 0:
        return False
    sqrt_d = math.sqrt(discriminant)
    n = (1 + sqrt_d) / 6
    return n == int(n) and n > 0


# Calculate pentagonal numbers
for i in range(1, 11):
    pent = pentagonal_number(i)
    is_valid = verify_pentagonal(pent)
    print(f"P({i}) = {pent}, Valid: {is_valid}")

# Test specific number
test_num = 145
print(f"\nIs {test_num} pentagonal? {verify_pentagonal(test_num)}")
