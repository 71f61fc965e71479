# attack: read a host file outside /tmp
# expect: open() of path '/etc/passwd' is not allowed
print(open("/etc/passwd").readline())
