name, items = "Ada", 3
print("{} has {} items".format(name, items))
print("{name} has {n:03d} items".format(name=name, n=items))
print("{0.real} + {0.imag}j".format(3 + 4j))
print("{0[1]} and {0[0]}".format(["first", "second"]))
print("%s scored %.1f%%" % (name, 97.25))
values = {"user": "grace", "role": "admin"}
print("{user} is {role}".format_map(values))
print("{x}-{y}".format(**{"x": 1, "y": 2}), format(1234567.891, ",.2f"))
