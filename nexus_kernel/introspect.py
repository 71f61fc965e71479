"""Completion, inspection and is_complete for the Nexus kernel, by static analysis only.

The kernel never runs a cell's code in its own process, so these answers come from reading the
source: jedi when it is installed (it comes with IPython), else keywords, builtins, the policy's
allowed modules and the names the cell assigns. jedi runs in-process (``InterpreterEnvironment``)
so it starts no helper process that could outlive the kernel. Suggestions follow the policy:
modules a tool may not import and builtins it does not have are not offered.
"""

from __future__ import annotations

import ast
import builtins
import codeop
import keyword
import re
import warnings
from typing import Any

from .directives import DIRECTIVES, MODES
from .policy import Policy, load_policy

_NAME_BEFORE = re.compile(r"[A-Za-z_][\w.]*$")
_IDENTIFIER_TAIL = re.compile(r"[A-Za-z_]\w*$")


def _jedi_script(code: str) -> Any:
    try:
        import jedi
        from jedi.api.environment import InterpreterEnvironment
    except ImportError:
        return None
    return jedi.Script(code, environment=InterpreterEnvironment())


def _line_col(code: str, cursor_pos: int) -> tuple[int, int]:
    before = code[:cursor_pos]
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1)


def _module_offered(name: str, policy: Policy) -> bool:
    """A module (or a package on the way to one) that a tool may import."""
    if policy.module_allowed(name):
        return True
    prefixes = name.split(".")
    if any(".".join(prefixes[:i]) in policy.denied_modules for i in range(1, len(prefixes) + 1)):
        return False
    return any(m.startswith(name + ".") for m in policy.allowed_modules)


def complete(code: str, cursor_pos: int, policy: Policy | None = None) -> dict[str, Any]:
    """A ``complete_reply`` content for ``code`` with the cursor at ``cursor_pos``."""
    policy = policy or load_policy()
    cursor_pos = max(0, min(cursor_pos, len(code)))
    line_start = code.rfind("\n", 0, cursor_pos) + 1
    line = code[line_start:cursor_pos]
    if line.lstrip().startswith("%"):
        return _complete_directive(line, cursor_pos)
    matches: list[str] | None = None
    start = cursor_pos
    script = _jedi_script(code)
    if script is not None:
        try:
            row, col = _line_col(code, cursor_pos)
            found = script.complete(row, col)
        except Exception:  # noqa: BLE001 - jedi can fail on odd input; fall back to the simple way
            found = None
        if found is not None:
            matches = []
            for item in found:
                if not _offered(item, policy):
                    continue
                if item.name.startswith("_") and not _typed_prefix(item).startswith("_"):
                    continue  # private names only when the user typed the underscore
                matches.append(item.name)
            if found:
                prefix = _typed_prefix(found[0])
            else:
                tail = _IDENTIFIER_TAIL.search(line)
                prefix = tail.group() if tail else ""
            start = cursor_pos - len(prefix)
    if matches is None:
        matches, start = _complete_simple(code, cursor_pos, line, policy)
    return _completion_reply(matches, start, cursor_pos)


def _typed_prefix(item: Any) -> str:
    # jedi gives the whole name and the part still to type; the difference is what was typed.
    complete_part = item.complete or ""
    return item.name[: len(item.name) - len(complete_part)]


def _offered(item: Any, policy: Policy) -> bool:
    if item.type == "module":
        return _module_offered(item.full_name or item.name, policy)
    if item.module_name == "builtins" and item.name in policy.blocked_builtins:
        return False
    return item.name not in policy.blocked_attributes


def _complete_directive(line: str, cursor_pos: int) -> dict[str, Any]:
    stripped = line.lstrip()
    if " " in stripped:
        name, _, typed = stripped.partition(" ")
        typed = typed.lstrip()
        options = list(MODES) if name == "%mode" else []
        matches = [m for m in options if m.startswith(typed)]
        start = cursor_pos - len(typed)
    else:
        matches = [f"%{name}" for name in DIRECTIVES if f"%{name}".startswith(stripped)]
        start = cursor_pos - len(stripped)
    return _completion_reply(matches, start, cursor_pos)


def _complete_simple(code: str, cursor_pos: int, line: str, policy: Policy) -> tuple[list[str], int]:
    dotted = _NAME_BEFORE.search(line)
    typed = dotted.group() if dotted else ""
    if re.match(r"^\s*(import|from)\s", line) and not re.search(r"\bimport\s+\S*$", line.split("from")[0]):
        candidates = sorted(m for m in policy.allowed_modules if _module_offered(m, policy))
        return [m for m in candidates if m.startswith(typed)], cursor_pos - len(typed)
    if "." in typed:
        return [], cursor_pos
    names = set(keyword.kwlist) | {n for n in dir(builtins) if not n.startswith("_")}
    names -= policy.blocked_builtins
    names |= _assigned_names(code)
    return sorted(n for n in names if n.startswith(typed)), cursor_pos - len(typed)


def _assigned_names(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set(re.findall(r"\b([A-Za-z_]\w*)\s*=", code))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def inspect(
    code: str, cursor_pos: int, detail_level: int = 0, policy: Policy | None = None
) -> dict[str, Any]:
    """An ``inspect_reply`` content: the signature and docstring of the name at the cursor."""
    policy = policy or load_policy()
    cursor_pos = max(0, min(cursor_pos, len(code)))
    text = _inspect_jedi(code, cursor_pos, detail_level)
    if text is None:
        text = _inspect_simple(code, cursor_pos, policy)
    if not text:
        return {"status": "ok", "found": False, "data": {}, "metadata": {}}
    return {"status": "ok", "found": True, "data": {"text/plain": text}, "metadata": {}}


def _inspect_jedi(code: str, cursor_pos: int, detail_level: int) -> str | None:
    script = _jedi_script(code)
    if script is None:
        return None
    row, col = _line_col(code, cursor_pos)
    try:
        names = script.infer(row, col) or (script.infer(row, col - 1) if col else [])
        if not names:
            signatures = script.get_signatures(row, col)
            if signatures:
                names = signatures[0].infer() or []
                if not names:
                    return f"Signature: {signatures[0].to_string()}"
    except Exception:  # noqa: BLE001 - jedi can fail on odd input: report "not found"
        return None
    if not names:
        return ""
    name = names[0]
    lines = []
    signatures = name.get_signatures() if name.type in ("function", "class") else []
    if signatures:
        lines.append(f"Signature: {signatures[0].to_string()}")
    docstring = name.docstring(raw=True)
    if docstring:
        lines.append("Docstring:\n" + docstring)
    lines.append(f"Type:      {name.type}" + (f" ({name.full_name})" if name.full_name else ""))
    if detail_level and name.module_path:
        lines.append(f"File:      {name.module_path}")
    return "\n".join(lines)


def _inspect_simple(code: str, cursor_pos: int, policy: Policy) -> str:
    before = code[:cursor_pos]
    after = re.match(r"\w*", code[cursor_pos:])
    match = _IDENTIFIER_TAIL.search(before.rstrip("( "))
    if match is None:
        return ""
    name = match.group() + (after.group() if after and before.endswith(match.group()) else "")
    if keyword.iskeyword(name):
        return f"{name}: a Python keyword"
    if name in policy.blocked_builtins:
        return f"{name}: not available to tools (blocked by the Nexus policy)"
    target = getattr(builtins, name, None)
    if target is not None:
        return f"{name}: builtin\n\n{target.__doc__ or ''}".rstrip()
    return ""


def is_complete(code: str) -> dict[str, Any]:
    """An ``is_complete_reply`` content, by compiling (never running) the code.

    Like IPython in a console: an indented last line means a block is still being typed, so the
    answer is "incomplete" with its indent until an empty line ends it.
    """
    lines = code.split("\n")
    if all(not line.strip() or line.lstrip().startswith("%") for line in lines):
        return {"status": "complete"}
    python = "\n".join("" if line.lstrip().startswith("%") else line for line in lines)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compiled = codeop.compile_command(python, "<cell>", "exec")
        except (SyntaxError, ValueError, OverflowError):
            return {"status": "invalid"}
    last = lines[-1]
    if compiled is None:
        indent = re.match(r"\s*", last).group()
        if last.rstrip().endswith(":"):
            indent += "    "
        return {"status": "incomplete", "indent": indent}
    if len(lines) > 1 and last[:1] in (" ", "\t") and last.strip():
        return {"status": "incomplete", "indent": re.match(r"\s*", last).group()}
    return {"status": "complete"}


def _completion_reply(matches: list[str], start: int, cursor_pos: int) -> dict[str, Any]:
    return {
        "status": "ok",
        "matches": matches,
        "cursor_start": start,
        "cursor_end": cursor_pos,
        "metadata": {},
    }
