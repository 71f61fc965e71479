class Money:
    """An amount in cents with a currency."""

    def __init__(self, cents, currency="EUR"):
        self.cents = cents
        self.currency = currency

    def __repr__(self):
        return f"{type(self).__name__}({self.cents!r}, {self.currency!r})"

    def __str__(self):
        return f"{self.cents / 100:.2f} {self.currency}"

    def __eq__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self):
        return hash((self.cents, self.currency))

    def __add__(self, other):
        return Money(self.cents + other.cents, self.currency)

    def describe(self):
        return f"{self.__class__.__name__} with fields {sorted(vars(self))}"


a = Money(1250)
b = Money(250)
print(repr(a), str(a + b), a == Money(1250), a == b)
print(a.describe())
print(len({a, Money(1250), b}))
