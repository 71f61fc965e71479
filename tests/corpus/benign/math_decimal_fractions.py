import cmath
import math
from decimal import ROUND_HALF_UP, Decimal, getcontext
from fractions import Fraction

getcontext().prec = 30
print(Decimal(1) / Decimal(7))
print(Decimal("2.675").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
print(Fraction(3, 4) + Fraction(1, 6), Fraction("0.125"))
print(math.gcd(84, 36), math.comb(10, 3), round(math.pi, 6), math.isclose(0.1 + 0.2, 0.3))
print(cmath.sqrt(-4))
