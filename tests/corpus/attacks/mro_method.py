# attack: the mro() method reaches object just like __mro__
# expect: access to attribute 'mro' is not allowed
print(int.mro()[-1])
