"""NexusKernel: a Jupyter kernel whose every cell runs as a sandboxed one-time tool.

A wrapper kernel on ``ipykernel.kernelbase.Kernel``: there is no IPython shell in this process, so
no magics, no ``!`` escapes and no ``get_ipython()`` are reachable from a cell. A cell's code goes
through ``api.run_tool`` (validation, limits, sandbox) with the limits set by directives or the
widgets; its output is rendered by ``display.run_cell`` (shared with the ``%%nexus_tool`` magic).

Launched by the kernelspec as ``python -m nexus_kernel.kernel -f {connection_file}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import html
import os
import platform
import signal
import sys
import threading
import time
from typing import Any

import comm
from ipykernel.comm import CommManager
from ipykernel.comm.comm import BaseComm
from ipykernel.jsonutil import json_clean
from ipykernel.kernelbase import Kernel

from . import __version__, directives, display, introspect
from .directives import Directive, DirectiveError, Settings

#: How long shutdown waits for an interrupted tool to clean up its sandbox.
SHUTDOWN_GRACE_S = 10.0
HISTORY_SESSION = 1


class _IopubSink:
    """``display.Sink`` over the kernel's iopub socket, bound to one execute request.

    Output is sent with an explicit parent header because the live status and the executors'
    output callbacks may run on other threads than the request's.
    """

    def __init__(self, kernel: NexusKernel, parent: dict[str, Any], silent: bool) -> None:
        self._kernel = kernel
        self._parent = parent
        self._silent = silent
        self._lock = threading.Lock()

    def send(self, msg_type: str, content: dict[str, Any]) -> None:
        if self._silent or self._kernel.session is None:
            return
        with self._lock:
            self._kernel.session.send(
                self._kernel.iopub_socket,
                msg_type,
                json_clean(content),
                parent=self._parent,
                ident=self._kernel._topic(msg_type),
            )

    def stream(self, name: str, text: str) -> None:
        self.send("stream", {"name": name, "text": text})

    def display(self, bundle: dict[str, Any], *, display_id: str | None = None, update: bool = False) -> None:
        transient = {"display_id": display_id} if display_id else {}
        msg_type = "update_display_data" if update else "display_data"
        self.send(msg_type, {"data": bundle, "metadata": {}, "transient": transient})

    def result(self, bundle: dict[str, Any]) -> None:
        content = {"execution_count": self._kernel.execution_count, "data": bundle, "metadata": {}}
        self.send("execute_result", content)


class NexusKernel(Kernel):
    """Python, sandboxed: each cell is validated and run as a one-time tool."""

    implementation = "nexus_kernel"
    implementation_version = __version__
    language_info = {
        "name": "python",
        "version": platform.python_version(),
        "mimetype": "text/x-python",
        "file_extension": ".py",
        # The ipython lexer/mode also colours the %directives.
        "pygments_lexer": "ipython3",
        "codemirror_mode": {"name": "ipython", "version": 3},
        "nbconvert_exporter": "python",
    }

    def __init__(self, **kwargs: Any) -> None:
        # IPKernelApp passes IPython-shell arguments this kernel has no use for.
        for unused in ("profile_dir", "user_ns"):
            kwargs.pop(unused, None)
        super().__init__(**kwargs)
        self.settings = Settings()
        self._panel: Any = None
        self._history: list[tuple[int, int, str, str | None]] = []
        self._last_response: dict[str, Any] | None = None
        self._tool_running = threading.Event()
        self._tool_finished = threading.Event()
        self._wire_comms()

    # ------------------------------------------------------------------ comms and widgets

    def _wire_comms(self) -> None:
        # The comm package asks the hosting kernel for its manager; without an IPython shell we
        # wire it ourselves (what ipykernel.ipkernel does for IPython), then route comm messages.
        manager = CommManager(parent=self, kernel=self)
        comm.get_comm_manager = lambda: manager
        comm.create_comm = BaseComm
        self.comm_manager = manager
        for msg_type in ("comm_open", "comm_msg", "comm_close"):
            self.shell_handlers[msg_type] = getattr(manager, msg_type)
        from .widgets import register_comm_targets

        register_comm_targets()

    def _limits_panel(self) -> Any:
        # Created on first use: widgets open comms, and a kernel nobody asked for widgets stays quiet.
        if self._panel is None:
            from .widgets import LimitsPanel

            self._panel = LimitsPanel(self.settings)
        return self._panel

    def _on_state(self, state: str, elapsed: float) -> None:
        if self._panel is not None:
            self._panel.show_state(state, elapsed)

    # ------------------------------------------------------------------ kernel info

    @property
    def banner(self) -> str:  # type: ignore[override]
        s = self.settings
        return (
            f"Nexus kernel {__version__}: sandboxed Python {platform.python_version()}\n"
            "Every cell runs as a one-time tool in a sandbox (no state is kept between cells).\n"
            f"mode {s.shown_mode} · timeout {s.timeout} s · memory {s.memory} MB\n"
            "Directives:\n" + directives.help_text()
        )

    @property
    def kernel_info(self) -> dict[str, Any]:
        info = super().kernel_info
        # A debugger would attach to this process, which never runs the cell's code.
        info["supported_features"] = [f for f in info.get("supported_features", []) if f != "debugger"]
        info["nexus"] = {
            "execution_mode": self.settings.shown_mode,
            "timeout_seconds": self.settings.timeout,
            "memory_limit_mb": self.settings.memory,
        }
        return info

    async def do_debug_request(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {}

    # ------------------------------------------------------------------ execution

    async def do_execute(
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, str] | None = None,
        allow_stdin: bool = False,
        *,
        cell_meta: dict[str, Any] | None = None,
        cell_id: str | None = None,
    ) -> dict[str, Any]:
        parent = self.get_parent("shell")
        sink = _IopubSink(self, parent, silent)
        self._last_response = None
        try:
            reply, output = self._execute(code, sink, silent)
        except KeyboardInterrupt:
            # An interrupt outside a tool run (between directives, say): still answer the request.
            reply, output = self._error(sink, display.interrupted_content()), None
        if reply["status"] == "error":
            output = None
        if store_history and not silent:
            self._history.append((HISTORY_SESSION, self.execution_count, code, output))
        reply["execution_count"] = self.execution_count
        if reply["status"] == "ok":
            reply.setdefault("payload", [])
            reply["user_expressions"] = {
                name: {
                    "status": "error",
                    "ename": "NotSupported",
                    "evalue": "the Nexus kernel keeps no state between cells: nothing to evaluate",
                    "traceback": [],
                }
                for name in (user_expressions or {})
            }
        return reply

    def _execute(
        self, code: str, sink: _IopubSink, silent: bool = False
    ) -> tuple[dict[str, Any], str | None]:
        cell = directives.parse_cell(code)
        if cell.help_target is not None:
            return self._help(cell.help_target, sink), None
        if cell.problem is not None:
            return self._error(sink, _message_error("SyntaxError", cell.problem)), None
        for directive in cell.directives:
            try:
                said = self._directive(directive, sink)
            except DirectiveError as exc:
                return self._error(sink, _message_error("DirectiveError", str(exc))), None
            if said and not cell.has_code:
                sink.stream("stdout", said + "\n")
        if not cell.has_code:
            return {"status": "ok"}, None
        s = self.settings
        self._tool_finished.clear()
        self._tool_running.set()
        try:
            # A silent request (a front end's own probe) touches no widget: widgets send comm messages.
            result = display.run_cell(
                cell.code, s.timeout, s.memory, s.mode, sink,
                on_state=None if silent else self._on_state,
                live_delay=None if silent else display.LIVE_STATUS_DELAY_S,
            )  # fmt: skip
        finally:
            self._tool_running.clear()
            self._tool_finished.set()
        self._last_response = result.response
        if result.error is not None:
            return self._error(sink, result.error), None
        return {"status": "ok"}, result.value

    def _directive(self, directive: Directive, sink: _IopubSink) -> str:
        if directive.name == "limits":
            directives.apply(directive, self.settings)  # rejects arguments
            sink.display(self._limits_panel().bundle())
            return ""
        if directive.name == "nexus_status":
            directives.apply(directive, self.settings)
            sink.display(_status_bundle(self.settings))
            return ""
        return directives.apply(directive, self.settings, check_mode=_check_mode)

    def _error(self, sink: _IopubSink, error: dict[str, Any]) -> dict[str, Any]:
        sink.send("error", error)
        return {"status": "error", **error}

    def _help(self, target: str, sink: _IopubSink) -> dict[str, Any]:
        found = introspect.inspect(target, len(target), detail_level=0)
        if not found["found"]:
            sink.stream("stdout", f"Object `{target}` not found.\n")
            return {"status": "ok"}
        return {"status": "ok", "payload": [{"source": "page", "data": found["data"], "start": 0}]}

    def finish_metadata(
        self, parent: dict[str, Any], metadata: dict[str, Any], reply_content: dict[str, Any]
    ):
        # The whole documented response rides on the execute_reply, for failing cells too.
        metadata = super().finish_metadata(parent, metadata, reply_content)
        # Taken, not read: an aborted request (after a failing cell) gets a reply too, with no run.
        response, self._last_response = self._last_response, None
        if response is not None:
            metadata["nexus"] = response
        return metadata

    # ------------------------------------------------------------------ introspection (static only)

    async def do_complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        return introspect.complete(code, cursor_pos)

    async def do_inspect(
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> dict[str, Any]:
        return introspect.inspect(code, cursor_pos, detail_level)

    async def do_is_complete(self, code: str) -> dict[str, Any]:
        return introspect.is_complete(code)

    async def do_history(
        self,
        hist_access_type: str,
        output: bool,
        raw: bool,
        session: int | None = None,
        start: int | None = None,
        stop: int | None = None,
        n: int | None = None,
        pattern: str | None = None,
        unique: bool = False,
    ) -> dict[str, Any]:
        entries = list(self._history)
        if hist_access_type == "tail":
            entries = entries[-n:] if n else entries
        elif hist_access_type == "range":
            wanted = {None, 0, HISTORY_SESSION}
            entries = [
                e for e in entries
                if session in wanted and (start is None or e[1] >= start) and (stop is None or e[1] < stop)
            ]  # fmt: skip
        elif hist_access_type == "search":
            entries = [e for e in entries if fnmatch.fnmatchcase(e[2], pattern or "*")]
            if unique:
                seen: dict[str, tuple[int, int, str, str | None]] = {}
                for entry in entries:
                    seen.pop(entry[2], None)
                    seen[entry[2]] = entry
                entries = list(seen.values())
            entries = entries[-n:] if n else entries
        else:
            entries = []
        history = [(e[0], e[1], (e[2], e[3]) if output else e[2]) for e in entries]
        return {"status": "ok", "history": history}

    # ------------------------------------------------------------------ shutdown

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        # Runs on the control thread while the shell thread may be inside a tool: interrupt it the
        # same way the stop button does, so the executor removes the sandbox, and wait for that.
        if self._tool_running.is_set():
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + SHUTDOWN_GRACE_S
            while not self._tool_finished.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        _close_executors()
        if self._panel is not None:
            self._panel.box.close_all()
        return {"status": "ok", "restart": restart}


def _message_error(ename: str, message: str) -> dict[str, Any]:
    return {"ename": ename, "evalue": message, "traceback": [f"\x1b[1;31m{ename}\x1b[0m: {message}"]}


def _check_mode(mode: str) -> None:
    """``%mode docker`` says at once when docker cannot be used here (instead of at the next cell)."""
    if mode != "docker":
        return
    from .executors.base import ExecutorUnavailable
    from .executors.selector import select_executor

    try:
        select_executor("docker")
    except ExecutorUnavailable as exc:
        raise DirectiveError(f"docker mode is not available here: {exc}") from None


def _status_bundle(settings: Settings) -> dict[str, Any]:
    """``%nexus_status``: the engine, image, mode and policy (from ``status.status()``)."""
    try:
        from .status import status

        info: dict[str, Any] = status()
    except Exception as exc:  # noqa: BLE001 - a status probe must not break the cell
        info = {"error": f"status unavailable: {type(exc).__name__}: {exc}"}
    info = {"kernel": {"mode": settings.shown_mode, "timeout_seconds": settings.timeout,
                       "memory_limit_mb": settings.memory}, **info}  # fmt: skip
    rows = _status_rows(info)
    width = max(len(k) for k, _ in rows)
    cells = "".join(
        f"<tr><td style='text-align:left;opacity:.7'>{html.escape(k)}</td>"
        f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return {
        "text/plain": "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows),
        "text/html": f"<table class='nexus-status-table' style='font-size:12px'>{cells}</table>",
        display.JSON_MIME: info,
    }


def _status_rows(info: dict[str, Any]) -> list[tuple[str, str]]:
    """The few facts a user wants from the status report, as (label, text) rows."""

    def section(name: str) -> dict[str, Any]:
        value = info.get(name)
        return value if isinstance(value, dict) else {}

    kernel, docker, pool, fallback = (
        section("kernel"),
        section("docker"),
        section("pool"),
        section("fallback"),
    )
    policy = section("policy")
    rows = [
        ("mode", f"{kernel.get('mode')} (auto would use {info.get('auto_mode') or 'nothing: no sandbox'})")
    ]
    if docker.get("reachable"):
        rows.append(("engine", f"Docker {docker.get('version')} at {docker.get('engine')}"))
        present = f"present, {docker.get('image_size_mb')} MB" if docker.get("image_present") else "missing"
        rows.append(("image", f"{docker.get('image')} ({present})"))
    else:
        rows.append(("engine", f"not reachable: {docker.get('error', 'unknown')}"))
    mine = pool.get("this_process") or {}
    if isinstance(mine, dict) and isinstance(mine.get("pool"), dict):
        rows.append(("warm pool", f"{mine['pool'].get('idle', 0)} idle of {mine['pool'].get('size', '?')}"))
    if fallback.get("available"):
        rows.append(("fallback", f"available ({fallback.get('isolation', 'process isolation')})"))
    else:
        rows.append(("fallback", f"unavailable: {fallback.get('error', 'unknown')}"))
    if policy and "error" not in policy:
        source = policy.get("policy_file") or "default policy"
        counts = (
            f"{policy.get('allowed_modules')} allowed modules, {policy.get('denied_modules')} denied, "
            f"{policy.get('blocked_builtins')} blocked builtins"
        )
        rows.append(("policy", f"{counts} ({source})"))
    rows.append(
        ("limits", f"timeout {kernel.get('timeout_seconds')} s, memory {kernel.get('memory_limit_mb')} MB")
    )
    if "error" in info:
        rows.append(("error", str(info["error"])))
    return rows


def _close_executors() -> None:
    """Release what executors keep between runs (the warm container pool) before the kernel exits.

    The executors also do this at interpreter exit; doing it here means a restart or shutdown is
    clean even if the process is then killed before its exit handlers run.
    """
    for module_name, class_name in (
        ("nexus_kernel.executors.docker", "DockerExecutor"),
        ("nexus_kernel.executors.fallback", "FallbackExecutor"),
    ):
        module = sys.modules.get(module_name)  # only executors this kernel actually used
        shared = getattr(getattr(module, class_name, None), "_shared", None)
        close = getattr(shared, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):  # shutdown goes on; the executor logs its own trouble
                close()


def main() -> None:
    """Start the kernel (what the kernelspec's argv runs)."""
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(kernel_class=NexusKernel)


if __name__ == "__main__":
    # Run the class from the importable module, not a second copy in __main__.
    from nexus_kernel.kernel import main as _main

    _main()
