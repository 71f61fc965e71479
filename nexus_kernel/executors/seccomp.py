"""A seccomp filter for the fallback sandbox: the system calls a one-time tool never needs.

Refused with EPERM: new namespaces (``unshare``, ``setns``, ``clone`` with a namespace flag) -
in a user namespace of its own a tool could mount a tmpfs past its 10 MB /tmp and its memory
limit, and user namespaces are where most kernel exploits start; mounting (old and new mount
API); sockets other than AF_UNIX (no network even where no network namespace can be had);
``ptrace``, ``bpf``, ``perf_event_open``, ``userfaultfd``, the keyring calls and io_uring (large
kernel attack surface; io_uring can open sockets too); System V IPC and POSIX message queues
(they outlive the process that made them, and hold memory outside its limits). ``clone3`` gets
ENOSYS, so the C library falls back to ``clone``, whose flags the filter can see. A system call
of another ABI (x32, i386) kills the process.

The program is classic BPF as ``prctl(PR_SET_SECCOMP)`` and ``bwrap --seccomp`` take it: an
array of ``struct sock_filter``. x86-64 and aarch64 only; ``program()`` is None elsewhere.
"""

from __future__ import annotations

import errno
import platform
import struct

_LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000
_KILL_PROCESS = 0x80000000
_ERRNO = 0x00050000
# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian)
_NR, _ARCH, _ARG0 = 0, 4, 16
_X32_BIT = 0x40000000
_AF_UNIX = 1
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

_ABIS = {
    "x86_64": {
        "arch": 0xC000003E,
        "clone": 56,
        "socket": 41,
        "denied": {
            "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
            "ptrace": 101, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
            "keyctl": 250, "add_key": 248, "request_key": 249,
            "shmget": 29, "msgget": 68, "semget": 64, "mq_open": 240,
        },
    },
    "aarch64": {
        "arch": 0xC00000B7,
        "clone": 220,
        "socket": 198,
        "denied": {
            "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41,
            "ptrace": 117, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
            "keyctl": 219, "add_key": 217, "request_key": 218,
            "shmget": 194, "msgget": 186, "semget": 190, "mq_open": 180,
        },
    },
}  # fmt: skip
# The same numbers on every architecture (the new mount API, io_uring, clone3).
_COMMON_DENIED = {
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
}  # fmt: skip
_CLONE3 = 435


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The filter for ``machine`` (default: this one), or None for an architecture we do not know."""
    abi = _ABIS.get(machine or platform.machine())
    if abi is None:
        return None
    eperm, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    ops = [
        _op(_LD_ABS, _ARCH),
        _op(_JEQ, abi["arch"], 1, 0),
        _op(_RET, _KILL_PROCESS),
        _op(_LD_ABS, _NR),
    ]
    if abi["arch"] == 0xC000003E:
        ops += [_op(_JGE, _X32_BIT, 0, 1), _op(_RET, _KILL_PROCESS)]
    for number in sorted({*abi["denied"].values(), *_COMMON_DENIED.values()}):
        # Equal: fall through to the refusal; otherwise skip it.
        ops += [_op(_JEQ, number, 0, 1), _op(_RET, eperm)]
    ops += [_op(_JEQ, _CLONE3, 0, 1), _op(_RET, enosys)]
    # socket(domain, ...): only AF_UNIX. clone(flags, ...): no namespace flags. Both end the
    # program, so each block reloads what it needs and ends with a return.
    ops += [
        _op(_JEQ, abi["socket"], 0, 4),
        _op(_LD_ABS, _ARG0),
        _op(_JEQ, _AF_UNIX, 0, 1),
        _op(_RET, _ALLOW),
        _op(_RET, eperm),
        _op(_JEQ, abi["clone"], 0, 3),
        _op(_LD_ABS, _ARG0),
        _op(_JSET, _NAMESPACE_FLAGS, 0, 1),
        _op(_RET, eperm),
        _op(_RET, _ALLOW),
    ]
    return b"".join(ops)
