"""AST security validator (interim: syntax only; the full rule set is being written)."""

from __future__ import annotations

import ast
from typing import Any

from .policy import Policy


def check(code: str, policy: Policy) -> dict[str, Any]:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        msg = f"{exc.msg} (line {exc.lineno})"
        return {"safe": False, "violations": [f"line {exc.lineno}: syntax error: {exc.msg}"], "syntax_error": msg}
    return {"safe": True, "violations": []}
