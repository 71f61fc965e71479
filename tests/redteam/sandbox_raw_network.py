# attack: reach a network below TCP: raw IP and packet sockets, netlink (the host's interfaces and
#   routes), and vsock, which no network namespace confines (it talks to the hypervisor and to
#   the host's vsock services; the socket is only created here, never connected)
# escaped-if: stdout has "ESCAPED:" (a raw/packet/vsock socket opened, or an interface besides lo)
# policy: wide
import socket

attempts = {
    "AF_PACKET raw": (getattr(socket, "AF_PACKET", -1), socket.SOCK_RAW, 0),
    "AF_INET raw ICMP": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
    "AF_INET6 raw ICMPv6": (socket.AF_INET6, socket.SOCK_RAW, 58),
    "AF_VSOCK stream": (getattr(socket, "AF_VSOCK", 40), socket.SOCK_STREAM, 0),
}
for label, (family, kind, proto) in attempts.items():
    try:
        socket.socket(family, kind, proto).close()
    except OSError as exc:
        print(label, "refused:", exc.strerror or exc)
    else:
        print("ESCAPED: opened an", label, "socket")
try:
    interfaces = [name for _index, name in socket.if_nameindex()]
except OSError as exc:
    print("netlink refused:", exc.strerror or exc)
else:
    others = [name for name in interfaces if name != "lo"]
    if others:
        print("ESCAPED: sees host interfaces", ", ".join(others))
    else:
        print("only loopback:", interfaces)
