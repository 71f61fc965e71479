"""``%%nexus_tool``: run a cell of an ordinary IPython notebook as a sandboxed one-time tool.

::

    %load_ext nexus_kernel

    %%nexus_tool --timeout 30 --memory 64 --out result
    print("hello from the sandbox")

The cell body never runs in the notebook's own kernel. It renders exactly like a Nexus kernel cell
(``display.run_cell``); afterwards the documented response dict is ``_nexus`` (and ``result`` with
``--out result``). A failing tool raises, so "Run All" stops there, with the tool's own traceback.
"""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from . import display
from .directives import MODES
from .limits import MEMORY_DEFAULT_MB, TIMEOUT_DEFAULT_S

LAST_RESULT_NAME = "_nexus"


class NexusToolError(Exception):
    """A tool failed. IPython shows ``_render_traceback_()``: the tool's traceback, as the kernel does."""

    def __init__(self, error: dict[str, Any], response: dict[str, Any] | None) -> None:
        super().__init__(error["evalue"])
        self.error = error
        self.response = response

    def _render_traceback_(self) -> list[str]:
        return list(self.error["traceback"])


def _tool_error(error: dict[str, Any], response: dict[str, Any] | None) -> NexusToolError:
    # Named after the tool's exception (ZeroDivisionError, SecurityViolation...), so the notebook's
    # error output carries the same ename as in the Nexus kernel.
    name = str(error.get("ename") or "NexusToolError")
    cls = type(name, (NexusToolError,), {"__module__": __name__})
    return cls(error, response)


class _IPythonSink:
    """``display.Sink`` on IPython's own streams and display machinery."""

    def stream(self, name: str, text: str) -> None:
        out = sys.stdout if name == "stdout" else sys.stderr
        out.write(text)
        out.flush()

    def display(self, bundle: dict[str, Any], *, display_id: str | None = None, update: bool = False) -> None:
        from IPython.display import display as show
        from IPython.display import update_display

        if update:
            update_display(bundle, raw=True, display_id=display_id)
        else:
            show(bundle, raw=True, display_id=display_id) if display_id else show(bundle, raw=True)

    def result(self, bundle: dict[str, Any]) -> None:
        # Shown where the kernel shows its execute_result: before the status line.
        self.display(bundle)


@magics_class
class NexusMagics(Magics):
    """The ``%%nexus_tool`` cell magic."""

    @magic_arguments()
    @argument("--timeout", type=int, default=TIMEOUT_DEFAULT_S, help="seconds, 10-300 (default 60)")
    @argument("--memory", type=int, default=MEMORY_DEFAULT_MB, help="MB, 32-512 (default 128)")
    @argument("--mode", choices=MODES, default=None, help="docker | fallback | auto (default: environment)")
    @argument("--out", default=None, help="also store the response dict in this variable")
    @argument("--quiet", action="store_true", help="no status display when the tool succeeds")
    @cell_magic
    def nexus_tool(self, line: str, cell: str) -> None:
        """Run the cell body as a sandboxed one-time tool; the response dict becomes ``_nexus``."""
        args = parse_argstring(self.nexus_tool, line)
        result = display.run_cell(
            cell, args.timeout, args.memory, args.mode, _IPythonSink(), quiet=args.quiet
        )
        namespace = self.shell.user_ns
        namespace[LAST_RESULT_NAME] = result.response
        if args.out:
            namespace[args.out] = result.response
        if result.error is not None:
            raise _tool_error(result.error, result.response)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nexus_kernel``: register ``%%nexus_tool``."""
    ipython.register_magics(NexusMagics)
