# attack: relative path with '..' components to leave the scratch directory
# expect: open() of path '../../etc/hostname' is not allowed
print(open("../../etc/hostname").read())
