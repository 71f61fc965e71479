# attack: an opener returns a file descriptor of its choosing, bypassing the path check
# expect: open() with argument 'opener' is not allowed
handle = open("/tmp/innocent.txt", "w", opener=lambda path, flags: 1)
handle.write("forged")
