# attack: io.open is the unguarded built-in open
# expect: attribute 'io.open' is not allowed
import io

print(io.open("/etc/passwd").readline())
