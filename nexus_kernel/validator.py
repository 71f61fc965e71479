"""AST security validator: refuses tool code that reaches beyond what the policy allows.

``check(code, policy)`` returns ``{"safe": bool, "violations": [...]}`` (plus ``"syntax_error"``
when the code does not parse). Every violation reads ``"line N: <what> is not allowed (<why>)"``.

How it works: one iterative pass over the AST (no recursion, so deep nesting cannot crash it)
buckets the nodes that matter -- names, attribute chains, calls, subscripts, imports, strings --
and notes their context (which node is called, which is the base of an attribute). The rules then
run over the buckets with whole-program knowledge: an import anywhere binds its name everywhere.

Some values cannot be followed once held, so they may only be used where they appear, in ways that
hand nothing back but keys, text or a truth value: a namespace (``vars(x)``, ``x.__dict__``),
``__annotations__``, an object's class (``type(x)``, ``x.__class__``, except ``type(self)`` in a
method). Private (``_x``) names are library internals except namedtuple's and Enum's API and the names
a tool defines and uses on its own objects (its classes, their instances, its methods' parameters).
The scan records every binding of every name, so "a name bound only to a literal / a def / an
instance of the tool's class" can be asked.

The validator is policy, not the boundary. It reads every rule from the ``Policy`` object and
errs on the side of refusing; the sandbox must still contain whatever slips past it. Known limit:
a method's parameters are trusted to hold the tool's own objects; a tool that passes a library
object in their place (``A.m(obj)``) reaches that object's private names that its class also
defines (the capability-bearing ones stay refused).
"""

from __future__ import annotations

import _string  # CPython's format-field parser: the same one str.format uses
import ast
import builtins
import posixpath
import re
import string
import unicodedata
import warnings
from typing import Any, NamedTuple

from .policy import Policy

_BUILTIN_NAMES = frozenset(vars(builtins))
_FORMATTER = string.Formatter()
# Node fields that never hold child nodes worth visiting (``ctx`` is a shared Load/Store marker).
_SKIP_FIELDS = frozenset(
    {"ctx", "id", "attr", "name", "arg", "module", "level", "kind", "type_comment", "conversion", "is_async"}
)
_FIELDS: dict[type, tuple[str, ...]] = {}
# Node classes the scan records something about (besides names, attributes, calls and strings).
_NOTED = frozenset(
    {
        ast.Subscript, ast.BinOp, ast.arg, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
        ast.Import, ast.ImportFrom, ast.ExceptHandler, ast.MatchAs, ast.MatchStar, ast.MatchMapping,
        ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.withitem, ast.Compare, ast.FormattedValue,
        ast.For, ast.AsyncFor, ast.comprehension,
    }
)  # fmt: skip
_PARAM = "param"  # the binding of a parameter of a function that is not a method
# Decorators after which a method's first parameter is still its instance (or class).
_INSTANCE_DECORATORS = frozenset(
    {"classmethod", "property", "abstractmethod", "cached_property", "setter", "getter", "deleter"}
)
# Decorators after which a class statement still binds that class.
_CLASS_DECORATORS = frozenset({"dataclass", "total_ordering", "unique"})
_FOLD_BUDGET = 64  # nodes visited when folding a string expression (bounds recursion depth)
_FOLD_MAX_LEN = 10_000  # longest folded string considered (no '"x" * 10**9' inside the validator)
_NAMESPACE_GETTERS = frozenset({"get", "pop", "setdefault", "__getitem__"})
_CLASS_GAME_CALLS = frozenset({"__setattr__", "__delattr__"})
_MUTATORS = frozenset(
    {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__", "__ior__"}
)
# Where a namespace (``vars(x)``, ``x.__dict__``), ``__annotations__`` or an object's class may appear:
# the uses that hand nothing back but keys, text or a truth value.
_KEY_CONSUMERS = frozenset(
    {"len", "sorted", "list", "set", "frozenset", "tuple", "iter", "print", "str", "repr", "format", "bool"}
)
_TEXT_FUNCTIONS = frozenset({"json.dumps", "json.dump", "pprint.pprint", "pprint.pformat", "pprint.pp"})
_NAMESPACE_METHODS = frozenset(
    {"get", "pop", "setdefault", "__getitem__", "keys", "update", "clear", "__contains__", "__len__",
     "__setitem__", "__delitem__"}
)  # fmt: skip
_ANNOTATION_METHODS = frozenset(
    {"get", "keys", "items", "values", "copy", "__contains__", "__len__", "__getitem__"}
)
_ANNOTATION_CONSUMERS = _KEY_CONSUMERS | {"dict", "enumerate", "reversed"}
_TYPE_CONSUMERS = frozenset(
    {"isinstance", "issubclass", "print", "str", "repr", "format", "bool", "id", "hash"}
)
_TYPE_ATTRIBUTES = frozenset({"__name__", "__qualname__", "__module__", "__doc__"})
_FORMAT_METHODS = frozenset({"format", "format_map", "vformat"})
_WATCHED_CALLS = frozenset({"vars", "type"})
_WATCHED_NAMES = frozenset({"__dict__", "__annotations__", "__class__", "type"})
_NAMED_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.ExceptHandler,
    ast.MatchAs,
    ast.MatchStar,
)
# traceback.format_exception(type(e), e, tb): they turn the class into text.
_EXCEPTION_FORMATTERS = frozenset(
    {"traceback.format_exception", "traceback.print_exception", "traceback.format_exception_only"}
)
_JSON_DEFAULT_TAKERS = frozenset({"json.dumps", "json.dump", "json.JSONEncoder"})
_MAX_POLICIES = 8
_compiled: dict[int, tuple[Policy, re.Pattern[str]]] = {}


def check(code: str, policy: Policy) -> dict[str, Any]:
    """Validate ``code`` against ``policy``; never raises.

    Returns ``{"safe": bool, "violations": [str, ...]}``. When the code does not parse, the result
    also holds ``"syntax_error": "<msg> (line N)"`` and its one violation is
    ``"line N: syntax error: <msg>"``.
    """
    try:
        return _check(code, policy)
    except RecursionError:
        return _refused("line 1: code nested too deeply to validate is not allowed (RecursionError)")
    except MemoryError:
        return _refused("line 1: code too large to validate is not allowed (MemoryError)")
    except Exception as exc:  # noqa: BLE001 - fail closed: what cannot be checked is refused
        return _refused(f"line 1: code the validator could not check is not allowed ({type(exc).__name__})")


def _refused(violation: str) -> dict[str, Any]:
    return {"safe": False, "violations": [violation]}


def _syntax_error(line: int, msg: str) -> dict[str, Any]:
    return {
        "safe": False,
        "violations": [f"line {line}: syntax error: {msg}"],
        "syntax_error": f"{msg} (line {line})",
    }


def _line_of(code: str, index: int) -> int:
    return code.count("\n", 0, max(index, 0)) + 1


def _check(code: str, policy: Policy) -> dict[str, Any]:
    if not isinstance(code, str):
        return _refused(f"line 1: code of type {type(code).__name__} is not allowed (it must be a str)")
    if len(code) > policy.max_code_chars:
        limit = policy.max_code_chars
        return _refused(f"line 1: code of {len(code)} characters is not allowed (the limit is {limit})")
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences warn; under ``-W error`` that would surface as a SyntaxError.
            warnings.simplefilter("ignore")
            tree = ast.parse(code, "<tool>")
    except SyntaxError as exc:
        line = exc.lineno or (_line_of(code, code.find("\0")) if "\0" in code else 1)
        return _syntax_error(line, exc.msg)
    except UnicodeError as exc:  # a lone surrogate cannot be encoded, so it could not be run either
        line = _line_of(code, getattr(exc, "start", 0))
        return _syntax_error(line, "the code contains a lone surrogate (not valid Unicode)")
    except ValueError as exc:  # Python 3.10: "source code string cannot contain null bytes"
        return _syntax_error(_line_of(code, code.find("\0")), str(exc))
    except RecursionError:
        return _refused("line 1: code nested too deeply to parse is not allowed (RecursionError)")
    except MemoryError:
        return _refused("line 1: code nested too deeply to parse is not allowed (parser stack overflow)")
    violations = _Rules(policy, _Scan(tree)).run()
    return {"safe": not violations, "violations": violations}


def _norm(text: str) -> str:
    """The NFKC form of a string, as Python uses for identifiers (fullwidth ``eval`` is ``eval``).

    Identifiers in the AST are already normalised by the parser (PEP 3131); strings are not, and
    a string becomes an attribute name through getattr() or a format field.
    """
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _private(name: str) -> bool:
    return name.startswith("_") and not _dunder(name)


def _blocked_pattern(policy: Policy) -> re.Pattern[str]:
    """A regex finding blocked attribute names inside string literals (cached per policy)."""
    entry = _compiled.get(id(policy))
    if entry is not None and entry[0] is policy:
        return entry[1]
    names = sorted(policy.blocked_attributes, key=len, reverse=True)
    alternatives = "|".join(re.escape(n) for n in names) or r"(?!x)x"
    pattern = re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])")
    if len(_compiled) >= _MAX_POLICIES:
        _compiled.clear()
    _compiled[id(policy)] = (policy, pattern)  # holds the policy, so its id cannot be reused
    return pattern


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of node class ``cls`` that may hold nodes; none for non-nodes (None, str, bool)."""
    names = cls._fields if issubclass(cls, ast.AST) else ()
    fields = _FIELDS[cls] = tuple(f for f in names if f not in _SKIP_FIELDS)
    return fields


class _Scan:
    """One iterative pass over the tree: the nodes each rule needs, and their context."""

    def __init__(self, tree: ast.AST) -> None:
        self.names: list[ast.Name] = []
        self.attributes: list[ast.Attribute] = []
        self.calls: list[ast.Call] = []
        self.subscripts: list[ast.Subscript] = []
        self.imports: list[ast.Import | ast.ImportFrom] = []
        self.strings: list[ast.Constant] = []
        self.binops: list[ast.BinOp] = []
        self.bound: set[str] = set()  # names the code binds itself (not by import)
        self.functions: set[str] = set()  # names of functions the code defines
        self.callees: set[int] = set()  # id() of nodes in call position
        self.bases: set[int] = set()  # id() of nodes that are the base of an attribute
        self.inner_binops: set[int] = set()  # id() of operands of a BinOp
        # Every binding of each name the code binds (in any scope): the value node (an assignment's
        # value, a def or class statement, a with item's context), a parameter marker, or None.
        self.bindings: dict[str, list[Any]] = {}
        self._explained: set[int] = set()  # Name targets whose binding is recorded with its value
        self.method_args: dict[int, _MethodParam] = {}  # id(arg) of a method's parameter -> binding
        self.class_attributes: set[str] = set()  # names a class body defines (and __slots__ lists)
        self.attribute_stores: list[ast.Attribute] = []  # ``x.a = ...`` and ``del x.a``
        self.compares: list[ast.Compare] = []
        self.formatted: list[ast.FormattedValue] = []
        self.iters: list[Any] = []  # what for loops and comprehensions iterate over
        self.class_keywords: set[int] = set()  # id() of ``metaclass=...`` values of class statements
        self.methods: list[Any] = []  # defs directly in class bodies, outer classes first
        self._walk(tree)

    def _walk(self, tree: ast.AST) -> None:
        # The hot loop (every node of the program): locals, identity checks, an explicit stack.
        names, attributes, calls, strings = self.names, self.attributes, self.calls, self.strings
        bound, callees, bases = self.bound, self.callees, self.bases
        name_cls, attribute_cls, call_cls, constant_cls = ast.Name, ast.Attribute, ast.Call, ast.Constant
        load_cls, store_cls, noted, fields_of = ast.Load, ast.Store, _NOTED, _FIELDS
        explained = self._explained
        stack: list[Any] = [tree]
        pop, push, extend = stack.pop, stack.append, stack.extend
        while stack:
            node = pop()
            cls = node.__class__
            if cls is name_cls:
                names.append(node)
                ctx = node.ctx.__class__
                if ctx is not load_cls:
                    bound.add(node.id)
                    if ctx is store_cls and id(node) not in explained:
                        self.bind(node.id, None)  # a for target, an unpacking, an augmented assignment
                continue
            if cls is constant_cls:
                if isinstance(node.value, (str, bytes)):
                    strings.append(node)
                continue
            if cls is attribute_cls:
                attributes.append(node)
                bases.add(id(node.value))
                if node.ctx.__class__ is not load_cls:
                    self.attribute_stores.append(node)
            elif cls is call_cls:
                calls.append(node)
                callees.add(id(node.func))
            elif cls in noted and self._note(node, cls):
                continue
            fields = fields_of.get(cls)
            if fields is None:
                fields = _child_fields(cls)
            for field in fields:
                value = getattr(node, field)
                if value.__class__ is list:
                    extend(value)  # items that are not nodes (None, str) are popped and skipped
                elif value is not None:
                    push(value)

    def bind(self, name: str, value: Any) -> None:
        bindings = self.bindings.get(name)
        if bindings is None:
            self.bindings[name] = [value]
        else:
            bindings.append(value)

    def _bind_target(self, target: Any, value: Any) -> None:
        if target.__class__ is ast.Name:
            self._explained.add(id(target))
            self.bind(target.id, value)

    def _note(self, node: Any, cls: type) -> bool:
        """Record what a rule needs from ``node``; True when its children need no visit."""
        if cls is ast.Subscript:
            self.subscripts.append(node)
        elif cls is ast.BinOp:
            self.binops.append(node)
            self.inner_binops.add(id(node.left))
            self.inner_binops.add(id(node.right))
        elif cls is ast.Assign:
            for target in node.targets:
                self._bind_target(target, node.value)
        elif cls is ast.Compare:
            self.compares.append(node)
        elif cls is ast.FormattedValue:
            self.formatted.append(node)
        elif cls is ast.For or cls is ast.AsyncFor or cls is ast.comprehension:
            self.iters.append(node.iter)
        elif cls is ast.AnnAssign:
            if node.value is None:
                self._explained.add(id(node.target))  # ``x: int`` alone binds nothing
            else:
                self._bind_target(node.target, node.value)
        elif cls is ast.NamedExpr:
            self._bind_target(node.target, node.value)
        elif cls is ast.withitem:
            if node.optional_vars is not None:
                self._bind_target(node.optional_vars, node.context_expr)
        elif cls is ast.arg:
            self.bound.add(node.arg)
            self.bind(node.arg, self.method_args.get(id(node), _PARAM))
        elif cls is ast.FunctionDef or cls is ast.AsyncFunctionDef:
            self.bound.add(node.name)
            self.functions.add(node.name)
            self.bind(node.name, node)
        elif cls is ast.ClassDef:
            self.bound.add(node.name)
            self.bind(node.name, node)
            self._class_body(node)
        elif cls is ast.Import or cls is ast.ImportFrom:
            self.imports.append(node)
            return True
        elif cls is ast.MatchMapping:
            if node.rest:
                self.bound.add(node.rest)
        elif node.name:  # ExceptHandler, MatchAs, MatchStar
            self.bound.add(node.name)
            self.bind(node.name, None)
        return False

    def _class_body(self, node: ast.ClassDef) -> None:
        """The names a class defines, and the parameters of its methods (``self`` marked as such)."""
        names = self.class_attributes
        self.class_keywords.update(id(k.value) for k in node.keywords)
        for statement in node.body:
            kind = statement.__class__
            if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                names.add(statement.name)
                self.methods.append(statement)
                arguments = statement.args
                ordered = [*arguments.posonlyargs, *arguments.args]
                every = [*ordered, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
                for arg in every:
                    if arg is not None:
                        self.method_args[id(arg)] = _MethodParam(node, False)
                if ordered and all(
                    _decorator_name(d) in _INSTANCE_DECORATORS for d in statement.decorator_list
                ):
                    self.method_args[id(ordered[0])] = _MethodParam(node, True)
            elif kind is ast.ClassDef:
                names.add(statement.name)
            elif kind is ast.Assign or kind is ast.AnnAssign:
                targets = statement.targets if kind is ast.Assign else [statement.target]
                for target in targets:
                    if target.__class__ is ast.Name:
                        names.add(target.id)
                        if target.id == "__slots__" and statement.value is not None:
                            names.update(_literal_strings(statement.value))


class _MethodParam(NamedTuple):
    """The binding of a parameter of a method (a def directly in a class body)."""

    owner: ast.ClassDef
    first: bool  # the instance (or class) parameter: ``self``, ``cls``


def _unpacks(call: ast.Call) -> bool:
    """``f(*args)`` or ``f(**kwargs)``: arguments the validator cannot see."""
    return any(a.__class__ is ast.Starred for a in call.args) or any(k.arg is None for k in call.keywords)


def _none(node: Any) -> bool:
    return node.__class__ is ast.Constant and node.value is None


def _int_literal(node: Any) -> int | None:
    """The value of ``5`` or ``-1``; None for anything else (a bool is not a size)."""
    sign = 1
    if node.__class__ is ast.UnaryOp and node.op.__class__ is ast.USub:
        sign, node = -1, node.operand
    if node.__class__ is ast.Constant and node.value.__class__ is int:
        return sign * node.value
    return None


def _decorator_name(node: Any) -> str | None:
    """The last name of a decorator: ``property``, ``x.setter``, ``dataclass(frozen=True)``."""
    if node.__class__ is ast.Call:
        node = node.func
    if node.__class__ is ast.Name:
        return node.id
    if node.__class__ is ast.Attribute:
        return node.attr
    return None


def _literal_strings(node: Any) -> list[str]:
    """The strings of a literal ``"a"`` or ``("a", "b")`` (``__slots__``)."""
    items = node.elts if node.__class__ in (ast.Tuple, ast.List, ast.Set) else [node]
    return [i.value for i in items if i.__class__ is ast.Constant and isinstance(i.value, str)]


class _Rules:
    """The rules, run over one scan. Each finding becomes one ``line N: ...`` violation."""

    def __init__(self, policy: Policy, scan: _Scan) -> None:
        self.policy = policy
        self.scan = scan
        self.pattern = _blocked_pattern(policy)
        self.imported: dict[str, str] = {}  # local name -> qualified name, for every import binding
        self.modules: set[str] = set()  # local names bound to a module object
        self.consumed: set[int] = set()  # string constants already judged by a specific rule
        self.found: list[tuple[int, int, str]] = []
        self._own: set[str] | None = None  # attribute names the tool defines on its own objects
        self._method_names: dict[int, Any] | None = None  # id(Name) -> binding of its method's parameter
        self._safe_classes: dict[int, bool] = {}
        self._calls_by_func: dict[int, ast.Call] | None = None

    def run(self) -> list[str]:
        self._imports()
        self._calls()  # before strings: it marks the literals it judges itself
        self._subscripts()
        self._names()
        self._attributes()
        self._value_uses()
        self._registrations()
        self._format_calls()
        self._strings()
        self.found.sort(key=lambda item: (item[0], item[1]))
        seen: set[str] = set()
        out: list[str] = []
        for line, _col, text in self.found:
            message = f"line {line}: {text}"
            if message not in seen:
                seen.add(message)
                out.append(message)
        return out

    def add(self, node: Any, text: str) -> None:
        self.found.append((getattr(node, "lineno", 1) or 1, getattr(node, "col_offset", 0) or 0, text))

    # -- imports ---------------------------------------------------------------------------------

    def _imports(self) -> None:
        for node in self.scan.imports:
            if isinstance(node, ast.Import):
                self._import(node)
            elif node.level:
                self.add(node, "relative import is not allowed (a tool is a single file, not a package)")
            else:
                self._import_from(node)

    def _import(self, node: ast.Import) -> None:
        policy = self.policy
        for alias in node.names:
            name = alias.name
            if not policy.module_allowed(name):
                self.add(node, f"import of '{name}' is not allowed ({policy.module_refusal(name)})")
            elif any(_private(part) for part in name.split(".")):
                self.add(node, f"import of '{name}' is not allowed (private library internals)")
            local = alias.asname or name.split(".")[0]
            self.imported[local] = name if alias.asname else local
            self.modules.add(local)

    def _import_from(self, node: ast.ImportFrom) -> None:
        policy = self.policy
        module = node.module or ""
        names = [alias.name for alias in node.names]
        # ``from xml.etree import ElementTree`` is fine when every imported name is an allowed module.
        if not policy.module_allowed(module) and (
            "*" in names or not all(policy.module_allowed(f"{module}.{n}") for n in names)
        ):
            self.add(node, f"import from '{module}' is not allowed ({policy.module_refusal(module)})")
        elif any(_private(part) for part in module.split(".")):
            self.add(node, f"import from '{module}' is not allowed (private library internals)")
        for alias in node.names:
            if alias.name == "*":
                continue
            problem = self._member_problem(module, alias.name)
            if problem:
                self.add(node, f"import of '{alias.name}' from '{module}' is not allowed ({problem})")
            qualified = f"{module}.{alias.name}"
            local = alias.asname or alias.name
            self.imported[local] = qualified
            if qualified in policy.allowed_modules:
                self.modules.add(local)

    def _member_problem(self, owner: str, name: str) -> str | None:
        """Why ``owner.name`` is refused, where ``owner`` is a qualified name from an import."""
        policy = self.policy
        qualified = f"{owner}.{name}"
        if owner == "sys":
            if name in policy.sys_attributes:
                return None
            offered = ", ".join(sorted(a for a in policy.sys_attributes if not _dunder(a)))
            return f"the sandbox's sys provides only {offered}"
        if qualified in policy.refused_functions:
            return policy.refused_functions[qualified]
        if name in policy.blocked_attributes or name in policy.module_attributes:
            return policy.attribute_reason(name)
        if _private(name):
            return "private library internals can hold modules the policy denies"
        bare = name.lstrip("_")
        if bare == "sys" or (policy.is_library_module(bare) and not policy.module_allowed(bare)):
            what = "the real sys, not the sandbox's" if bare == "sys" else policy.module_refusal(bare)
            return f"it is the module '{bare}': {what}"
        return None

    # -- names -----------------------------------------------------------------------------------

    def _checked_function(self, qualified: str) -> bool:
        """Functions whose calls the rules inspect: they may only be called directly."""
        policy = self.policy
        return (
            qualified in policy.attribute_functions
            or qualified in policy.namespace_functions
            or qualified in policy.code_string_arguments
            # functools.partial(open, path, opener=...) would hide the arguments checked here
            or qualified in policy.path_arguments
            or qualified in policy.name_part_arguments
            or qualified in policy.buffering_arguments
            or (qualified in policy.refused_arguments and qualified not in _BUILTIN_NAMES)
        )

    def _qualified(self, node: Any) -> str | None:
        """``a.b.c`` -> the qualified name when ``a`` is imported, or a builtin's own name."""
        parts: list[str] = []
        while node.__class__ is ast.Attribute:
            parts.append(node.attr)
            node = node.value
        if node.__class__ is not ast.Name:
            return None
        root = node.id
        if root in self.imported:
            base = self.imported[root]
        elif root in _BUILTIN_NAMES and (root not in self.scan.bound or self._checked_function(root)):
            # A checked builtin stays checked when rebound: ``def f(getattr=getattr)`` hides nothing.
            base = root
        else:
            return None
        parts.append(base)
        return ".".join(reversed(parts))

    def _names(self) -> None:
        policy, scan, imported = self.policy, self.scan, self.imported
        refused = policy.refused_names
        watched = {local for local, qualified in imported.items() if self._checked_function(qualified)}
        watched.update(n for n in _BUILTIN_NAMES if n not in imported and self._checked_function(n))
        load_cls = ast.Load
        for node in scan.names:
            name = node.id
            loading = node.ctx.__class__ is load_cls
            if name in refused and (loading or _dunder(name)):
                self.add(node, f"{name} is not allowed ({refused[name]})")
                continue
            if not loading:
                if name in policy.write_protected_attributes and node.ctx.__class__ is ast.Store:
                    reason = policy.write_protected_attributes[name]
                    self.add(node, f"assignment to '{name}' is not allowed ({reason})")
                continue
            own = name in scan.bound or name in imported
            if name in policy.blocked_builtins and not own:
                reason = policy.builtin_reasons.get(name, "it is removed from the sandbox's builtins")
                self.add(node, f"{name}() is not allowed ({reason})")
            elif name in self.modules and id(node) not in scan.bases:
                self.add(
                    node,
                    f"module '{name}' used as a value is not allowed (only its attributes may be used: "
                    "a module handed around hides which of its parts are reached)",
                )
            elif not own and (
                name in policy.module_attributes
                or (policy.is_library_module(name) and not policy.module_allowed(name))
            ):
                # Never defined by the tool: it could only come from a star import of a library module.
                self.add(node, f"the name '{name}' is not allowed (the module '{name}' is not available)")
            elif name in policy.blocked_attributes and _dunder(name):
                self.add(node, f"the name '{name}' is not allowed ({policy.attribute_reason(name)})")
            elif name in watched and id(node) not in scan.callees:
                self._as_value(node)

    def _as_value(self, node: Any) -> None:
        if id(node) in self.scan.class_keywords:
            return  # class A(metaclass=abc.ABCMeta): Python calls it with the class statement's parts
        qualified = self._qualified(node)
        if qualified is not None and self._checked_function(qualified):
            self.add(
                node,
                f"{qualified} used as a value is not allowed (its calls are checked only when it is "
                "called directly)",
            )

    # -- attributes ------------------------------------------------------------------------------

    def _attributes(self) -> None:
        policy, scan = self.policy, self.scan
        for node in scan.attributes:
            attr = node.attr
            flagged = attr in policy.module_attributes or (
                attr in policy.blocked_attributes
                and not (attr == "__dict__" and self._plain_variable(node.value))
            )
            if flagged:
                reason = policy.attribute_reason(attr)
                self.add(node, f"access to attribute '{attr}' is not allowed ({reason})")
            writing = node.ctx.__class__ is not ast.Load
            if writing and attr in policy.write_protected_attributes:
                reason = policy.write_protected_attributes[attr]
                self.add(node, f"assignment to '{attr}' is not allowed ({reason})")
            if attr in policy.refused_methods:
                self.add(node, f"access to '{attr}' is not allowed ({policy.refused_methods[attr]})")
            if (
                not flagged
                and (attr[0] == "_" or attr in policy.internal_attributes)
                and not self._rooted(node)
            ):
                problem = self._internal_problem(attr, node.value)
                if problem:
                    self.add(node, f"access to attribute '{attr}' is not allowed ({problem})")
            if id(node) in scan.bases:
                continue  # an inner link: the outermost attribute of the chain judges the chain
            if not flagged:
                qualified = self._chain(node, writing)
                if qualified and id(node) not in scan.callees and self._checked_function(qualified):
                    self._as_value(node)

    def _plain_variable(self, node: Any) -> bool:
        """A variable of the tool's own (``self``, ``other``): not a module, a builtin or an expression."""
        if node.__class__ is not ast.Name:
            return False
        name = node.id
        if name in self.imported:
            return False
        return name in self.scan.bound or name not in _BUILTIN_NAMES

    def _chain(self, node: ast.Attribute, writing: bool) -> str | None:
        """``module.a.b``: each step from an imported name must be public and hold no denied module.

        Returns the qualified name of an import-rooted chain that passed, else None.
        """
        parts: list[str] = []
        cur: Any = node
        while cur.__class__ is ast.Attribute:
            parts.append(cur.attr)
            cur = cur.value
        if cur.__class__ is not ast.Name or cur.id not in self.imported:
            return None
        parts.reverse()
        policy = self.policy
        owner = self.imported[cur.id]
        for index, attr in enumerate(parts):
            if attr in policy.blocked_attributes or attr in policy.module_attributes:
                return None  # reported by the per-attribute rule
            problem = self._member_problem(owner, attr)
            if (
                problem is None
                and attr in ("__new__", "__call__", "__init__")
                and self._checked_function(owner)
            ):
                problem = "its calls are checked only when it is called directly"
            if problem:
                self.add(node, f"attribute '{owner}.{attr}' is not allowed ({problem})")
                return None
            last = index == len(parts) - 1
            if writing and last and not (owner == "sys" and attr in policy.sys_attributes):
                self.add(
                    node,
                    f"assignment to '{owner}.{attr}' is not allowed (it changes library state; "
                    "keep your own variables instead)",
                )
            owner = f"{owner}.{attr}"
        return owner

    # -- calls -----------------------------------------------------------------------------------

    def _calls(self) -> None:
        policy = self.policy
        for call in self.scan.calls:
            self._method_call(call)
            qualified = self._qualified(call.func)
            if qualified is None:
                continue
            if qualified in policy.attribute_functions:
                self._attribute_function(call, qualified)
            if qualified == "vars" and call.args and "vars" in policy.namespace_functions:
                self._vars_argument(call)
            for position, keyword, reason in policy.refused_arguments.get(qualified, ()):
                if self._argument(call, position, keyword) is not None:
                    shown = f"argument '{keyword}'" if keyword else f"argument {position + 1}"
                    self.add(call, f"{qualified}() with {shown} is not allowed ({reason})")
            guarded = (
                qualified in policy.path_arguments
                or qualified in policy.name_part_arguments
                or qualified in policy.buffering_arguments
            )
            if guarded and _unpacks(call):
                self.add(
                    call,
                    f"{qualified}() with unpacked arguments is not allowed (its path, name and buffering "
                    "arguments must be visible)",
                )
                continue
            if qualified in policy.path_arguments:
                self._path_argument(call, qualified)
            if qualified in policy.name_part_arguments:
                self._name_parts(call, qualified)
            if qualified in policy.buffering_arguments:
                self._buffering(call, qualified)
            if qualified in policy.code_string_arguments:
                self._code_arguments(call, qualified)

    @staticmethod
    def _argument(call: ast.Call, position: int, keyword: str) -> Any:
        """The argument at ``position`` or named ``keyword`` (empty: positional only), else None."""
        args = call.args
        if len(args) > position and not any(isinstance(a, ast.Starred) for a in args[: position + 1]):
            return args[position]
        if keyword:
            for kw in call.keywords:
                if kw.arg == keyword:
                    return kw.value
        return None

    def _literal(self, node: Any) -> str | None:
        """The string ``node`` always evaluates to (literals, ``+``, ``*``, join, slices), else None."""
        if node.__class__ is ast.Constant:
            self.consumed.add(id(node))
        return self._fold(node)

    def _attribute_function(self, call: ast.Call, qualified: str) -> None:
        short = qualified.rsplit(".", 1)[-1]
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            self.add(call, f"{short}() with unpacked arguments is not allowed (the name must be a literal)")
            return
        if short == "attrgetter":
            targets = call.args
        elif short == "methodcaller":
            targets = call.args[:1]
        else:
            targets = call.args[1:2]
        for target in targets:
            name = self._literal(target)
            if name is None:
                self.add(
                    call,
                    f"{short}() with a computed attribute name is not allowed (it could reach blocked "
                    "attributes; write the name as a literal)",
                )
                continue
            name = _norm(name)
            base = call.args[0] if short not in ("attrgetter", "methodcaller") and call.args else None
            for part in name.split(".") if short == "attrgetter" else [name]:
                problem = self._attribute_name_problem(
                    part, writes=short in ("setattr", "delattr"), base=base
                )
                if problem:
                    self.add(call, f"{short}() of attribute '{part}' is not allowed ({problem})")
                base = None  # attrgetter('a.b'): past the first step the object is unknown

    def _attribute_name_problem(self, name: str, writes: bool = False, base: Any = None) -> str | None:
        policy = self.policy
        if name in policy.blocked_attributes or name in policy.module_attributes:
            return policy.attribute_reason(name)
        if writes and _dunder(name):
            return "changing an object's class or special methods is an escape technique"
        if name in policy.write_protected_attributes:
            return f"it hands out a reference to change; {policy.write_protected_attributes[name]}"
        if name in _FORMAT_METHODS:
            return "str.format() reached by name could run a template built at run time"
        if name == "__class__" and not writes and not self._self_like(base):
            return "an object's class is only read in place: type(x).__name__, isinstance()"
        if name == "register" and self._dispatch_in_use():
            return "singledispatch's register() evaluates annotations unless called as @f.register(SomeClass)"
        if name[:1] == "_" or name in policy.internal_attributes:
            return self._internal_problem(name, base)
        return None

    def _vars_argument(self, call: ast.Call) -> None:
        if not self._plain_variable(call.args[0]):
            self.add(
                call,
                "vars() of a module, a type or an expression is not allowed (it exposes internal "
                "namespaces; vars(self) or vars(some_variable) is fine)",
            )

    def _namespace_source(self, node: Any) -> str | None:
        """``globals()``/``locals()``/``vars(x)`` or ``x.__dict__``: a namespace dict, named for messages."""
        if node.__class__ is ast.Call:
            qualified = self._qualified(node.func)
            if qualified in self.policy.namespace_functions:
                return f"{qualified}()"
        elif node.__class__ is ast.Attribute and node.attr == "__dict__":
            return "__dict__"
        return None

    @staticmethod
    def _namespace_owner(node: Any) -> Any:
        """The object whose namespace ``vars(x)``/``x.__dict__`` is (None for globals() and locals())."""
        if node.__class__ is ast.Attribute:
            return node.value
        return node.args[0] if node.args else None

    def _namespace_key(self, node: Any, key: Any, source: str, base: Any = None) -> None:
        policy = self.policy
        name = self._literal(key)
        if name is None:
            self.add(
                node, f"indexing {source} with a computed key is not allowed (it could reach blocked names)"
            )
            return
        name = _norm(name)
        if name in policy.blocked_attributes or name in policy.module_attributes:
            self.add(node, f"{source}['{name}'] is not allowed ({policy.attribute_reason(name)})")
        elif name in policy.refused_names or name in policy.blocked_builtins:
            self.add(node, f"{source}['{name}'] is not allowed (it reaches a refused builtin)")
        elif base is not None:  # vars(x)['name'] is x.name
            problem = self._attribute_name_problem(name, base=base)
            if problem:
                self.add(node, f"{source}['{name}'] is not allowed ({problem})")

    def _subscripts(self) -> None:
        for node in self.scan.subscripts:
            if node.ctx.__class__ is ast.Load:
                source = self._namespace_source(node.value)
                if source:
                    self._namespace_key(node, node.slice, source, self._namespace_owner(node.value))
            else:
                self._protected_mutation(node, node.value)

    def _protected_mutation(self, node: Any, target: Any) -> None:
        """``f.__annotations__["x"] = ...`` or ``f.__annotations__.update(...)``: a write in disguise."""
        if target.__class__ is ast.Attribute and target.attr in self.policy.write_protected_attributes:
            reason = self.policy.write_protected_attributes[target.attr]
            self.add(node, f"changing '{target.attr}' is not allowed ({reason})")

    def _method_call(self, call: ast.Call) -> None:
        func = call.func
        if func.__class__ is not ast.Attribute:
            return
        method = func.attr
        if method in _MUTATORS:
            self._protected_mutation(call, func.value)
        if method in _NAMESPACE_GETTERS and call.args:
            source = self._namespace_source(func.value)
            if source:
                self._namespace_key(call, call.args[0], source, self._namespace_owner(func.value))
        elif method in _CLASS_GAME_CALLS:
            # object.__setattr__(obj, name, value) or super().__setattr__(name, value). A computed name
            # is allowed: overriding __setattr__ needs it, and a write reads nothing back.
            literal = [n for n in (self._literal(a) for a in call.args[:2]) if n is not None]
            for name in literal:
                problem = self._attribute_name_problem(_norm(name), writes=True)
                if problem:
                    self.add(call, f"{method}() of '{name}' is not allowed ({problem})")

    def _path_argument(self, call: ast.Call, qualified: str) -> None:
        position, keyword = self.policy.path_arguments[qualified]
        arg = self._argument(call, position, keyword)
        if arg is None:
            return
        scratch = self.policy.scratch_dir.rstrip("/")
        if arg.__class__ is ast.Constant and isinstance(arg.value, int) and not isinstance(arg.value, bool):
            self.add(
                call,
                f"{qualified}() of file descriptor {arg.value} is not allowed (only files under {scratch} "
                "may be opened)",
            )
            return
        pieces = self._path_pieces(arg)
        creates = qualified.startswith("tempfile.")
        if creates and (pieces is None or not pieces[2]) and not _none(arg) and not self._temporary_dir(arg):
            # tempfile creates its files with os.open(), not the guarded open(): only a literal is sure.
            self.add(
                call,
                f"{qualified}() with a directory computed at run time is not allowed (tempfile creates "
                f"files itself, outside the guarded open(); write it as a literal under {scratch}, or "
                "leave it out)",
            )
            return
        if pieces is None:
            return  # computed at run time: the sandbox's guarded open() decides
        prefix, literal_parts, complete = pieces
        shown = prefix if complete else prefix + "..."
        if any(".." in part.split("/") for part in literal_parts):
            self.add(
                call, f"{qualified}() of path '{shown}' is not allowed ('..' leaves the scratch directory)"
            )
            return
        if not prefix.startswith("/"):
            return  # relative: the sandbox resolves it inside the scratch directory
        normal = "/" + (posixpath.normpath(prefix) if complete else prefix).lstrip("/")
        if complete:
            inside = normal == scratch or normal.startswith(scratch + "/")
        else:  # only the start is known: refuse what cannot end up under the scratch directory
            inside = normal.startswith(scratch) or scratch.startswith(normal)
        if not inside:
            self.add(
                call,
                f"{qualified}() of path '{shown}' is not allowed (tools may only use files under {scratch})",
            )

    def _temporary_dir(self, node: Any) -> bool:
        """A directory tempfile made (``with TemporaryDirectory() as d``), itself checked, or gettempdir()."""
        makers = ("tempfile.mkdtemp", "tempfile.TemporaryDirectory", "tempfile.gettempdir")
        if node.__class__ is ast.Call:
            return self._qualified(node.func) in makers
        if node.__class__ is not ast.Name or node.id in self.imported:
            return False
        bindings = self.scan.bindings.get(node.id)
        return bool(bindings) and all(
            b.__class__ is ast.Call and self._qualified(b.func) in makers for b in bindings
        )

    def _path_pieces(self, node: Any) -> tuple[str, list[str], bool] | None:
        """(known leading text, every literal piece, whether the leading text is the whole path)."""
        if node.__class__ is ast.Constant and isinstance(node.value, (str, bytes)):
            value = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
            return value, [value], True
        if node.__class__ is ast.JoinedStr:
            literals = [v.value for v in node.values if v.__class__ is ast.Constant]
            prefix = ""
            for v in node.values:
                if v.__class__ is not ast.Constant:
                    break
                prefix += v.value
            return prefix, literals, len(literals) == len(node.values)
        if node.__class__ is ast.BinOp and isinstance(node.op, ast.Add):
            folded = self._fold(node)
            if folded is not None:
                return folded, [folded], True
            if node.left.__class__ is not ast.BinOp:
                left = self._path_pieces(node.left)
                if left is not None:
                    return left[0], left[1], False
        return None

    def _name_parts(self, call: ast.Call, qualified: str) -> None:
        for position, keyword in self.policy.name_part_arguments[qualified]:
            arg = self._argument(call, position, keyword)
            if arg is None or _none(arg):
                continue
            text = self._fold(arg)
            if text is None or "/" in text or "\0" in text:
                shown = "computed at run time" if text is None else f"'{text}'"
                self.add(
                    call,
                    f"{qualified}() with {keyword} {shown} is not allowed (the name is joined to the "
                    "directory: a '/' in it leaves the directory; write it as literal text without '/')",
                )

    def _buffering(self, call: ast.Call, qualified: str) -> None:
        position, keyword = self.policy.buffering_arguments[qualified]
        arg = self._argument(call, position, keyword)
        if arg is None:
            return
        value = _int_literal(arg)
        if value is None or value == 0:
            shown = "0" if value == 0 else "computed at run time"
            self.add(
                call,
                f"{qualified}() with buffering {shown} is not allowed (an unbuffered file is a FileIO, "
                "whose type opens any path; leave buffering out or give a literal size)",
            )

    def _code_arguments(self, call: ast.Call, qualified: str) -> None:
        if _unpacks(call):
            self.add(
                call,
                f"{qualified}() with unpacked arguments is not allowed (its statement must be visible: "
                "pass a function or a lambda)",
            )
            return
        for position, keyword in self.policy.code_string_arguments[qualified]:
            arg = self._argument(call, position, keyword)
            if arg is None or arg.__class__ is ast.Lambda:
                continue
            if arg.__class__ is ast.Name and self._only_functions(arg.id):
                continue
            if arg.__class__ is ast.Call and self._qualified(arg.func) == "functools.partial":
                continue
            self.add(
                call,
                f"{qualified}() with {keyword} given as text is not allowed (it compiles code at run "
                "time; pass a function or a lambda)",
            )

    # -- the tool's own objects ------------------------------------------------------------------

    def _rooted(self, node: ast.Attribute) -> bool:
        """True when the chain under ``node`` starts at an imported name (``_chain`` judges those)."""
        cur: Any = node.value
        while cur.__class__ is ast.Attribute:
            cur = cur.value
        return cur.__class__ is ast.Name and cur.id in self.imported

    def _internal_problem(self, name: str, base: Any) -> str | None:
        """Why ``base.name`` is refused when ``name`` is private (``_x``) or internal (``raw``).

        Private names are library internals (``ForwardRef._evaluate`` is eval()), except namedtuple's
        and Enum's public ones and those the tool defines and uses on its own objects (``self._x``).
        """
        policy = self.policy
        if name in policy.capability_attributes:
            return policy.capability_attributes[name]
        internal = policy.internal_attributes.get(name)
        if internal is None and (not _private(name) or name in policy.public_private_attributes):
            return None
        if base is not None and name in self._own_attributes() and self._own_object(base):
            return None
        return internal or (
            "private library internals: a name with a leading underscore may only be used on the tool's "
            "own objects, like self._x where the tool's class sets it"
        )

    def _own_attributes(self) -> set[str]:
        """Names the tool defines: in class bodies, and by assignment to its own objects' attributes."""
        if self._own is None:
            self._own = set(self.scan.class_attributes)
            self._own.update(a.attr for a in self.scan.attribute_stores if self._own_object(a.value))
        return self._own

    def _own_object(self, node: Any, others: bool = True) -> bool:
        """An object of the tool's own: a parameter of its class's methods (``self``; ``other`` too
        unless ``others`` is False), one of its classes, an instance made by calling one, ``type(self)``."""
        cls = node.__class__
        if cls is ast.Name:
            if node.id in self.imported:
                return False
            bindings = self._bindings_of(node)
            return bool(bindings) and all(self._own_value(v, others) for v in bindings)
        if cls is ast.Call:
            if node.func.__class__ is ast.Name and self._own_class_name(node.func.id):
                return True  # Record(...).raw
            return (
                self._qualified(node.func) == "type"
                and len(node.args) == 1
                and not node.keywords
                and self._self_like(node.args[0])
            )
        if cls is ast.Attribute:
            return node.attr == "__class__" and self._self_like(node.value)
        return False

    def _own_value(self, value: Any, others: bool = True) -> bool:
        if value.__class__ is _MethodParam:
            return (others or value.first) and self._safe_class(value.owner)
        if value.__class__ is ast.ClassDef:
            return self._safe_class(value)
        if value.__class__ is ast.Call and value.func.__class__ is ast.Name:
            return self._own_class_name(value.func.id)
        return False

    def _own_class_name(self, name: str) -> bool:
        bindings = self.scan.bindings.get(name)
        return (
            name not in self.imported
            and bool(bindings)
            and all(b.__class__ is ast.ClassDef and self._safe_class(b) for b in bindings)
        )

    def _safe_class(self, node: ast.ClassDef) -> bool:
        """A class statement that binds a plain class of the tool's: known decorators, no metaclass of
        its making, and bases that are builtins, its own classes or library ones without internals."""
        known = self._safe_classes.get(id(node))
        if known is not None:
            return known
        self._safe_classes[id(node)] = False  # while deciding (a cycle is not safe)
        policy = self.policy
        safe = (
            all(_decorator_name(d) in _CLASS_DECORATORS for d in node.decorator_list)
            and all(
                k.arg == "metaclass" and self._library_name(k.value) in policy.own_class_metaclasses
                for k in node.keywords
            )
            and all(self._safe_base(b) for b in node.bases)
        )
        self._safe_classes[id(node)] = safe
        return safe

    def _safe_base(self, node: Any) -> bool:
        if node.__class__ is ast.Subscript:  # Generic[T]
            node = node.value
        if node.__class__ is ast.Name and node.id not in self.imported and node.id in self.scan.bindings:
            return self._own_class_name(node.id)
        if node.__class__ is ast.Name and node.id in _BUILTIN_NAMES and node.id not in self.imported:
            value = getattr(builtins, node.id)
            return isinstance(value, type) and value is not type
        return self._library_name(node) in self.policy.own_class_bases

    def _library_name(self, node: Any) -> str | None:
        """The last name of an imported name or chain (``abc.ABC`` -> ``ABC``), else None."""
        qualified = self._qualified(node)
        if qualified is None or qualified in _BUILTIN_NAMES:
            return None
        return qualified.rsplit(".", 1)[-1]

    def _self_like(self, node: Any) -> bool:
        """A method's first parameter (``self``, ``cls``), not rebound."""
        if node.__class__ is not ast.Name:
            return False
        bindings = self._bindings_of(node)
        return bool(bindings) and all(v.__class__ is _MethodParam and v.first for v in bindings)

    def _bindings_of(self, node: ast.Name) -> list[Any]:
        """The bindings ``node`` may see: its method's parameter when it reads one that the method never
        rebinds (so ``other`` in ``__eq__`` is that parameter, whatever else is called ``other``), else
        every binding of the name anywhere."""
        if self._method_names is None:
            self._method_names = self._method_parameters()
        scoped = self._method_names.get(id(node))
        if scoped is not None:
            return [scoped]
        return self.scan.bindings.get(node.id) or []

    def _method_parameters(self) -> dict[int, Any]:
        """id(Name) -> the method parameter it reads, for names in method bodies (innermost method wins)."""
        found: dict[int, Any] = {}
        for method in self.scan.methods:
            arguments = method.args
            params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            params += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            by_name = {a.arg: a for a in params}
            reads: list[ast.Name] = []
            rebound: set[str] = set()
            stack: list[Any] = list(method.body)
            while stack:
                item = stack.pop()
                if not isinstance(item, ast.AST):
                    continue  # None, str and other non-nodes in list fields
                if item.__class__ is ast.Name:
                    if item.ctx.__class__ is ast.Load:
                        reads.append(item)
                    else:
                        rebound.add(item.id)
                    continue
                if item.__class__ is ast.arg:
                    rebound.add(item.arg)  # a nested function's or lambda's parameter of that name
                elif item.__class__ in _NAMED_SCOPES and item.name:  # def, class, except ... as
                    rebound.add(item.name)
                fields = _FIELDS.get(item.__class__)
                if fields is None:
                    fields = _child_fields(item.__class__)
                for field in fields:
                    value = getattr(item, field)
                    if value.__class__ is list:
                        stack.extend(value)
                    elif value is not None:
                        stack.append(value)
            for read in reads:
                arg = by_name.get(read.id)
                if arg is not None and read.id not in rebound:
                    marker = self.scan.method_args.get(id(arg))
                    if marker is not None:
                        found[id(read)] = marker
        return found

    def _only_functions(self, name: str) -> bool:
        """Every binding of ``name`` is an undecorated def or a lambda (so it is never text)."""
        bindings = self.scan.bindings.get(name)
        return (
            name not in self.imported
            and bool(bindings)
            and all(
                (b.__class__ in (ast.FunctionDef, ast.AsyncFunctionDef) and not b.decorator_list)
                or b.__class__ is ast.Lambda
                for b in bindings
            )
        )

    def _call_of(self, func: Any) -> ast.Call | None:
        """The call whose callee is ``func``, if any."""
        if self._calls_by_func is None:
            self._calls_by_func = {id(c.func): c for c in self.scan.calls}
        return self._calls_by_func.get(id(func))

    # -- values that must not be held ------------------------------------------------------------

    def _value_uses(self) -> None:
        """Namespaces, ``__annotations__`` and objects' classes: only in uses that hand nothing back.

        ``d = vars(t)`` then ``d[name]`` (t a type) reaches ``__subclasses__``; ``h = f.__annotations__``
        then ``h["x"] = text`` plants code for singledispatch; ``type(f)(path)`` on a file is FileIO.
        Aliases cannot be followed, so these values may only be indexed, tested, turned into text or
        iterated for their keys, where they appear.
        """
        scan, policy = self.scan, self.policy
        watched: list[tuple[Any, str]] = []
        for call in scan.calls:
            func = call.func
            if (
                func.__class__ is ast.Name
                and func.id in _WATCHED_CALLS
                and len(call.args) == 1
                and not call.keywords
            ):
                qualified = self._qualified(func)
                if qualified == "vars" and "vars" in policy.namespace_functions:
                    if self._plain_variable(call.args[0]):  # anything else is refused by _vars_argument
                        watched.append((call, "namespace"))
                elif qualified == "type" and not self._self_like(call.args[0]):
                    watched.append((call, "type"))
        for node in scan.attributes:
            attr = node.attr
            if attr in _WATCHED_NAMES and node.ctx.__class__ is ast.Load:
                if attr == "__dict__" and self._plain_variable(node.value):
                    watched.append((node, "namespace"))
                elif attr == "__annotations__":
                    watched.append((node, "annotations"))
                elif attr == "__class__" and not self._self_like(node.value):
                    watched.append((node, "type"))
        for node in scan.names:
            if node.id in _WATCHED_NAMES and node.ctx.__class__ is ast.Load:
                if node.id == "__annotations__":
                    watched.append((node, "annotations"))
                elif node.id == "__class__":
                    watched.append((node, "type"))
                elif node.id == "type" and id(node) not in scan.callees and self._qualified(node) == "type":
                    watched.append((node, "type name"))
        if watched:
            contexts = self._contexts()
            for node, kind in watched:
                self._value_use(node, kind, contexts.get(id(node)))

    def _contexts(self) -> dict[int, tuple[Any, ...]]:
        """id(node) -> how its parent uses it, for the parents that matter to ``_value_use``."""
        scan = self.scan
        contexts: dict[int, tuple[Any, ...]] = {}
        for node in scan.subscripts:
            contexts[id(node.value)] = ("subscript", node)
            if node.ctx.__class__ is ast.Load:
                contexts[id(node.slice)] = ("key", node)
        for node in scan.attributes:
            contexts[id(node.value)] = ("attribute", node)
        for call in scan.calls:
            for arg in call.args:
                contexts[id(arg)] = ("argument", call)
            if call.keywords and self._qualified(call.func) in _JSON_DEFAULT_TAKERS:
                for kw in call.keywords:
                    if kw.arg == "default" and kw.value.__class__ is ast.Lambda:
                        # json.dumps(x, default=lambda o: o.__dict__): only json sees what it returns.
                        contexts[id(kw.value.body)] = ("text",)
        for node in scan.compares:
            contexts[id(node.left)] = ("compare", node, 0)
            for index, other in enumerate(node.comparators, 1):
                contexts[id(other)] = ("compare", node, index)
        for node in scan.formatted:
            contexts[id(node.value)] = ("text",)
        for node in scan.iters:
            contexts[id(node)] = ("iter",)
        return contexts

    def _value_use(self, node: Any, kind: str, context: tuple[Any, ...] | None) -> None:
        where = context[0] if context else None
        if where == "text" or (where == "compare" and self._inert_comparison(kind, *context[1:])):
            return
        if kind == "namespace":
            if where in ("subscript", "iter"):
                return
            if where == "attribute" and self._called_method(context[1], _NAMESPACE_METHODS):
                return
            if where == "argument" and self._consumer(context[1], _KEY_CONSUMERS):
                return
            what = "vars()" if node.__class__ is ast.Call else "__dict__"
            self.add(
                node,
                f"{what} used as a value is not allowed (a namespace hands out whatever it holds -- of a "
                "type, the descriptors behind __subclasses__ and __globals__ -- so it may only be indexed "
                "with literal names, tested or printed; use dataclasses.asdict() or name the attributes)",
            )
        elif kind == "annotations":
            if where == "iter" or (where == "subscript" and context[1].ctx.__class__ is ast.Load):
                return
            if where == "attribute" and self._called_method(context[1], _ANNOTATION_METHODS):
                return
            if where == "argument" and self._consumer(context[1], _ANNOTATION_CONSUMERS):
                return
            if where == "subscript" or (where == "attribute" and context[1].attr in _MUTATORS):
                if node.__class__ is ast.Attribute:
                    return  # reported as "changing '__annotations__'" by _protected_mutation
                reason = self.policy.write_protected_attributes.get("__annotations__", "")
                self.add(node, f"changing '__annotations__' is not allowed ({reason})")
                return
            self.add(
                node,
                "'__annotations__' used as a value is not allowed (typing and functools.singledispatch "
                "evaluate annotation text, so no changeable reference may be held; read it in place: "
                "f.__annotations__['x'], .get(), .items(), dict(f.__annotations__))",
            )
        elif kind == "type":
            if where == "key" or (where == "attribute" and context[1].attr in _TYPE_ATTRIBUTES):
                return
            if where == "attribute" and self._attribute_name_problem(context[1].attr):
                return  # ``x.__class__.__mro__``: the attribute itself is reported
            if where == "argument" and (
                self._consumer(context[1], _TYPE_CONSUMERS)
                or self._qualified(context[1].func) in _EXCEPTION_FORMATTERS
            ):
                return
            what = "__class__" if node.__class__ is not ast.Call else "type(x)"
            self.add(
                node,
                f"{what} used as a value is not allowed (calling an object's class makes new objects of "
                "it -- a file's class opens any path; use type(x).__name__, isinstance(), or "
                "type(self) in a method)",
            )
        elif not (where == "argument" and self._consumer(context[1], _TYPE_CONSUMERS)):  # the name 'type'
            self.add(
                node,
                "type used as a value is not allowed (type(x) hands out an object's class; call type() "
                "directly, and write classes with a class statement)",
            )

    def _inert_comparison(self, kind: str, compare: ast.Compare, index: int) -> bool:
        """``x is y`` compares identities; ``==``, ``<`` and ``in`` hand each operand to the other's
        methods (``vars(t) == Spy()`` gives ``Spy.__eq__`` the namespace), so the neighbour must be inert:
        a literal, a builtin or library name, a class of the tool's, or a watched value of its own."""
        operands = [compare.left, *compare.comparators]
        for side in (index - 1, index):  # the operators left and right of the operand
            if not 0 <= side < len(compare.ops):
                continue
            op = compare.ops[side].__class__
            if op is ast.Is or op is ast.IsNot:
                continue
            if (op is ast.In or op is ast.NotIn) and side == index - 1:
                continue  # ``key in value``: the value's own __contains__, given a key
            neighbour = operands[index - 1] if side == index - 1 else operands[index + 1]
            if not self._inert(neighbour, kind):
                return False
        return True

    def _inert(self, node: Any, kind: str) -> bool:
        cls = node.__class__
        if cls is ast.Constant:
            return True
        if cls in (ast.Tuple, ast.List, ast.Set):
            return all(self._inert(e, kind) for e in node.elts)
        if cls is ast.Dict:
            return all(k is not None and self._inert(k, kind) for k in node.keys) and all(
                self._inert(v, kind) for v in node.values
            )
        if cls is ast.Name:
            name = node.id
            if name in self.imported:
                return name not in self.modules
            if name in self.scan.bindings:
                return self._own_class_name(name)
            return name in _BUILTIN_NAMES
        if cls is ast.Attribute and node.attr == "__class__" and self._self_like(node.value):
            return True
        if kind == "type":  # type(a) == type(b): both sides are classes, compared by type.__eq__
            return (cls is ast.Call and self._qualified(node.func) == "type") or (
                cls is ast.Attribute and (node.attr == "__class__" or self._rooted(node))
            )
        if kind == "namespace":  # self.__dict__ == other.__dict__, both the tool's own objects
            owner = self._namespace_owner(node) if self._namespace_source(node) else None
            return owner is not None and self._own_object(owner)
        return False

    def _called_method(self, attribute: ast.Attribute, methods: frozenset[str]) -> bool:
        return attribute.attr in methods and self._call_of(attribute) is not None

    def _consumer(self, call: ast.Call, names: frozenset[str]) -> bool:
        """``call`` is one of ``names`` (builtins) or a text-only library function without hooks."""
        qualified = self._qualified(call.func)
        if qualified in names:
            return True
        return (
            qualified in _TEXT_FUNCTIONS
            and not _unpacks(call)
            and not any(k.arg in ("default", "cls") for k in call.keywords)
        )

    # -- singledispatch ----------------------------------------------------------------------------

    def _dispatch_in_use(self) -> bool:
        """True when the code can reach functools.singledispatch (or another annotation dispatcher)."""
        dispatchers = self.policy.annotation_dispatchers
        modules = {d.rsplit(".", 1)[0] for d in dispatchers}
        for node in self.scan.imports:
            if isinstance(node, ast.Import):
                if any(a.name in modules for a in node.names):
                    return True
            elif node.module in modules and any(
                a.name == "*" or f"{node.module}.{a.name}" in dispatchers for a in node.names
            ):
                return True
        return False

    def _registrations(self) -> None:
        """With singledispatch around, every ``.register`` must name its class: ``@f.register(int)``.

        ``register(f)`` alone reads the class from ``f``'s annotations through typing.get_type_hints(),
        which evaluates annotation text -- of an object that is not a function, with the real builtins.
        """
        if not any(a.attr == "register" for a in self.scan.attributes) or not self._dispatch_in_use():
            return
        for node in self.scan.attributes:
            if node.attr != "register" or node.ctx.__class__ is not ast.Load:
                continue
            call = self._call_of(node)
            target = None if call is None or _unpacks(call) else self._argument(call, 0, "cls")
            if target is None or not self._static_class(target):
                self.add(
                    node,
                    "register() without a class written out is not allowed (singledispatch reads the class "
                    "from annotations by evaluating them as code; write @f.register(int) or "
                    "f.register(SomeClass, function))",
                )

    def _static_class(self, node: Any) -> bool:
        """A class written out: a builtin class, one imported, a plain class of the tool's, or ``A | B``."""
        if node.__class__ is ast.BinOp and node.op.__class__ is ast.BitOr:
            return self._static_class(node.left) and self._static_class(node.right)
        if node.__class__ is ast.Name:
            name = node.id
            if name in self.imported:
                return True
            if name in self.scan.bindings:
                return self._own_class_name(name)
            return name in _BUILTIN_NAMES and isinstance(getattr(builtins, name), type)
        return node.__class__ is ast.Attribute and self._rooted(node) and self._qualified(node) is not None

    # -- str.format ------------------------------------------------------------------------------

    def _format_calls(self) -> None:
        """``template.format(obj)`` looks attributes up by the names in ``template``: it must be a literal.

        A template built at run time (``"{0.ZZfuncZZ}".replace("Z", "_")``) walks attributes no rule
        saw. Literal templates are checked like every string. ``string.Formatter().format`` and
        ``str.format`` take the template as their first argument.
        """
        for node in self.scan.attributes:
            if node.attr not in _FORMAT_METHODS or node.ctx.__class__ is not ast.Load:
                continue
            receiver = node.value
            if self._literal_text(receiver):
                continue
            call = self._call_of(node)
            takes_template = (
                receiver.__class__ is ast.Name and self._qualified(receiver) == "str"
            ) or self._formatter(receiver)
            if (
                takes_template
                and call is not None
                and call.args
                and call.args[0].__class__ is not ast.Starred
                and self._literal_text(call.args[0])
            ):
                continue
            if node.attr in self._own_attributes() and self._own_object(receiver, others=False):
                continue  # the tool's own format() method
            self.add(
                node,
                f"{node.attr}() with a template that is not a literal is not allowed (format fields look "
                "attributes up by name, so a template built at run time reaches what no rule saw; write "
                "the template as a literal, or use an f-string)",
            )

    def _literal_text(self, node: Any) -> bool:
        """A literal string, or a name every binding of which is one."""
        if self._fold(node) is not None:
            return True
        if node.__class__ is not ast.Name or node.id in self.imported:
            return False
        bindings = self.scan.bindings.get(node.id)
        return bool(bindings) and all(b is not None and self._fold(b) is not None for b in bindings)

    def _formatter(self, node: Any) -> bool:
        """A ``string.Formatter()`` (or an instance of the tool's own class), or a name bound only to one."""
        if node.__class__ is ast.Call:
            func = node.func
            if self._qualified(func) == "string.Formatter":
                return True
            if func.__class__ is ast.Name and func.id not in self.imported:
                bindings = self.scan.bindings.get(func.id)
                return bool(bindings) and all(b.__class__ is ast.ClassDef for b in bindings)
            return False
        if node.__class__ is ast.Name and node.id not in self.imported:
            bindings = self.scan.bindings.get(node.id)
            return bool(bindings) and all(b is not None and self._formatter(b) for b in bindings)
        return False

    # -- strings ---------------------------------------------------------------------------------

    def _fold(self, node: Any) -> str | None:
        """Constant-fold a string expression, bounded in size and depth; None when not constant."""
        budget = [_FOLD_BUDGET]

        def fold(n: Any) -> Any:
            budget[0] -= 1
            if budget[0] < 0:
                return None
            cls = n.__class__
            if cls is ast.Constant:
                value = n.value
                return value if isinstance(value, (str, bytes, int)) and not isinstance(value, bool) else None
            if cls is ast.BinOp:
                return fold_binop(n)
            if cls is ast.UnaryOp and isinstance(n.op, ast.USub):
                number = fold(n.operand)
                return -number if isinstance(number, int) else None
            if cls is ast.JoinedStr:
                parts = [fold(v) for v in n.values]
                return "".join(parts) if all(isinstance(p, str) for p in parts) else None
            if cls is ast.Call:
                return fold_join(n)
            if cls is ast.Subscript and n.slice.__class__ is ast.Slice:
                return fold_slice(n)
            return None

        def fold_binop(n: ast.BinOp) -> Any:
            left = fold(n.left)
            right = None if left is None else fold(n.right)
            if right is None:
                return None
            if isinstance(n.op, ast.Add) and type(left) is type(right) and isinstance(left, (str, bytes)):
                return left + right if len(left) + len(right) <= _FOLD_MAX_LEN else None
            if isinstance(n.op, ast.Mult):
                text, count = (left, right) if isinstance(right, int) else (right, left)
                if isinstance(text, (str, bytes)) and isinstance(count, int):
                    return text * count if len(text) * max(count, 0) <= _FOLD_MAX_LEN else None
            return None

        def fold_join(n: ast.Call) -> Any:
            func = n.func
            if func.__class__ is not ast.Attribute or func.attr != "join" or len(n.args) != 1:
                return None
            sep, items = fold(func.value), n.args[0]
            if not isinstance(sep, str) or items.__class__ not in (ast.List, ast.Tuple):
                return None
            parts = [fold(e) for e in items.elts]
            if not all(isinstance(p, str) for p in parts):
                return None
            joined = sep.join(parts)
            return joined if len(joined) <= _FOLD_MAX_LEN else None

        def fold_slice(n: ast.Subscript) -> Any:
            text = fold(n.value)
            if not isinstance(text, (str, bytes)):
                return None
            bounds = []
            for part in (n.slice.lower, n.slice.upper, n.slice.step):  # type: ignore[attr-defined]
                bound = None if part is None else fold(part)
                if part is not None and not isinstance(bound, int):
                    return None
                bounds.append(bound)
            return text[slice(*bounds)] if bounds[2] != 0 else None

        value = fold(node)
        if isinstance(value, bytes):
            return value.decode("latin-1")
        return value if isinstance(value, str) else None

    def _strings(self) -> None:
        scan = self.scan
        for node in scan.strings:
            if id(node) not in self.consumed:
                value = node.value
                self._string(node, value if isinstance(value, str) else value.decode("latin-1"))
        for node in scan.binops:  # "__glo" + "bals__": judge the folded whole, once per expression
            if id(node) not in scan.inner_binops:
                folded = self._fold(node)
                if folded is not None:
                    self._string(node, folded)
        for call in scan.calls:  # "".join(["__glo", "bals__"])
            func = call.func
            literal_join = func.__class__ is ast.Attribute and func.attr == "join"
            if literal_join and func.value.__class__ is ast.Constant:
                folded = self._fold(call)
                if folded is not None:
                    self._string(call, folded)

    def _string(self, node: Any, text: str) -> None:
        text = _norm(text)
        for name in dict.fromkeys(self.pattern.findall(text)):
            self.add(
                node,
                f"a string naming the blocked attribute '{name}' is not allowed "
                f"({self.policy.attribute_reason(name)}; names in strings reach it through "
                "getattr() or str.format())",
            )
        if "{" in text:
            for attr in self._format_attributes(text, 0):
                if attr in self.policy.module_attributes:
                    problem: str | None = self.policy.attribute_reason(attr)
                elif attr[:1] == "_" or attr in self.policy.internal_attributes:
                    problem = self._internal_problem(attr, None)  # the object is not known here
                else:
                    continue
                if problem:
                    self.add(node, f"a format field reaching attribute '{attr}' is not allowed ({problem})")

    def _format_attributes(self, text: str, depth: int) -> list[str]:
        """Attribute names a ``str.format`` template would look up, e.g. ``{0._os}`` -> ``_os``."""
        found: list[str] = []
        try:
            fields = list(_FORMATTER.parse(text))
        except ValueError:
            return found
        for _text, field, spec, _conversion in fields:
            if field:
                try:
                    _first, rest = _string.formatter_field_name_split(field)
                    found.extend(_norm(key) for is_attr, key in rest if is_attr and isinstance(key, str))
                except ValueError:
                    pass
            if spec and "{" in spec and depth < 2:
                found.extend(self._format_attributes(spec, depth + 1))
        return found
