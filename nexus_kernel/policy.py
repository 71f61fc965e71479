"""The security policy: which modules a tool may import and which names it may not touch.

One place for the rules. The validator enforces them on the source before anything runs; the
bootstrap enforces the runtime part (``runtime_config``) inside the sandbox. Extend it with a JSON
file named by ``NEXUS_POLICY_FILE``::

    {"allow_modules": ["zlib"], "deny_modules": ["random"]}

Every set here is consulted through a ``Policy`` object; the validator keeps no lists of its own.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


def _names(text: str) -> list[str]:
    """Whitespace-separated names: keeps the long lists below readable."""
    return text.split()


# Standard-library modules that compute, parse and format without touching the host.
# (``__future__`` only carries compiler flags; ``from __future__ import annotations`` is common.)
ALLOWED_MODULES: frozenset[str] = frozenset(
    _names("""
    __future__ abc array base64 binascii bisect calendar cmath collections colorsys contextlib copy csv
    dataclasses datetime decimal difflib enum fractions functools graphlib hashlib heapq hmac
    html html.parser io ipaddress itertools json keyword math numbers operator pprint random re
    reprlib secrets statistics string struct sys tempfile textwrap time typing unicodedata uuid
    warnings zlib zoneinfo xml.etree.ElementTree xml.dom.minidom traceback
    """)
)

# Denied by default: each one reaches the host, other processes, the network, or the interpreter's
# internals. Named so the validator can say why; a configuration's allow list can lift one.
DENIED_MODULES: dict[str, str] = {
    **dict.fromkeys(
        _names(
            "os posix nt posixpath ntpath pathlib shutil glob fnmatch fileinput filecmp "
            "mmap fcntl pty tty termios resource pwd grp spwd crypt linecache codecs"
        ),
        "file-system or operating-system access",
    ),
    **dict.fromkeys(
        _names(
            "socket ssl select selectors asyncio http urllib ftplib smtplib poplib imaplib telnetlib "
            "socketserver xmlrpc webbrowser email.mime.application mailbox nntplib"
        ),
        "network access",
    ),
    **dict.fromkeys(
        _names("subprocess multiprocessing threading _thread concurrent signal sched platform"),
        "process or thread creation",
    ),
    **dict.fromkeys(
        _names(
            "importlib imp pkgutil zipimport runpy code codeop builtins inspect gc ctypes cffi "
            "marshal pickle shelve dill copyreg types ast dis sysconfig site atexit faulthandler "
            "tracemalloc trace pdb _testcapi"
        ),
        "dynamic code or interpreter internals",
    ),
    "json.tool": "a command-line program that opens the files named on the host's command line",
    # Its statements are text compiled in timeit's own module, where the real builtins are: a starred
    # argument, a ** dict or a rebound name hides the text. time.perf_counter() times a tool's work.
    "timeit": "it compiles and runs statements given as text, with the real builtins",
}

# Builtins removed from the tool's namespace at run time and flagged by the validator.
BLOCKED_BUILTINS: frozenset[str] = frozenset(
    _names("eval exec compile breakpoint input help exit quit copyright credits license")
)

# Attribute names that lead from ordinary objects to frames, code, globals or all classes.
# (``__traceback__`` is deliberately absent: ``traceback.format_exception(type(e), e, e.__traceback__)``
# is ordinary code, and the dangerous step from a traceback, ``tb_frame``, is blocked.)
BLOCKED_ATTRIBUTES: frozenset[str] = frozenset(
    _names("""
    __subclasses__ __bases__ __base__ __mro__ __globals__ __builtins__ __code__ __closure__
    __func__ __self__ __dict__ __getattribute__ __reduce__ __reduce_ex__ __loader__ __spec__
    __import__ __subclasshook__ __init_subclass__ __set_name__ __class_getitem__
    f_globals f_locals f_builtins f_back f_code f_trace tb_frame tb_next gi_frame gi_code cr_frame
    cr_code ag_frame ag_code co_code mro _getframe __forward_code__
    """)
)

# Why each kind of blocked attribute is refused: exact names first, then name prefixes.
_ATTRIBUTE_REASONS: dict[str, str] = {
    **dict.fromkeys(
        _names(
            "__subclasses__ __bases__ __base__ __mro__ mro __subclasshook__ __init_subclass__ "
            "__class_getitem__ __set_name__"
        ),
        "introspection escape: it walks the class hierarchy to every class in the interpreter",
    ),
    **dict.fromkeys(
        _names(
            "__globals__ __builtins__ __dict__ __closure__ __func__ __self__ __import__ __loader__ __spec__"
        ),
        "introspection escape: it reaches a namespace, the real builtins or the import machinery",
    ),
    **dict.fromkeys(
        _names("__getattribute__ __reduce__ __reduce_ex__"),
        "introspection escape: it bypasses attribute checks or rebuilds arbitrary callables",
    ),
    **dict.fromkeys(
        ("__code__", "__forward_code__"), "introspection escape: it reaches compiled code objects"
    ),
    "_getframe": "introspection escape: it reaches interpreter frames",
}
_ATTRIBUTE_PREFIX_REASONS: dict[str, str] = {
    "co_": "introspection escape: it reaches compiled code objects",
    **dict.fromkeys(("f_", "tb_", "gi_", "cr_", "ag_"), _ATTRIBUTE_REASONS["_getframe"]),
}

# Attribute names that hold a denied module (or the real ``sys``) on allowed modules, e.g.
# ``random._os``, ``typing.sys``, ``dataclasses.builtins``, ``enum.bltns``; refused on any object.
MODULE_ATTRIBUTES: frozenset[str] = frozenset(
    _names("""
    os _os sys _sys builtins _builtins bltns subprocess _subprocess posix _posix nt _nt
    socket _socket shutil _shutil _thread threading _threading importlib _imp ctypes _ctypes
    linecache sysconfig codecs copyreg gc marshal
    """)
)

# What the bootstrap's ``sys`` facade provides (see ``_make_sys_facade`` in executors/bootstrap.py).
SYS_ATTRIBUTES: frozenset[str] = frozenset(
    _names("""
    version version_info platform maxsize maxunicode byteorder float_info int_info hash_info
    implementation float_repr_style getrecursionlimit getsizeof intern getdefaultencoding
    stdout stderr stdin __stdout__ __stderr__ __stdin__ argv exit setrecursionlimit
    """)
)

# Builtin names refused wherever they appear, also when a tool rebinds them (an alias like
# ``e = eval`` is caught where ``eval`` is read).
REFUSED_NAMES: dict[str, str] = {
    "eval": "dynamic code execution",
    "exec": "dynamic code execution",
    "compile": "dynamic code execution",
    "__import__": "dynamic import; use an import statement",
    "breakpoint": "it starts the debugger",
    "__builtins__": "it reaches the interpreter's builtins",
    "__loader__": "it reaches the import machinery",
    "__spec__": "it reaches the import machinery",
}

# Why the other blocked builtins are refused (only when the tool does not define the name itself).
BUILTIN_REASONS: dict[str, str] = {
    "input": "a tool has no standard input",
    "help": "it starts the interactive help system",
    "exit": "interactive-shell helper; use sys.exit()",
    "quit": "interactive-shell helper; use sys.exit()",
    "copyright": "interactive-shell helper",
    "credits": "interactive-shell helper",
    "license": "interactive-shell helper",
}

# Builtins that look attributes up by a name given as data: the name must be a literal.
ATTRIBUTE_FUNCTIONS: frozenset[str] = frozenset(
    _names("getattr setattr delattr hasattr operator.attrgetter operator.methodcaller")
)

# Builtins that hand out a namespace dict: indexing them must use literal, harmless keys.
NAMESPACE_FUNCTIONS: frozenset[str] = frozenset(_names("globals locals vars"))

# Library functions refused by qualified name, wherever referenced.
REFUSED_FUNCTIONS: dict[str, str] = {
    "io.open": "it is the unguarded open(); use open() for files under /tmp",
    "io.FileIO": "it opens files without the /tmp guard; use open()",
    "io.open_code": "it opens files without the /tmp guard; use open()",
    "timeit.main": "it compiles code given as text (dynamic code)",
    "traceback.walk_stack": "it exposes interpreter frames",
    "traceback.walk_tb": "it exposes interpreter frames",
    "typing.ForwardRef": "it evaluates code given as text (dynamic code)",
    # It evaluates annotation text inside the annotated object's module, where the real builtins are.
    "typing.get_type_hints": "it evaluates annotation text as code; read __annotations__ instead",
    # linecache reads the file named by the tool with the real open(), outside the /tmp guard.
    **dict.fromkeys(
        _names(
            "traceback.FrameSummary traceback.StackSummary traceback.format_list traceback.print_list "
            "warnings.formatwarning warnings.showwarning warnings.warn_explicit"
        ),
        "it reads lines of any file named by the tool (linecache), outside the /tmp guard",
    ),
}

# Methods refused on any object: they look attributes up by a name given as data.
REFUSED_METHODS: dict[str, str] = {
    "get_field": "string.Formatter.get_field() is getattr() with a computed name",
    "detach": "it hands out the raw file object, whose type opens any path without the /tmp guard",
}

# Private (``_x``) attributes every tool may use on any object: namedtuple's and Enum's public API.
# Other private names are library internals (``ForwardRef._evaluate`` is eval(), ``random._os``...),
# allowed only where the tool defines them on its own classes (see the validator).
PUBLIC_PRIVATE_ATTRIBUTES: frozenset[str] = frozenset(
    _names("""
    _asdict _replace _fields _field_defaults _make
    _value_ _name_ _missing_ _generate_next_value_ _ignore_ _order_ _member_names_ _member_map_
    """)
)

# Attribute names refused on anything but the tool's own objects, even when the tool defines them too:
# ``ForwardRef._evaluate`` is eval() with the real builtins; the bootstrap's streams carry ``_reporter``.
CAPABILITY_ATTRIBUTES: dict[str, str] = {
    "_evaluate": "typing's ForwardRef._evaluate() is eval() with the real builtins",
    "_reporter": "the sandbox's streams write raw frames to the host through it",
}

# Decorators whose ``register(f)`` (without a class) evaluates the annotations of ``f`` -- of a function,
# or of any object, then with the real builtins -- through typing.get_type_hints(). With them, every
# ``.register`` must name its class: ``@f.register(int)``.
ANNOTATION_DISPATCHERS: frozenset[str] = frozenset(
    _names("functools.singledispatch functools.singledispatchmethod")
)

# Library classes a tool's own class may derive from and still count as the tool's own (its private
# names are the tool's): they carry no internals of their own. Matched by their last name.
OWN_CLASS_BASES: frozenset[str] = frozenset(
    _names("Enum IntEnum Flag IntFlag StrEnum ABC NamedTuple TypedDict Generic Protocol")
)
# Metaclasses (``metaclass=``) a tool's own class may name.
OWN_CLASS_METACLASSES: frozenset[str] = frozenset(_names("ABCMeta EnumMeta EnumType"))

# Public attribute names that lead to library internals, refused unless the tool defines the name on
# its own classes (like private names).
INTERNAL_ATTRIBUTES: dict[str, str] = {
    "raw": "a file's raw object is a FileIO, whose type opens any path without the /tmp guard",
}

# Attributes a tool may read but never write, replace or mutate in place.
WRITE_PROTECTED_ATTRIBUTES: dict[str, str] = {
    "__class__": "swapping an object's class is an escape technique",
    "__annotations__": "library helpers such as typing and functools.singledispatch evaluate annotation text",
}

# Functions whose file-path argument must stay under /tmp: qualified name -> (position, keyword).
# ``open`` is guarded again at run time; the others open files themselves, so a computed ``dir`` of
# tempfile is refused (tempfile creates files with os.open, not the guarded open()).
PATH_ARGUMENTS: dict[str, tuple[int, str]] = {
    "open": (0, "file"),
    "xml.etree.ElementTree.parse": (0, "source"),
    "xml.etree.ElementTree.iterparse": (0, "source"),
    "xml.dom.minidom.parse": (0, "file"),
    "tempfile.mkstemp": (2, "dir"),
    "tempfile.mkdtemp": (2, "dir"),
    "tempfile.TemporaryDirectory": (2, "dir"),
    "tempfile.TemporaryFile": (6, "dir"),
    "tempfile.NamedTemporaryFile": (6, "dir"),
    "tempfile.SpooledTemporaryFile": (7, "dir"),
}

# File-name pieces of tempfile (suffix, prefix): literal text without '/' (``prefix="/etc/x"`` would
# join to a path outside ``dir``). qualified name -> ((position, keyword), ...).
NAME_PART_ARGUMENTS: dict[str, tuple[tuple[int, str], ...]] = {
    "tempfile.mkstemp": ((0, "suffix"), (1, "prefix")),
    "tempfile.mkdtemp": ((0, "suffix"), (1, "prefix")),
    "tempfile.TemporaryDirectory": ((0, "suffix"), (1, "prefix")),
    "tempfile.TemporaryFile": ((4, "suffix"), (5, "prefix")),
    "tempfile.NamedTemporaryFile": ((4, "suffix"), (5, "prefix")),
    "tempfile.SpooledTemporaryFile": ((5, "suffix"), (6, "prefix")),
}

# Buffering arguments that must be a literal other than 0: unbuffered files are FileIO objects, whose
# type opens any path. qualified name -> (position, keyword).
BUFFERING_ARGUMENTS: dict[str, tuple[int, str]] = {
    "open": (2, "buffering"),
    "tempfile.TemporaryFile": (1, "buffering"),
    "tempfile.NamedTemporaryFile": (1, "buffering"),
    "tempfile.SpooledTemporaryFile": (2, "buffering"),
}

# Functions that compile a statement given as text: qualified name -> its code arguments.
# (timeit is denied by default; these rules hold when a configuration allows it.)
CODE_STRING_ARGUMENTS: dict[str, tuple[tuple[int, str], ...]] = {
    name: ((0, "stmt"), (1, "setup")) for name in ("timeit.timeit", "timeit.repeat", "timeit.Timer")
}

# Arguments refused when given: qualified name -> (position, keyword or "" if positional only, why).
REFUSED_ARGUMENTS: dict[str, tuple[tuple[int, str, str], ...]] = {
    "open": ((7, "opener", "an opener can return any file descriptor, bypassing the /tmp guard"),),
    "type": ((2, "", "the three-argument form builds a class dynamically; write a class statement"),),
    # A class namespace given as a dict can hold any __annotations__ keys, which dataclasses pastes into
    # the code it compiles.
    "abc.ABCMeta": ((1, "", "the three-argument form builds a class dynamically; write a class statement"),),
}

# The one directory a tool may use (the sandbox maps it to its private scratch space).
SCRATCH_DIR = "/tmp"

# Longer sources are refused unparsed: parsing many megabytes is a cheap denial of service.
MAX_CODE_CHARS = 2_000_000


@dataclass(frozen=True)
class Policy:
    """The rules a tool is held to. Build with ``load_policy()`` to honour configuration."""

    allowed_modules: frozenset[str] = ALLOWED_MODULES
    denied_modules: dict[str, str] = field(default_factory=lambda: dict(DENIED_MODULES))
    blocked_builtins: frozenset[str] = BLOCKED_BUILTINS
    blocked_attributes: frozenset[str] = BLOCKED_ATTRIBUTES
    module_attributes: frozenset[str] = MODULE_ATTRIBUTES
    sys_attributes: frozenset[str] = SYS_ATTRIBUTES
    refused_names: dict[str, str] = field(default_factory=lambda: dict(REFUSED_NAMES))
    builtin_reasons: dict[str, str] = field(default_factory=lambda: dict(BUILTIN_REASONS))
    attribute_functions: frozenset[str] = ATTRIBUTE_FUNCTIONS
    namespace_functions: frozenset[str] = NAMESPACE_FUNCTIONS
    refused_functions: dict[str, str] = field(default_factory=lambda: dict(REFUSED_FUNCTIONS))
    refused_methods: dict[str, str] = field(default_factory=lambda: dict(REFUSED_METHODS))
    write_protected_attributes: dict[str, str] = field(
        default_factory=lambda: dict(WRITE_PROTECTED_ATTRIBUTES)
    )
    path_arguments: dict[str, tuple[int, str]] = field(default_factory=lambda: dict(PATH_ARGUMENTS))
    code_string_arguments: dict[str, tuple[tuple[int, str], ...]] = field(
        default_factory=lambda: dict(CODE_STRING_ARGUMENTS)
    )
    refused_arguments: dict[str, tuple[tuple[int, str, str], ...]] = field(
        default_factory=lambda: dict(REFUSED_ARGUMENTS)
    )
    name_part_arguments: dict[str, tuple[tuple[int, str], ...]] = field(
        default_factory=lambda: dict(NAME_PART_ARGUMENTS)
    )
    buffering_arguments: dict[str, tuple[int, str]] = field(default_factory=lambda: dict(BUFFERING_ARGUMENTS))
    public_private_attributes: frozenset[str] = PUBLIC_PRIVATE_ATTRIBUTES
    capability_attributes: dict[str, str] = field(default_factory=lambda: dict(CAPABILITY_ATTRIBUTES))
    internal_attributes: dict[str, str] = field(default_factory=lambda: dict(INTERNAL_ATTRIBUTES))
    annotation_dispatchers: frozenset[str] = ANNOTATION_DISPATCHERS
    own_class_bases: frozenset[str] = OWN_CLASS_BASES
    own_class_metaclasses: frozenset[str] = OWN_CLASS_METACLASSES
    scratch_dir: str = SCRATCH_DIR
    max_code_chars: int = MAX_CODE_CHARS

    def module_allowed(self, name: str) -> bool:
        """True when ``name`` or one of its parent packages is allowed and none is denied."""
        parts = name.split(".")
        prefixes = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(p in self.denied_modules for p in prefixes):
            return False
        return any(p in self.allowed_modules for p in prefixes)

    def module_refusal(self, name: str) -> str:
        """Why importing ``name`` is refused (call only when ``module_allowed`` is False)."""
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            reason = self.denied_modules.get(".".join(parts[:i]))
            if reason:
                return reason
        return "not in the policy's allowed standard-library modules"

    def is_library_module(self, name: str) -> bool:
        """True when ``name`` is a top-level standard-library module of this interpreter."""
        return name in sys.stdlib_module_names

    def attribute_reason(self, name: str) -> str:
        """Why the blocked attribute ``name`` is refused."""
        if name in self.module_attributes:
            return "it holds a module the policy denies: the operating system, the real sys or builtins"
        if name in _ATTRIBUTE_REASONS:
            return _ATTRIBUTE_REASONS[name]
        for prefix, reason in _ATTRIBUTE_PREFIX_REASONS.items():
            if name.startswith(prefix):
                return reason
        return "introspection escape"

    def runtime_config(self) -> dict[str, Any]:
        """The part of the policy the in-sandbox bootstrap enforces (JSON-serialisable)."""
        return {
            "allowed_modules": sorted(m for m in self.allowed_modules if self.module_allowed(m)),
            "blocked_builtins": sorted(self.blocked_builtins),
            # getattr() at run time refuses module-holding names too (``getattr(random, "_os")``).
            "blocked_attributes": sorted(self.blocked_attributes | self.module_attributes),
        }


@lru_cache(maxsize=8)
def _load(path: str | None) -> Policy:
    if not path:
        return Policy()
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ValueError(f"NEXUS_POLICY_FILE {path!r} cannot be read: {exc}") from exc
    if not isinstance(config, dict):
        raise ValueError(f"NEXUS_POLICY_FILE {path!r} must hold a JSON object")
    allow = frozenset(_module_list(config, "allow_modules", path))
    deny = {name: "denied by configuration" for name in _module_list(config, "deny_modules", path)}
    denied = {k: v for k, v in DENIED_MODULES.items() if k not in allow}
    return Policy(
        allowed_modules=(ALLOWED_MODULES | allow) - frozenset(deny),
        denied_modules={**denied, **deny},
    )


def _module_list(config: dict[str, Any], key: str, path: str) -> list[str]:
    names = config.get(key, [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"NEXUS_POLICY_FILE {path!r}: {key!r} must be a list of module names")
    return names


def load_policy() -> Policy:
    """The default policy, extended by the JSON file in ``NEXUS_POLICY_FILE`` if set.

    Raises ``ValueError`` naming the file when it cannot be read or is not of the documented shape.
    """
    return _load(os.environ.get("NEXUS_POLICY_FILE") or None)
