# attack: reach host services over unix sockets: the Docker engine (root on the host), containerd,
#   dbus, systemd, and every listening abstract socket this network namespace shows
# escaped-if: stdout has "ESCAPED:" (a host service's socket accepted the connection)
# policy: wide
import os
import socket

PATHS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/dbus/system_bus_socket",
    "/var/run/dbus/system_bus_socket",
    "/run/systemd/private",
)


def listening_abstract_names():
    """Abstract socket names that accept connections (flag __SO_ACCEPTCON in /proc/net/unix)."""
    names = []
    try:
        fd = os.open("/proc/net/unix", os.O_RDONLY)
    except OSError:
        return names
    try:
        lines = os.read(fd, 1 << 20).decode(errors="replace").splitlines()[1:]
    finally:
        os.close(fd)
    for line in lines:
        fields = line.split()
        if len(fields) >= 8 and fields[7].startswith("@") and int(fields[3], 16) & 0x10000:
            names.append("\0" + fields[7][1:])
    return names


def attempt(address):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(2)
    try:
        sock.connect(address)
    except OSError as exc:
        return "refused (" + (exc.strerror or type(exc).__name__) + ")"
    finally:
        sock.close()
    return "connected"


for address in PATHS + tuple(listening_abstract_names()):
    outcome = attempt(address)
    shown = address.replace("\0", "@")
    if outcome == "connected":
        print("ESCAPED: connected to the host socket", shown)
    else:
        print(shown, outcome)
