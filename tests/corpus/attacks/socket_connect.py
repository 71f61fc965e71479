# attack: open a TCP connection (loopback only, harmless if it ever ran)
# expect: import of 'socket' is not allowed (network access)
import socket

s = socket.socket()
s.settimeout(1)
s.connect_ex(("127.0.0.1", 9))
print("connected")
