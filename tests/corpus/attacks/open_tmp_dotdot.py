# attack: climb out of /tmp with '..'
# expect: '..' leaves the scratch directory
print(open("/tmp/../etc/hostname").read())
