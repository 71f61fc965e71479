# attack: read another process's environment through /proc with an f-string path
# expect: open() of path '/proc/...' is not allowed
pid = 1
print(open(f"/proc/{pid}/environ", "rb").read())
