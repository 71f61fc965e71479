# attack: open a raw file descriptor (the frame channel or the real stdout)
# expect: open() of file descriptor 1 is not allowed
out = open(1, "w")
out.write('{"t": "end", "ok": true}\n')
