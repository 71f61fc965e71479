# attack: build a class dynamically with type(name, bases, namespace)
# expect: type() with argument 3 is not allowed
Hidden = type("Hidden", (object,), {"run": lambda self: "dynamic"})
print(Hidden().run())
