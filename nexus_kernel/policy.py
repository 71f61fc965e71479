"""The security policy: which modules a tool may import and which names it may not touch.

One place for the rules. The validator enforces them on the source before anything runs; the
bootstrap enforces the runtime part (``runtime_config``) inside the sandbox. Extend it with a JSON
file named by ``NEXUS_POLICY_FILE``::

    {"allow_modules": ["zlib"], "deny_modules": ["random"]}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# Standard-library modules that compute, parse and format without touching the host.
ALLOWED_MODULES: frozenset[str] = frozenset(
    """
    abc array base64 binascii bisect calendar cmath collections colorsys contextlib copy csv
    dataclasses datetime decimal difflib enum fractions functools graphlib hashlib heapq hmac
    html html.parser io ipaddress itertools json keyword math numbers operator pprint random re
    secrets statistics string struct sys tempfile textwrap time timeit typing unicodedata uuid
    warnings zlib zoneinfo xml.etree.ElementTree xml.dom.minidom traceback
    """.split()
)

# Denied by default: each one reaches the host, other processes, the network, or the interpreter's
# internals. Named so the validator can say why; a configuration's allow list can lift one.
DENIED_MODULES: dict[str, str] = {
    **dict.fromkeys(
        "os posix nt posixpath ntpath pathlib shutil glob fnmatch fileinput filecmp "
        "mmap fcntl pty tty termios resource pwd grp spwd crypt".split(),
        "file-system or operating-system access",
    ),
    **dict.fromkeys(
        "socket ssl select selectors asyncio http urllib ftplib smtplib poplib imaplib telnetlib "
        "socketserver xmlrpc webbrowser email.mime.application mailbox nntplib".split(),
        "network access",
    ),
    **dict.fromkeys(
        "subprocess multiprocessing threading _thread concurrent signal sched".split(),
        "process or thread creation",
    ),
    **dict.fromkeys(
        "importlib imp pkgutil zipimport runpy code codeop builtins inspect gc ctypes cffi "
        "marshal pickle shelve dill copyreg types ast dis sysconfig site atexit faulthandler "
        "tracemalloc trace pdb _testcapi".split(),
        "dynamic code or interpreter internals",
    ),
}

# Builtins removed from the tool's namespace at run time and flagged by the validator.
BLOCKED_BUILTINS: frozenset[str] = frozenset(
    "eval exec compile breakpoint input help exit quit copyright credits license".split()
)

# Attribute names that lead from ordinary objects to frames, code, globals or all classes.
BLOCKED_ATTRIBUTES: frozenset[str] = frozenset(
    """
    __subclasses__ __bases__ __base__ __mro__ __globals__ __builtins__ __code__ __closure__
    __func__ __self__ __dict__ __getattribute__ __reduce__ __reduce_ex__ __loader__ __spec__
    __import__ __traceback__ __subclasshook__ __init_subclass__ __set_name__ __class_getitem__
    f_globals f_locals f_builtins f_back f_code tb_frame tb_next gi_frame gi_code cr_frame
    cr_code ag_frame ag_code co_code mro
    """.split()
)


@dataclass(frozen=True)
class Policy:
    """The rules a tool is held to. Build with ``load_policy()`` to honour configuration."""

    allowed_modules: frozenset[str] = ALLOWED_MODULES
    denied_modules: dict[str, str] = field(default_factory=lambda: dict(DENIED_MODULES))
    blocked_builtins: frozenset[str] = BLOCKED_BUILTINS
    blocked_attributes: frozenset[str] = BLOCKED_ATTRIBUTES

    def module_allowed(self, name: str) -> bool:
        """True when ``name`` or one of its parent packages is allowed and none is denied."""
        parts = name.split(".")
        prefixes = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(p in self.denied_modules for p in prefixes):
            return False
        return any(p in self.allowed_modules for p in prefixes)

    def runtime_config(self) -> dict[str, Any]:
        """The part of the policy the in-sandbox bootstrap enforces (JSON-serialisable)."""
        return {
            "allowed_modules": sorted(m for m in self.allowed_modules if self.module_allowed(m)),
            "blocked_builtins": sorted(self.blocked_builtins),
            "blocked_attributes": sorted(self.blocked_attributes),
        }


@lru_cache(maxsize=8)
def _load(path: str | None) -> Policy:
    if not path:
        return Policy()
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    allow = frozenset(config.get("allow_modules", ()))
    deny = {name: "denied by configuration" for name in config.get("deny_modules", ())}
    denied = {k: v for k, v in DENIED_MODULES.items() if k not in allow}
    return Policy(
        allowed_modules=(ALLOWED_MODULES | allow) - frozenset(deny),
        denied_modules={**denied, **deny},
    )


def load_policy() -> Policy:
    """The default policy, extended by the JSON file in ``NEXUS_POLICY_FILE`` if set."""
    return _load(os.environ.get("NEXUS_POLICY_FILE") or None)
