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
        "class A:\n    def __init__(self):\n        self.x = 1\n    def d(self):\n        return vars(self)",
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
        "timeit text",
        "import timeit\ntimeit.timeit('1 + 1')",
        "stmt given as text",
        "import timeit\ndef work():\n    return 1\n"
        "timeit.timeit(work, number=1)\ntimeit.timeit(lambda: 1, number=1)",
    ),
    (
        "timeit setup",
        "import timeit\ntimeit.timeit(lambda: 1, setup='import os')",
        "setup given as text",
        "import timeit\ntimeit.repeat(lambda: 1, repeat=1, number=1)",
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
