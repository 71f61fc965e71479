"""The seccomp profile of docker mode: Docker's default profile with socket creation narrowed.

The base is Docker 20.10's default profile, vendored unchanged in ``docker_seccomp_default.json``
(Apache-2.0, see ``docker_seccomp_default.NOTICE``). It already refuses namespaces, mounts, keyrings,
bpf... (and the profile keeps its own rules for capabilities and architectures), but it lets a
tool create a socket of any address family. With ``network_mode=none`` that matters for the
families no network namespace confines: AF_VSOCK reaches the hypervisor and the host's vsock
services on a VM (Firecracker here, cloud VMs with vsock agents). Our changes, each closing a way
to such a socket:

- ``socket()``: only AF_UNIX, AF_INET and AF_INET6 (inside ``network_mode=none`` the last two reach
  nothing but the container's own loopback). Everything else - AF_VSOCK, AF_NETLINK (the kernel's
  uevents and a large attack surface), AF_PACKET, AF_ALG, AF_KEY, AF_XDP... - falls to the
  profile's default action: EPERM. An allow-list of equality rules, not a deny-list: the rules
  compare the whole 64-bit register, while the kernel reads the family as an ``int``, so a
  "not AF_VSOCK" rule lets ``AF_VSOCK | 1 << 32`` through and an equality rule does not.
- ``socketpair()``: only AF_UNIX (what asyncio and multiprocessing use).
- Only the native ABI: the profile's 32-bit sub-architectures (i386 and x32 on x86-64, arm on
  aarch64) are dropped, so a system call through another ABI meets the runtime's bad-architecture
  action (the process is killed), as in the fallback's filter. A 64-bit process can make i386
  system calls with ``int 0x80``, and i386's ``socketcall(SYS_SOCKET, args)`` reads the family from
  memory, where seccomp cannot look: libseccomp turns the ``socket`` rules into an unconditional
  ``socketcall(SYS_SOCKET)`` there (seen on Docker 20.10 + runc 1.1). The sandbox image holds only
  native programs. ``socketcall`` is also taken off the allow-list.
- ``io_uring_setup``/``_enter``/``_register``: refused. ``IORING_OP_SOCKET`` (Linux 5.19+) creates
  sockets without the socket() system call, so no socket() rule sees them (newer Docker releases
  refuse io_uring in their default profile too).

The profile goes to the engine as ``security_opt=["seccomp=<JSON>"]`` (the engine takes the
content, not a path), on every container the executor creates, warm or cold.
"""

from __future__ import annotations

import copy
import json
import socket
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_PROFILE = Path(__file__).with_name("docker_seccomp_default.json")

#: Address families a tool may create sockets of.
SOCKET_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6)
SOCKETPAIR_FAMILIES = (socket.AF_UNIX,)
#: Allowed by Docker's profile without conditions; refused here (the default action: EPERM).
REFUSED = ("socketcall", "io_uring_setup", "io_uring_enter", "io_uring_register")
#: Allowed by Docker's profile without conditions; allowed here only for the families above.
NARROWED = {"socket": SOCKET_FAMILIES, "socketpair": SOCKETPAIR_FAMILIES}


def build_profile(default: dict[str, Any]) -> dict[str, Any]:
    """Our profile from Docker's default (``default`` is not changed)."""
    profile = copy.deepcopy(default)
    if profile.get("defaultAction") != "SCMP_ACT_ERRNO":
        # Everything below relies on "not allowed" meaning refused.
        raise ValueError("the base seccomp profile must refuse what it does not allow")
    for arch in profile.get("archMap") or ():
        arch["subArchitectures"] = []
    taken = {*REFUSED, *NARROWED}
    found: set[str] = set()
    for rule in profile["syscalls"]:
        if rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args"):
            found.update(taken.intersection(rule["names"]))
            rule["names"] = [name for name in rule["names"] if name not in taken]
    missing = taken - found
    if missing:
        # A base profile that no longer allows these is fine security-wise, but it is not the
        # profile this module was written against: look again before shipping it.
        raise ValueError(f"the base seccomp profile no longer allows {sorted(missing)} unconditionally")
    for name, families in NARROWED.items():
        for family in families:
            profile["syscalls"].append(
                {
                    "names": [name],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": int(family), "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
                    "comment": f"nexus-kernel: {name}() only for {family.name}",
                    "includes": {},
                    "excludes": {},
                }
            )
    return profile


@cache
def profile_json() -> str:
    """The profile as the engine takes it (compact JSON), built once per process."""
    default = json.loads(DEFAULT_PROFILE.read_text(encoding="utf-8"))
    return json.dumps(build_profile(default), separators=(",", ":"), sort_keys=True)


def security_opt() -> str:
    """The ``security_opt`` entry that applies the profile."""
    return "seccomp=" + profile_json()
