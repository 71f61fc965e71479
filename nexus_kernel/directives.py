"""Line directives of the Nexus kernel (``%timeout 30`` ...) and the settings they change.

A Nexus cell is Python that runs as a one-time tool, optionally preceded by directive lines::

    %timeout 30          limit of this and the following cells, 10-300 s
    %memory 256          memory limit, 32-512 MB
    %mode docker         docker | fallback | auto (auto: docker when an engine answers)
    %limits              show the limit controls (widgets) and the current settings
    %nexus_status        engine, image, mode and policy

Directives are not Python: they are read by the kernel, never sent to the sandbox. Their lines are
blanked (not removed) so the line numbers of errors and violations still match the cell.
No Jupyter imports here: this module is plain Python and tested as such.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .limits import (
    MEMORY_DEFAULT_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_DEFAULT_S,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
    Limits,
)

MODES = ("auto", "docker", "fallback")
#: name -> (argument, help)
DIRECTIVES: dict[str, tuple[str, str]] = {
    "timeout": ("N", f"timeout of this and the following cells, {TIMEOUT_MIN_S}-{TIMEOUT_MAX_S} s"),
    "memory": ("N", f"memory limit of this and the following cells, {MEMORY_MIN_MB}-{MEMORY_MAX_MB} MB"),
    "mode": ("|".join(MODES), "where cells run (auto: docker when an engine answers, else fallback)"),
    "limits": ("", "show the limit controls and the current settings"),
    "nexus_status": ("", "show the engine, image, execution mode and policy"),
}
_DIRECTIVE = re.compile(r"^%([A-Za-z_]\w*)(?:\s+(.*?))?\s*$")
_HELP = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(\?\??)\s*$")


class DirectiveError(ValueError):
    """A directive that cannot be applied; the message says why and what is allowed."""


@dataclass
class Settings:
    """The limits and mode the next cells run with. Listeners hear about every change."""

    timeout: int = TIMEOUT_DEFAULT_S
    memory: int = MEMORY_DEFAULT_MB
    #: None: follow ``NEXUS_EXECUTION_MODE`` (default auto).
    mode: str | None = None
    listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def shown_mode(self) -> str:
        """The mode as a user would name it (``auto`` when nothing was chosen)."""
        chosen = self.mode or (os.environ.get("NEXUS_EXECUTION_MODE") or "auto").strip().lower()
        return chosen if chosen in MODES else "auto"

    def update(
        self, *, timeout: int | None = None, memory: int | None = None, mode: str | None = None
    ) -> None:
        """Change the settings (values already validated) and tell the listeners."""
        changed = False
        for name, value in (("timeout", timeout), ("memory", memory), ("mode", mode)):
            if value is not None and getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        if changed:
            for listener in list(self.listeners):
                listener()

    def describe(self) -> str:
        """The settings and how to change them, as text."""
        return (
            f"Nexus limits for the following cells: timeout {self.timeout} s "
            f"({TIMEOUT_MIN_S}-{TIMEOUT_MAX_S}) · memory {self.memory} MB ({MEMORY_MIN_MB}-{MEMORY_MAX_MB})"
            f" · mode {self.shown_mode}\n"
            "change them with %timeout N, %memory N, %mode docker|fallback|auto"
        )


@dataclass(frozen=True)
class Directive:
    """One directive line of a cell."""

    name: str
    argument: str
    line: int


@dataclass(frozen=True)
class Cell:
    """A cell split into its directives and the Python code the sandbox gets."""

    directives: list[Directive]
    code: str
    #: ``name?`` / ``name??``: the cell asks for help on ``name`` (no code runs).
    help_target: str | None = None
    #: A line that is neither Python nor a directive in the right place (shown instead of running).
    problem: str | None = None

    @property
    def has_code(self) -> bool:
        """True when something is left to run after the directives."""
        return bool(self.code.strip())


def parse_cell(source: str) -> Cell:
    """Split ``source`` into leading directives and code (directive lines blanked in the code)."""
    help_match = _HELP.match(source)
    if help_match and "\n" not in source.strip():
        return Cell([], "", help_target=help_match.group(1))
    lines = source.split("\n")
    directives: list[Directive] = []
    in_header = True
    problem = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if in_header and stripped.startswith("%") and not stripped.startswith("%%"):
            match = _DIRECTIVE.match(stripped)
            if match is None:
                problem = f"line {index + 1}: not a directive: {stripped!r}"
                break
            directives.append(Directive(match.group(1), match.group(2) or "", index + 1))
            lines[index] = ""
        elif stripped and not stripped.startswith("#"):
            in_header = False
    code = "\n".join(lines)
    if problem is None:
        problem = _misplaced(code)
    return Cell(directives, code, problem=problem)


def _misplaced(code: str) -> str | None:
    """Explain IPython syntax that cannot work here, but only when the code does not compile."""
    try:
        compile(code, "<cell>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (code.split("\n")[exc.lineno - 1] if exc.lineno else "").strip()
        where = f"line {exc.lineno}"
        if line.startswith("!"):
            return (f"{where}: shell commands (!) are not available: every cell runs as a sandboxed "
                    "one-time tool, with no shell")  # fmt: skip
        if line.startswith("%%"):
            return f"{where}: cell magics ({line.split()[0]}) are not available in the Nexus kernel"
        if line.startswith("%"):
            return f"{where}: directives ({line.split()[0]}) must come before the code of a cell"
    except (ValueError, OverflowError):
        return None  # the validator reports these
    return None


def apply(directive: Directive, settings: Settings, check_mode: Callable[[str], None] | None = None) -> str:
    """Apply a setting directive; returns what it did. Raises ``DirectiveError`` for bad input.

    ``limits`` and ``nexus_status`` are displays: the kernel handles those itself.
    ``check_mode`` may raise ``DirectiveError`` when a mode cannot be used here.
    """
    name, argument = directive.name, directive.argument.strip()
    if name not in DIRECTIVES:
        known = ", ".join(f"%{n}" for n in DIRECTIVES)
        raise DirectiveError(f"unknown directive %{name}: the Nexus kernel knows {known}")
    if name in ("timeout", "memory"):
        current = settings.timeout if name == "timeout" else settings.memory
        unit = "s" if name == "timeout" else "MB"
        if not argument:
            return f"{name}: {current} {unit}"
        try:
            value = int(argument)
        except ValueError:
            raise DirectiveError(f"%{name} takes a whole number, got {argument!r}") from None
        checked = (
            Limits.check(value, settings.memory)
            if name == "timeout"
            else Limits.check(settings.timeout, value)
        )
        if isinstance(checked, str):
            raise DirectiveError(checked)
        settings.update(**{name: value})
        return f"{name}: {value} {unit} (this and the following cells)"
    if name == "mode":
        if not argument:
            return f"mode: {settings.shown_mode}"
        mode = argument.lower()
        if mode not in MODES:
            raise DirectiveError(f"%mode takes one of {', '.join(MODES)}, got {argument!r}")
        if check_mode is not None:
            check_mode(mode)
        settings.update(mode=mode)
        return f"mode: {mode} (this and the following cells)"
    if argument:
        raise DirectiveError(f"%{name} takes no argument, got {argument!r}")
    return ""


def help_text() -> str:
    """The directives, one per line."""
    return "\n".join(f"%{name} {arg}".rstrip().ljust(30) + text for name, (arg, text) in DIRECTIVES.items())
