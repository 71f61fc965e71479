# attack: look up a namespace entry with a key built at run time
# expect: indexing globals() with a computed key is not allowed
key = "__buil" + "tins__"
print(globals().get(key))
