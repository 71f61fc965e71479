# attack: find subprocess.Popen among all classes inside a comprehension
# expect: access to attribute '__subclasses__' is not allowed
popen = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "Popen"]
print(popen)
