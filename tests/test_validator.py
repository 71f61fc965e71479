"""The AST security validator: every rule by the attack it stops and the ordinary code it lets through."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from nexus_kernel import validator
from nexus_kernel.policy import Policy

CORPUS = Path(__file__).parent / "corpus"
ATTACKS = sorted((CORPUS / "attacks").glob("*.py"))
BENIGN = sorted((CORPUS / "benign").glob("*.py"))
LINE = re.compile(r"^line [1-9][0-9]*: \S")
POLICY = Policy()


def wide(text: str) -> str:
    """Fullwidth letters: Python normalises identifiers written with them (NFKC) to plain ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in text)


def check(code: str) -> dict:
    return validator.check(code, POLICY)


def assert_well_formed(result: dict) -> None:
    assert set(result) <= {"safe", "violations", "syntax_error"}
    assert isinstance(result["safe"], bool)
    assert result["safe"] == (not result["violations"])
    for violation in result["violations"]:
        assert isinstance(violation, str) and LINE.match(violation), violation


# -- the corpus ------------------------------------------------------------------------------------


def _header(path: Path) -> tuple[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# attack: ") and len(lines[0]) > len("# attack: ") + 5, path.name
    assert lines[1].startswith("# expect: "), path.name
    return lines[0][len("# attack: ") :], lines[1][len("# expect: ") :]


def test_corpus_sizes() -> None:
    assert len(ATTACKS) >= 50
    assert len(BENIGN) >= 25


@pytest.mark.parametrize("path", ATTACKS, ids=lambda p: p.stem)
def test_attack_is_refused_for_the_right_reason(path: Path) -> None:
    _what, expect = _header(path)
    result = check(path.read_text(encoding="utf-8"))
    assert_well_formed(result)
    assert result["safe"] is False
    assert "syntax_error" not in result, "an attack must be refused by a rule, not by a typo"
    assert any(expect in v for v in result["violations"]), result["violations"]


@pytest.mark.parametrize("path", BENIGN, ids=lambda p: p.stem)
def test_benign_program_passes(path: Path) -> None:
    result = check(path.read_text(encoding="utf-8"))
    assert result == {"safe": True, "violations": []}


def test_benign_corpus_runs_under_plain_isolated_python(tmp_path: Path) -> None:
    """Each benign file is ordinary Python: it runs under ``python -I`` and prints its ``.out`` file."""
    created = [Path("/tmp/nexus_benign_roundtrip.json"), Path("/tmp/nexus_benign_lines.txt")]
    try:
        for path in BENIGN:
            run = subprocess.run(
                [sys.executable, "-I", str(path)], capture_output=True, timeout=60, cwd=tmp_path
            )
            assert run.returncode == 0, (path.name, run.stderr)
            # Byte for byte: the executors compare a sandboxed run's stdout with the same file.
            assert run.stdout == path.with_suffix(".out").read_bytes(), path.name
    finally:
        for leftover in created:
            leftover.unlink(missing_ok=True)


def test_benign_programs_only_import_allowed_modules() -> None:
    import ast

    for path in BENIGN:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                assert all(POLICY.module_allowed(a.name) for a in node.names), path.name
            elif isinstance(node, ast.ImportFrom):
                assert POLICY.module_allowed(node.module or ""), path.name


# -- each rule: the attack it stops, and the near miss it lets through -------------------------------

RULES = [
    # (rule, attack, expected words in a violation, ordinary code that must pass)
    ("import", "import socket", "import of 'socket' is not allowed (network access)", "import json"),
    ("import", "import os.path", "'os.path' is not allowed (file-system", "import math"),
    (
        "from-import",
        "from subprocess import run",
        "'subprocess' is not allowed (process",
        "from json import dumps",
    ),
    (
        "from-import name",
        "from typing import sys",
        "import of 'sys' from 'typing'",
        "from typing import List",
    ),
    (
        "from-import private",
        "from random import _os",
        "import of '_os' from 'random'",
        "from random import randint",
    ),
    ("private submodule", "import zoneinfo._tzpath", "private library internals", "import zoneinfo"),
    ("relative import", "from . import helper", "relative import", "from collections import abc"),
    ("thread", "import threading", "process or thread creation", "import time"),
    ("__import__", "__import__('os')", "__import__ is not allowed", "import math"),
    ("importlib", "import importlib", "import of 'importlib'", "import itertools"),
    ("eval", "eval('1')", "eval is not allowed (dynamic code execution)", "import re\nre.compile('a+')"),
    ("exec", "exec('x = 1')", "exec is not allowed", "def execute():\n    return 1\nexecute()"),
    ("compile", "compile('1', 'x', 'eval')", "compile is not allowed", "import re\nr = re.compile('x')"),
    ("alias", "e = eval\ne('1')", "eval is not allowed", "e = abs\ne(-1)"),
    ("unicode name", wide("eval") + "('1')", "eval is not allowed", wide("e") + " = 1\nprint(e)"),
    ("breakpoint", "breakpoint()", "breakpoint is not allowed", "print('no debugger')"),
    ("help", "help(print)", "help() is not allowed", "def help(topic):\n    return topic\nhelp('x')"),
    ("input", "name = input()", "input() is not allowed", "def ask(input):\n    return input\nask('x')"),
    ("exit", "exit(1)", "exit() is not allowed", "import sys\nsys.exit(0)"),
    ("subclasses", "object.__subclasses__()", "'__subclasses__'", "print(object.__name__)"),
    ("mro", "int.__mro__", "'__mro__'", "print(int.__name__, int.__qualname__)"),
    ("mro method", "int.mro()", "'mro'", "class A:\n    pass\nprint(A.__module__)"),
    ("bases", "().__class__.__bases__", "'__bases__'", "x = ()\nprint(x.__class__.__name__)"),
    ("globals attr", "f = lambda: 0\nf.__globals__", "'__globals__'", "f = lambda: 0\nprint(f.__name__)"),
    ("builtins name", "print(__builtins__)", "__builtins__ is not allowed", "print(__name__)"),
    (
        "code attr",
        "def f():\n    pass\nf.__code__",
        "'__code__'",
        "def f():\n    '''doc'''\nprint(f.__doc__)",
    ),
    ("self attr", "print.__self__", "'__self__'", "print(print.__name__)"),
    (
        "generator frame",
        "g = (i for i in [1])\ng.gi_frame",
        "'gi_frame'",
        "g = (i for i in [1])\nprint(g.gi_running)",
    ),
    (
        "traceback frame",
        "try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame",
        "'tb_frame'",
        "import traceback\ntry:\n    1 / 0\nexcept Exception as e:\n"
        "    print(traceback.format_exception(type(e), e, e.__traceback__)[-1])",
    ),
    (
        "getattr computed",
        "n = 'x'\ngetattr(object, n)",
        "computed attribute name",
        "class P:\n    x = 1\nprint(getattr(P, 'x', None))",
    ),
    (
        "getattr built",
        "getattr(object, '__sub' + 'classes__')",
        "getattr() of attribute '__subclasses__'",
        "getattr(1, 'real')",
    ),
    ("getattr alias", "g = getattr", "getattr used as a value", "print(getattr(1, 'imag'))"),
    ("hasattr computed", "k = 'a'\nhasattr(1, k)", "hasattr() with a computed", "print(hasattr(1, 'real'))"),
    (
        "setattr class",
        "class A:\n    pass\nsetattr(A(), '__class__', int)",
        "setattr() of attribute '__class__'",
        "class A:\n    pass\nsetattr(A(), 'x', 1)",
    ),
    (
        "class assignment",
        "class A:\n    pass\nA().__class__ = int",
        "assignment to '__class__'",
        "class A:\n    def name(self):\n        return self.__class__.__name__",
    ),
    ("type 3-arg", "type('X', (), {})", "type() with argument 3", "print(type(1).__name__)"),
    (
        "vars of module",
        "import random\nvars(random)",
        "vars() of a module",
        "class A:\n    def __init__(self):\n        self.x = 1\n    def d(self):\n"
        "        return sorted(vars(self))",
    ),
    ("vars of type", "vars(type)", "vars() of a module, a type", "vars()"),
    (
        "globals key",
        "globals()['__builtins__']",
        "globals()['__builtins__']",
        "counter = 1\nprint(globals()['counter'])",
    ),
    (
        "globals computed",
        "k = 'a'\nglobals()[k]",
        "indexing globals() with a computed key",
        "print(sorted(locals()))",
    ),
    (
        "locals get",
        "locals().get('__builtins__')",
        "locals()['__builtins__']",
        "x = 1\nprint('{x}'.format_map(locals()))",
    ),
    (
        "__dict__ of type",
        "type.__dict__",
        "'__dict__'",
        "class A:\n    def __eq__(self, other):\n        return self.__dict__ == other.__dict__",
    ),
    (
        "private module attr",
        "import random\nrandom._os",
        "'_os'",
        "import random\nrandom.seed(1)\nrandom.randint(1, 2)",
    ),
    (
        "module ref attr",
        "import tempfile\ntempfile._shutil",
        "'_shutil'",
        "import tempfile\ntempfile.gettempdir()",
    ),
    ("module ref any base", "x = object()\nx.os", "'os'", "import json\njson.decoder.re.compile('a')"),
    ("typing.sys", "import typing\ntyping.sys", "attribute 'sys'", "import typing\ntyping.Optional"),
    (
        "stdlib module attr",
        "import typing\ntyping.types",
        "it is the module 'types'",
        "import datetime\ndatetime.time(1)",
    ),
    ("sys.modules", "import sys\nsys.modules", "sys.modules", "import sys\nprint(sys.version_info.major)"),
    ("sys._getframe", "import sys\nsys._getframe()", "'_getframe'", "import sys\nsys.getrecursionlimit()"),
    (
        "from sys",
        "from sys import modules",
        "import of 'modules' from 'sys'",
        "from sys import stdout\nstdout.write('x')",
    ),
    (
        "sys as value",
        "import sys\ns = sys",
        "module 'sys' used as a value",
        "import sys\nprint('x', file=sys.stderr)",
    ),
    (
        "module as value",
        "import math\nm = [math]",
        "module 'math' used as a value",
        "import math\nf = [math.sqrt]",
    ),
    (
        "star import leak",
        "from uuid import *\nos.getcwd()",
        "the name 'os' is not allowed",
        "from math import *\nprint(sqrt(4))",
    ),
    ("format escape", "'{0.__class__.__mro__}'.format(1)", "'__mro__'", "'{0.__class__.__name__}'.format(1)"),
    (
        "format module field",
        "'{0._os}'.format(1)",
        "format field reaching attribute '_os'",
        "'{0.real}'.format(1)",
    ),
    ("format spec", "'{0:{1.__globals__}}'.format(1, 2)", "'__globals__'", "'{0:{1}}'.format(1, 5)"),
    (
        "f-string",
        "f = lambda: 0\nprint(f'{f.__globals__}')",
        "'__globals__'",
        "f = lambda: 0\nprint(f'{f.__name__!r:>10}')",
    ),
    (
        "attrgetter",
        "import operator\noperator.attrgetter('__class__.__base__')",
        "attrgetter() of attribute '__base__'",
        "import operator\noperator.attrgetter('real')(1)",
    ),
    (
        "attrgetter computed",
        "import operator\nn = 'x'\noperator.attrgetter(n)",
        "attrgetter() with a computed",
        "from operator import attrgetter\nattrgetter('imag')(1)",
    ),
    (
        "methodcaller",
        "from operator import methodcaller\nmethodcaller('__subclasses__')",
        "methodcaller() of attribute '__subclasses__'",
        "from operator import methodcaller\nmethodcaller('upper')('a')",
    ),
    (
        "string escape",
        "k = '__globals__'",
        "string naming the blocked attribute '__globals__'",
        "k = 'globals'",
    ),
    ("string unicode", f"k = '__{wide('globals')}__'", "'__globals__'", f"k = '{wide('globals')}'"),
    ("open /etc", "open('/etc/passwd')", "open() of path '/etc/passwd'", "open('/tmp/data.txt', 'w')"),
    (
        "open ../",
        "open('/tmp/../etc/passwd')",
        "'..' leaves the scratch directory",
        "open('/tmp/a/./b.txt', 'w')",
    ),
    ("open relative ..", "open('../secret')", "'..' leaves", "open('notes.txt', 'w')"),
    (
        "open f-string",
        "n = 1\nopen(f'/proc/{n}/environ')",
        "'/proc/...'",
        "n = 1\nopen(f'/tmp/out_{n}.txt', 'w')",
    ),
    ("open concat", "open('/etc/' + 'passwd')", "'/etc/passwd'", "name = 'x'\nopen('/tmp/' + name, 'w')"),
    ("open bytes", "open(b'/etc/passwd')", "'/etc/passwd'", "open(b'/tmp/x.bin', 'wb')"),
    ("open fd", "open(1, 'w')", "file descriptor 1", "path = '/tmp/x'\nopen(path)"),
    (
        "open keyword",
        "open(file='/root/.ssh/id_rsa')",
        "'/root/.ssh/id_rsa'",
        "open(file='/tmp/k', mode='w')",
    ),
    ("opener", "open('/tmp/x', opener=print)", "argument 'opener'", "open('/tmp/x', 'w', encoding='utf-8')"),
    ("io.open", "import io\nio.open('/tmp/x')", "attribute 'io.open'", "import io\nio.StringIO('x')"),
    (
        "xml parse path",
        "import xml.etree.ElementTree as ET\nET.parse('/etc/x.xml')",
        "ElementTree.parse() of path",
        "import xml.etree.ElementTree as ET\nET.fromstring('<a/>')",
    ),
    (
        "tempfile dir",
        "import tempfile\ntempfile.mkdtemp(dir='/var')",
        "tempfile.mkdtemp() of path '/var'",
        "import tempfile\ntempfile.mkdtemp(dir='/tmp')",
    ),
    (
        "library state",
        "import tempfile\ntempfile.tempdir = '/'",
        "assignment to 'tempfile.tempdir'",
        "import decimal\ndecimal.getcontext().prec = 10",
    ),
    (
        "timeit denied",
        "import timeit",
        "import of 'timeit' is not allowed (it compiles and runs statements given as text",
        "import time\nstart = time.perf_counter()\nprint(time.perf_counter() - start >= 0)",
    ),
    (
        "get_type_hints",
        "import typing\nclass C:\n    x: int\ntyping.get_type_hints(C)",
        "attribute 'typing.get_type_hints'",
        "import typing\nclass C:\n    x: typing.Optional[int]\nprint(C.__annotations__)",
    ),
    (
        "annotations write",
        "def f(x: int):\n    pass\nf.__annotations__['x'] = 'str'",
        "changing '__annotations__'",
        "def f(x: int):\n    pass\nprint(f.__annotations__['x'], dict(f.__annotations__))",
    ),
    (
        "annotations update",
        "import json\njson.dumps.__annotations__.update(x='y')",
        "changing '__annotations__'",
        "import json\nprint(json.dumps.__annotations__.get('x'))",
    ),
    (
        "Formatter.get_field",
        "import string\nstring.Formatter().get_field('0.real', [1], {})",
        "'get_field'",
        "import string\nprint(string.Formatter().format('{0.real}', 1))",
    ),
    (
        "ForwardRef",
        "import typing\ntyping.ForwardRef('x')",
        "typing.ForwardRef",
        "import typing\ntyping.Union[int, str]",
    ),
    (
        "walk_stack",
        "import traceback\ntraceback.walk_stack(None)",
        "traceback.walk_stack",
        "import traceback\ntraceback.format_exc()",
    ),
    (
        "linecache",
        "import traceback\ntraceback.linecache",
        "'linecache'",
        "import traceback\ntraceback.format_stack",
    ),
    (
        "decorator",
        "@eval\ndef f():\n    pass",
        "eval is not allowed",
        "import functools\n@functools.lru_cache(maxsize=None)\ndef f():\n    pass",
    ),
    ("lambda", "g = lambda: __import__('os')", "__import__ is not allowed", "g = lambda x: x * 2"),
    (
        "comprehension",
        "[c for c in object.__subclasses__()]",
        "'__subclasses__'",
        "[c for c in 'abc' if c.isalpha()]",
    ),
    (
        "__setattr__",
        "class A:\n    pass\nobject.__setattr__(A(), '__class__', int)",
        "__setattr__() of '__class__'",
        "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass A:\n    x: int = 0\n"
        "    def __post_init__(self):\n        object.__setattr__(self, 'x', 1)\n"
        "class B:\n    def __setattr__(self, name, value):\n        super().__setattr__(name, value)",
    ),
    # -- __annotations__ and singledispatch (red team: validator_singledispatch_annotations.py)
    (
        "annotations alias",
        "def f(x):\n    pass\nhints = f.__annotations__\nhints['x'] = 'int'",
        "'__annotations__' used as a value",
        "def f(x: int):\n    pass\n"
        "print(f.__annotations__['x'], dict(f.__annotations__), list(f.__annotations__.items()))\n"
        "for name in f.__annotations__:\n    print(name, name in f.__annotations__)",
    ),
    (
        "annotations passed on",
        "def f(x: int):\n    pass\ndef plant(d):\n    d['x'] = 'text'\nplant(f.__annotations__)",
        "'__annotations__' used as a value",
        "def f(x: int):\n    pass\n"
        "print(len(f.__annotations__), sorted(f.__annotations__), f.__annotations__.get('y'))",
    ),
    (
        "annotations compared with a spy",
        "class Spy:\n    def __eq__(self, other):\n        return True\ndef f(x: int):\n    pass\n"
        "print(f.__annotations__ == Spy())",
        "'__annotations__' used as a value",
        "def f(x: int):\n    pass\nprint(f.__annotations__ == {'x': int}, f.__annotations__ is None)",
    ),
    (
        "annotations of a class body",
        "class C:\n    __annotations__['x; import os'] = int",
        "changing '__annotations__'",
        "class C:\n    x: int = 0\nprint(C.__annotations__.get('x'))",
    ),
    (
        "annotations rebound",
        "class C:\n    __annotations__ = {'x': 'text'}",
        "assignment to '__annotations__'",
        "class C:\n    annotations = {'x': 'text'}",
    ),
    (
        "annotations by name",
        "def f(x: int):\n    pass\nh = getattr(f, '__annotations__')",
        "getattr() of attribute '__annotations__'",
        "def f(x: int):\n    pass\nprint(getattr(f, '__name__'))",
    ),
    (
        "annotations in a namespace",
        "class C:\n    x: int\nh = vars(C)['__annotations__']",
        "vars()['__annotations__'] is not allowed",
        "class C:\n    x: int\nprint(C.__annotations__['x'])",
    ),
    (
        "register without a class",
        "import functools\n@functools.singledispatch\ndef show(x):\n    return 'any'\n"
        "@show.register\ndef _(x: int):\n    return 'int'",
        "register() without a class written out",
        "import functools\n@functools.singledispatch\ndef show(x):\n    return 'any'\n"
        "@show.register(int)\ndef _(x):\n    return 'int'\n@show.register(list | tuple)\ndef _(x):\n"
        "    return 'seq'",
    ),
    (
        "register of an object",
        # get_type_hints() of an instance evaluates its class's annotation text with the real builtins.
        "from functools import singledispatch\ntext = str(1)\nclass Fake:\n    x: text\n"
        "dispatch = singledispatch(print)\ndispatch.register(Fake())",
        "register() without a class written out",
        "from functools import singledispatch\nclass Point:\n    pass\ndispatch = singledispatch(print)\n"
        "dispatch.register(Point, print)\n"
        "class Registry:\n    def register(self, f):\n        return f",
    ),
    (
        "register by name",
        "import functools\nd = functools.singledispatch(print)\ngetattr(d, 'register')(print)",
        "getattr() of attribute 'register'",
        "import functools\nd = functools.singledispatch(print)\nprint(getattr(d, 'registry') is not None)",
    ),
    # -- namespaces (red team: validator_vars_descriptors.py)
    (
        "vars alias",
        "t = int\nnamespace = vars(t)\nprint(namespace[str(1)])",
        "vars() used as a value",
        "class A:\n    def __init__(self):\n        self.x = 1\na = A()\n"
        "print(vars(a), vars(a)['x'], 'x' in vars(a), len(vars(a)), [k for k in vars(a)])",
    ),
    (
        "vars values",
        "t = object\nprint([v for k, v in vars(t).items()])",
        "vars() used as a value",
        "t = object\nprint(sorted(vars(t)), vars(t).get('x'))",
    ),
    (
        "__dict__ alias",
        "t = object\nd = t.__dict__",
        "__dict__ used as a value",
        "class A:\n    def __init__(self, **kw):\n        self.__dict__.update(kw)\n"
        "    def __eq__(self, other):\n        return self.__dict__ == other.__dict__",
    ),
    (
        "namespace compared with a spy",
        "class Spy:\n    def __eq__(self, other):\n        return True\nt = object\nprint(vars(t) == Spy())",
        "vars() used as a value",
        "t = object\nprint(vars(t) is None, 'x' in vars(t))",
    ),
    (
        "namespace returned",
        "def namespace(o):\n    return o.__dict__\nprint(namespace(object))",
        "__dict__ used as a value",
        "import json\nclass A:\n    def __init__(self):\n        self.x = 1\n"
        "a = A()\nprint(json.dumps(a, default=lambda o: o.__dict__), json.dumps(vars(a)['x']))",
    ),
    # -- private attributes (red team: validator_forwardref_evaluate.py and
    # validator_reporter_malformed_frame.py)
    (
        "ForwardRef._evaluate",
        "import typing\nref = typing.List[str(1)].__args__[0]\nref._evaluate({}, None, frozenset())",
        "access to attribute '_evaluate' is not allowed (typing's ForwardRef._evaluate() is eval()",
        "from collections import namedtuple\nP = namedtuple('P', 'x y')\np = P(1, 2)\n"
        "print(p._asdict(), p._replace(x=3), P._fields, P._make([1, 2]), P._field_defaults)",
    ),
    (
        "private of a library object",
        "import warnings\nw = warnings.catch_warnings()\nprint(w._module)",
        "access to attribute '_module' is not allowed (private library internals",
        "class Cache:\n    def __init__(self):\n        self._store = {}\n    def get(self, key):\n"
        "        return self._store.get(key)\n    def _evict(self):\n        self._store.clear()\n"
        "    def __eq__(self, other):\n        return self._store == other._store\n"
        "c = Cache()\nc._evict()\nprint(c._store, Cache._evict)",
    ),
    (
        "own private name on a library object",
        "import sys\nclass A:\n    _file = None\nstream = sys.stdout\nprint(stream._file)",
        "access to attribute '_file' is not allowed (private library internals",
        "class A:\n    _count = 0\n    @classmethod\n    def bump(cls):\n        cls._count += 1\n"
        "        return cls._count\nprint(A.bump(), A._count)",
    ),
    (
        "reporter",
        "import sys\nstream = sys.stdout\nstream._reporter.send({})",
        "access to attribute '_reporter' is not allowed (the sandbox's streams",
        "import sys\nstream = sys.stdout\nstream.write('x')\nstream.flush()",
    ),
    (
        "capability names even on own objects",
        "class A:\n    def _evaluate(self):\n        return 1\n    def run(self):\n"
        "        return self._evaluate()",
        "'_evaluate' is not allowed",
        "class A:\n    def _evaluation(self):\n        return 1\n    def run(self):\n"
        "        return self._evaluation()",
    ),
    (
        "private of a subclassed library class",
        "import warnings\nclass W(warnings.catch_warnings):\n    _module = None\n    def get(self):\n"
        "        return self._module",
        "access to attribute '_module' is not allowed",
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n    @classmethod\n"
        "    def _missing_(cls, value):\n"
        "        return cls.RED\nprint(Color(5), Color.RED._value_, Color.RED._name_)\n"
        "class Failure(Exception):\n    def __init__(self, why):\n        super().__init__(why)\n"
        "        self._why = why\n    def __str__(self):\n        return self._why",
    ),
    (
        "private by getattr",
        "import warnings\nprint(getattr(warnings.catch_warnings(), '_module'))",
        "getattr() of attribute '_module' is not allowed (private",
        "class A:\n    def __init__(self):\n        self._x = 1\n    def get(self):\n"
        "        return getattr(self, '_x')",
    ),
    (
        "private format field",
        "import sys\nprint('{0._reporter}'.format(sys.stdout))",
        "a format field reaching attribute '_reporter'",
        "from collections import namedtuple\nP = namedtuple('P', 'x')\nprint('{0._fields}'.format(P(1)))",
    ),
    (
        "__forward_code__",
        "import typing\ncode = typing.List['x'].__args__[0].__forward_code__",
        "'__forward_code__'",
        "import typing\nprint(typing.List['x'].__args__[0].__forward_arg__)",
    ),
    # -- an object's class (red team: validator_fileio_from_open.py)
    (
        "type(file)",
        "with open('/tmp/x', 'w') as f:\n    file_type = type(f.buffer)\nfile_type('/etc/passwd')",
        "type(x) used as a value is not allowed (calling an object's class",
        "x = 1\nprint(type(x).__name__, type(x) is int, type(x) == float, type(x) in (int, float), "
        "isinstance(x, type(x)), f'{type(x)}', {int: 'i'}[type(x)])",
    ),
    (
        "type() passed on",
        "def make(o, path):\n    return type(o)(path)",
        "type(x) used as a value",
        "class Vec:\n    def __init__(self, v):\n        self.v = v\n    def __add__(self, o):\n"
        "        return type(self)(self.v + o.v)\n    def copy(self):\n"
        "        return self.__class__(self.v)\n"
        "    @classmethod\n    def zero(cls):\n        return cls(0)",
    ),
    (
        "__class__ passed on",
        "f = open('/tmp/x')\ncls = f.__class__",
        "__class__ used as a value",
        "try:\n    1 / 0\nexcept Exception as e:\n    print(e.__class__.__name__, type(e).__qualname__)",
    ),
    (
        "type compared with a spy",
        "class Spy:\n    def __eq__(self, other):\n        return True\nf = open('/tmp/x')\n"
        "print(type(f) == Spy())",
        "type(x) used as a value",
        "class A:\n    def __eq__(self, other):\n"
        "        return type(other) is type(self) and type(other) == A",
    ),
    (
        "__class__ by name",
        "f = open('/tmp/x')\ncls = getattr(f, '__class__')",
        "getattr() of attribute '__class__'",
        "f = open('/tmp/x')\nprint(getattr(f, 'name'))",
    ),
    ("type alias", "t = type\nprint(t(1))", "type used as a value", "x = int\nprint(isinstance(x, type))"),
    (
        "metaclass",
        "class Meta(type):\n    pass",
        "type used as a value",
        "import abc\nclass A(abc.ABC):\n    pass",
    ),
    (
        "ABCMeta three arguments",
        "import abc\nX = abc.ABCMeta('X', (), {'__annotations__': {}})",
        "abc.ABCMeta() with argument 2",
        "import abc\nclass A(metaclass=abc.ABCMeta):\n    pass\nfrom abc import ABCMeta\n"
        "class B(metaclass=ABCMeta):\n    pass",
    ),
    (
        "raw file",
        "f = open('/tmp/x', 'rb')\nraw = f.raw",
        "access to attribute 'raw' is not allowed (a file's raw object is a FileIO",
        "class Record:\n    def __init__(self, raw):\n        self.raw = raw\nprint(Record('x').raw)",
    ),
    (
        "detach",
        "f = open('/tmp/x', 'rb')\nraw = f.detach()",
        "access to 'detach' is not allowed",
        "f = open('/tmp/x', 'rb')\ndata = f.read()",
    ),
    (
        "unbuffered",
        "f = open('/tmp/x', 'rb', buffering=0)",
        "open() with buffering 0 is not allowed",
        "f = open('/tmp/x', 'rb', buffering=4096)\ng = open('/tmp/y', 'rb', -1)",
    ),
    (
        "buffering computed",
        "n = 0\nf = open('/tmp/x', 'rb', n)",
        "open() with buffering computed at run time",
        "import tempfile\nf = tempfile.TemporaryFile(buffering=1024)",
    ),
    (
        "open unpacked",
        "args = ['/tmp/x', 'rb', 0]\nopen(*args)",
        "open() with unpacked arguments",
        "open('/tmp/x')",
    ),
    (
        "open through partial",
        "import functools\nwriter = functools.partial(open, '/tmp/x', 'w', opener=lambda path, flags: 3)",
        "open used as a value",
        "import functools\nwith open('/tmp/x', 'w') as f:\n"
        "    write = functools.partial(print, file=f)\n    write('x')",
    ),
    # -- str.format (red team: fence_format_attribute_walk.py)
    (
        "format template built at run time",
        "import random\nt = '{0.seed.ZZfuncZZ}'.replace('Z', '_')\nprint(t.format(random.Random()))",
        "format() with a template that is not a literal",
        "name, n = 'x', 3\nt = '{0.real} {1}'\nprint(t.format(n, name), '{} has {:03d}'.format(name, n), "
        "'{x}'.format(**{'x': 1}), list(map('{:>4}'.format, [1, 2])))",
    ),
    (
        "format_map template built at run time",
        "t = str(1)\nprint(t.format_map({}))",
        "format_map() with a template that is not a literal",
        "values = {'a': 1}\nprint('{a}'.format_map(values))",
    ),
    (
        "str.format of text",
        "t = str(1)\nprint(str.format(t, 1))",
        "format() with a template",
        "print(str.format('{}', 1))",
    ),
    (
        "Formatter template built at run time",
        "import string\nt = str(1)\nprint(string.Formatter().format(t, 1))",
        "format() with a template",
        "import string\nf = string.Formatter()\nprint(f.format('{0}', 1), f.vformat('{a}', (), {'a': 2}))",
    ),
    (
        "format by name",
        "t = str(1)\nprint(getattr(t, 'format')(1))",
        "getattr() of attribute 'format'",
        "print(getattr('x', 'upper')(), format(3.14159, '.2f'))",
    ),
    (
        "format method of a string given as a parameter",
        "class Page:\n    def format(self):\n        return ''\n    def render(self, template, value):\n"
        "        return template.format(value)",
        "format() with a template",
        "class Report:\n    def format(self, width):\n        return 'r'.ljust(width)\n"
        "print(Report().format(3))",
    ),
    # -- files outside /tmp through library helpers
    (
        "tempfile prefix",
        "import tempfile\ntempfile.mkstemp(prefix='/etc/cron.d/x')",
        "tempfile.mkstemp() with prefix '/etc/cron.d/x' is not allowed",
        "import tempfile\ntempfile.mkstemp(prefix='run_', suffix='.txt')",
    ),
    (
        "tempfile suffix computed",
        "import tempfile\nname = str(1)\ntempfile.NamedTemporaryFile(suffix=name)",
        "suffix computed at run time",
        "import tempfile\ntempfile.NamedTemporaryFile('w', suffix='.csv', delete=True)",
    ),
    (
        "tempfile dir computed",
        "import tempfile\nd = str(1)\ntempfile.mkdtemp(dir=d)",
        "tempfile.mkdtemp() with a directory computed at run time",
        "import tempfile\ntempfile.mkdtemp(dir=None)\ntempfile.TemporaryDirectory()",
    ),
    (
        "tempfile unpacked",
        "import tempfile\noptions = {'dir': '/etc'}\ntempfile.mkstemp(**options)",
        "tempfile.mkstemp() with unpacked arguments",
        "import tempfile\ntempfile.mkstemp(dir='/tmp/')",
    ),
    (
        "linecache through traceback",
        "import traceback\nprint(traceback.format_list([('/etc/passwd', 1, 'x', None)]))",
        "attribute 'traceback.format_list' is not allowed (it reads lines of any file",
        "import traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n"
        "    print(traceback.format_exc().splitlines()[-1])",
    ),
    (
        "linecache through warnings",
        "import warnings\nprint(warnings.formatwarning('m', UserWarning, '/etc/passwd', 1))",
        "attribute 'warnings.formatwarning' is not allowed (it reads lines of any file",
        "import warnings\nwarnings.simplefilter('ignore')\nwarnings.warn('careful')",
    ),
]


@pytest.mark.parametrize(
    ("rule", "attack", "expected", "benign"), RULES, ids=[f"{i}-{r[0]}" for i, r in enumerate(RULES)]
)
def test_rule_stops_attack_and_allows_near_miss(rule: str, attack: str, expected: str, benign: str) -> None:
    refused = check(attack)
    assert_well_formed(refused)
    assert refused["safe"] is False, rule
    assert any(expected in v for v in refused["violations"]), (rule, refused["violations"])
    allowed = check(benign)
    assert allowed == {"safe": True, "violations": []}, (rule, allowed)


# timeit is denied by default; a configuration may allow it, and its code-string rules must then hold.
TIMEIT_POLICY = Policy(
    allowed_modules=POLICY.allowed_modules | {"timeit"},
    denied_modules={k: v for k, v in POLICY.denied_modules.items() if k != "timeit"},
)
TIMEIT_RULES = [
    # (rule, attack, expected words in a violation); red team: validator_timeit_*.py
    ("text", "import timeit\ntimeit.timeit('1 + 1')", "timeit.timeit() with stmt given as text"),
    ("setup", "import timeit\ntimeit.timeit(lambda: 1, setup='import os')", "setup given as text"),
    ("starred", "import timeit\ns = 'import os'\ntimeit.timeit(*[s], number=1)", "with unpacked arguments"),
    ("kwargs", "import timeit\ntimeit.Timer(**{'stmt': 'import os'})", "with unpacked arguments"),
    (
        "rebound function name",
        "import timeit\ndef s():\n    pass\ns = 'import os'\ntimeit.timeit(s, number=1)",
        "stmt given as text",
    ),
    (
        "decorated function name",
        "import timeit\n@(lambda f: 'import os')\ndef s():\n    pass\ntimeit.timeit(s, number=1)",
        "stmt given as text",
    ),
    ("parameter", "import timeit\ndef run(s):\n    timeit.timeit(s, number=1)", "stmt given as text"),
    ("as a value", "import timeit\nt = timeit.timeit", "timeit.timeit used as a value"),
]


@pytest.mark.parametrize(("rule", "attack", "expected"), TIMEIT_RULES, ids=[r[0] for r in TIMEIT_RULES])
def test_timeit_allowed_by_configuration_still_refuses_code_text(
    rule: str, attack: str, expected: str
) -> None:
    assert check(attack)["safe"] is False  # denied by default
    refused = validator.check(attack, TIMEIT_POLICY)
    assert_well_formed(refused)
    assert any(expected in v for v in refused["violations"]), (rule, refused["violations"])


def test_timeit_allowed_by_configuration_runs_functions() -> None:
    code = (
        "import timeit\ndef work():\n    return 1\nwork_alias = lambda: 2\n"
        "timeit.timeit(work, number=1)\ntimeit.timeit(work_alias, number=1)\n"
        "timeit.repeat(lambda: 1, repeat=1, number=1)\ntimeit.Timer(stmt=work).timeit(1)\n"
    )
    assert validator.check(code, TIMEIT_POLICY) == {"safe": True, "violations": []}


def test_violation_names_the_right_line() -> None:
    code = "import json\n\nx = 1\nimport socket\nprint(json.dumps(x))\neval('2')\n"
    result = check(code)
    assert result["violations"] == [
        "line 4: import of 'socket' is not allowed (network access)",
        "line 6: eval is not allowed (dynamic code execution)",
    ]


def test_every_violation_is_reported_once_in_line_order() -> None:
    result = check("import os\nimport subprocess\nos.system('x')\neval('1')\nexec('2')\n")
    lines = [int(v.split(":")[0].split()[1]) for v in result["violations"]]
    assert lines == sorted(lines)
    assert len(result["violations"]) == len(set(result["violations"]))
    assert len(result["violations"]) == 4


def test_spec_examples_pass() -> None:
    for name in ("spec_date_converter", "spec_pipe_to_json", "spec_pentagonal"):
        assert check((CORPUS / "benign" / f"{name}.py").read_text(encoding="utf-8"))["safe"], name


# -- the contract: never raises, syntax errors are reported with their line ------------------------


def test_syntax_error_shape() -> None:
    result = check("x = 1\ndef broken(:\n    pass\n")
    assert result["safe"] is False
    assert result["syntax_error"] == "invalid syntax (line 2)"
    assert result["violations"] == ["line 2: syntax error: invalid syntax"]


def test_indentation_error_is_a_syntax_error() -> None:
    result = check("if True:\nprint(1)\n")
    assert result["syntax_error"].endswith("(line 2)")
    assert result["violations"][0].startswith("line 2: syntax error: ")


def test_null_byte_is_a_syntax_error_with_a_line() -> None:
    result = check("x = 1\ny = 2\x00\n")
    assert result["safe"] is False
    assert "null bytes" in result["syntax_error"]
    assert result["violations"] == [f"line 2: syntax error: {result['syntax_error'].rsplit(' (line', 1)[0]}"]


def test_lone_surrogate_is_refused() -> None:
    result = check("x = 1\ns = '\ud800'\n")
    assert_well_formed(result)
    assert result["safe"] is False
    assert result["violations"][0].startswith("line 2: syntax error:")


@pytest.mark.parametrize(
    "code",
    [
        "-" * 100_000 + "1",  # parser stack overflow (MemoryError)
        "1" + "+1" * 200_000,  # RecursionError while building the AST
        "(" * 500 + ")" * 500,  # too many nested parentheses
        "not " * 50_000 + "x",
    ],
    ids=["unary", "binop-chain", "parens", "not-chain"],
)
def test_deep_nesting_becomes_a_violation(code: str) -> None:
    result = check(code)
    assert_well_formed(result)
    assert result["safe"] is False


def test_deep_but_parseable_chain_is_checked_without_recursion() -> None:
    # A long flat chain parses fine; an escape hidden at its end must still be found.
    code = "x = " + " + ".join(["1"] * 2000) + "\ny = ().__class__.__mro__\n"
    result = check(code)
    assert result["violations"] == [
        "line 2: access to attribute '__mro__' is not allowed (introspection escape: it walks the class "
        "hierarchy to every class in the interpreter)"
    ]


def test_deeply_nested_containers_are_walked_without_recursion() -> None:
    assert check("x = " + "[" * 190 + "]" * 190)["safe"]
    hidden = "x = " + "[" * 190 + "().__class__.__bases__" + "]" * 190
    assert any("'__bases__'" in v for v in check(hidden)["violations"])


def test_huge_input_is_refused_without_parsing() -> None:
    result = check("x = 1\n" * (POLICY.max_code_chars // 6 + 1))
    assert result["safe"] is False
    assert result["violations"][0].startswith("line 1: code of ")
    assert "syntax_error" not in result


def test_large_data_literal_is_fine() -> None:
    data = ",".join(str(i) for i in range(50_000))
    assert check(f"data = '{data}'\nprint(len(data.split(',')))\n")["safe"]


def test_non_str_input_does_not_raise() -> None:
    result = validator.check(b"print(1)", POLICY)  # type: ignore[arg-type]
    assert result["safe"] is False
    assert_well_formed(result)


def test_empty_code_is_safe() -> None:
    assert check("") == {"safe": True, "violations": []}
    assert check("# only a comment\n") == {"safe": True, "violations": []}


def test_invalid_escape_sequence_is_not_a_syntax_error() -> None:
    # Python warns about '\d' in a plain string; with warnings as errors that must not become a SyntaxError.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check("import re\nre.compile('\\d+')\n")["safe"]


def test_random_garbage_never_raises() -> None:
    rng = random.Random(1234)
    alphabet = "abcxyz_()[]{}:.,'\"\\\n\t #=+-*/%@!<>|&^~0123456789\uff45\x00\u200b\ud800é€"
    fragments = [
        "import ",
        "from ",
        "lambda",
        "def ",
        "class ",
        "getattr(",
        "f'{",
        "__class__",
        "open(",
        "'{0.",
    ]
    for _ in range(400):
        parts = [
            rng.choice(fragments) if rng.random() < 0.2 else rng.choice(alphabet)
            for _ in range(rng.randint(0, 80))
        ]
        result = check("".join(parts))
        assert_well_formed(result)


def test_internal_error_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: object) -> list[str]:
        raise KeyError("boom")

    monkeypatch.setattr(validator._Rules, "run", explode)
    result = check("print(1)")
    assert result["safe"] is False
    assert result["violations"] == ["line 1: code the validator could not check is not allowed (KeyError)"]


def test_validator_reads_rules_from_the_policy() -> None:
    narrow = Policy(allowed_modules=frozenset({"math"}))
    assert validator.check("import json", narrow)["safe"] is False
    assert validator.check("import math", narrow)["safe"] is True
    relaxed = Policy(blocked_attributes=frozenset(), refused_names={}, blocked_builtins=frozenset())
    assert validator.check("object.__subclasses__()", relaxed)["safe"] is True
    assert validator.check("eval('1')", relaxed)["safe"] is True
