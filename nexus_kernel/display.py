"""Turn a tool run into Jupyter output: live streams, a live status, a status display or an error.

Shared by the Nexus kernel and the ``%%nexus_tool`` magic, so both render a run the same way. The
only difference between them is the ``Sink`` that carries the output (the kernel's iopub socket or
IPython's display machinery).

The output contract of one run:

- the tool's stdout/stderr as ``stream`` output, live, as the sandbox writes them;
- the repr of the code's final expression, if it has one that is not None (computed inside the
  sandbox: only text comes back, never an object), as the cell's result;
- a tool that runs longer than ``LIVE_STATUS_DELAY_S`` gets a live status (a widget) that counts
  the elapsed time and turns into the final status in place;
- success: a status display (``text/plain`` one-liner, ``text/html`` badge with the response
  folded in, ``application/json`` = the whole documented response);
- failure (the tool raised, timed out, was rejected or not run): an ``error`` whose traceback
  is the tool's own, followed by the same one-line status. A quick failing cell therefore has
  the error as its only output, which is what Jupyter front ends (and jupyter_kernel_test) expect.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .executors.base import ToolError

#: A tool still running after this long gets a live status display (a quick cell gets none).
LIVE_STATUS_DELAY_S = 1.0
#: How often the live status refreshes its elapsed time.
LIVE_STATUS_TICK_S = 0.5
#: Strings longer than this are elided in the HTML view of the response (the JSON keeps them whole).
HTML_STRING_LIMIT = 2000

JSON_MIME = "application/json"

# Jupyter renders ANSI colours in tracebacks (and consoles do natively).
_RED, _GREEN, _YELLOW, _CYAN, _DIM, _BOLD, _RESET = (
    "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[2m", "\x1b[1m", "\x1b[0m",
)  # fmt: skip

#: state -> (symbol, badge colour, ANSI colour)
STATES: dict[str, tuple[str, str, str]] = {
    "running": ("⏳", "#0969da", _CYAN),
    "succeeded": ("✓", "#1a7f37", _GREEN),
    "failed": ("✗", "#cf222e", _RED),
    "blocked": ("⛔", "#9a6700", _YELLOW),
    "not run": ("∅", "#6e7781", _YELLOW),
    "interrupted": ("■", "#6e7781", _YELLOW),
}

_VIOLATION_LINE = re.compile(r"^line (\d+)\b")


class Sink(Protocol):
    """Where a run's output goes: the kernel's iopub socket, or IPython's display system."""

    def stream(self, name: str, text: str) -> None:
        """Send ``text`` as ``stdout`` or ``stderr`` stream output."""

    def display(self, bundle: dict[str, Any], *, display_id: str | None = None, update: bool = False) -> None:
        """Show a mime bundle (``update=True`` replaces the output shown under ``display_id``)."""

    def result(self, bundle: dict[str, Any]) -> None:
        """Show the value of the cell's final expression (an ``execute_result`` in the kernel)."""


# ---------------------------------------------------------------- classifying and summarising


def outcome(response: dict[str, Any], error: ToolError | None = None) -> str:
    """The run's state for humans: succeeded, failed, blocked (rejected by policy) or not run."""
    if response.get("success"):
        return "succeeded"
    if error is not None and error.ename == "SecurityViolation":
        return "blocked"
    if response.get("execution_mode") == "not_run":
        return "not run"
    return "failed"


def _mode_label(response: dict[str, Any]) -> str:
    mode = str(response.get("execution_mode", "?"))
    isolation = response.get("isolation")
    return f"{mode} ({isolation})" if isolation and isinstance(isolation, str) else mode


def summary_parts(response: dict[str, Any], total_seconds: float | None = None) -> list[str]:
    """The facts of a status line: mode, timings, limits, tool id."""
    result = response.get("tool_result") or {}
    parts = [_mode_label(response)]
    if response.get("execution_mode") != "not_run":
        parts.append(f"ran {_seconds(result.get('execution_time_seconds'))}")
        if "container_execution_time_seconds" in response:
            parts.append(f"container {_seconds(response['container_execution_time_seconds'])}")
    if total_seconds is not None:
        parts.append(f"total {_seconds(total_seconds)}")
    parts.append(f"timeout {response.get('timeout_seconds')} s")
    parts.append(f"memory {response.get('memory_limit_mb')} MB")
    parts.append(f"tool {response.get('tool_id')}")
    return parts


def summary_line(
    response: dict[str, Any], error: ToolError | None = None, total_seconds: float | None = None
) -> str:
    """One plain-text line, e.g. ``nexus ✓ succeeded · docker_isolated · ran 0.002 s · ...``."""
    state = outcome(response, error)
    symbol = STATES[state][0]
    return " · ".join([f"nexus {symbol} {state}", *summary_parts(response, total_seconds)])


def _seconds(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    return "? s"


# ---------------------------------------------------------------- mime bundles


def status_bundle(
    response: dict[str, Any], error: ToolError | None = None, total_seconds: float | None = None
) -> dict[str, Any]:
    """The end-of-cell status display: one line of text, an HTML badge, the whole response as JSON."""
    state = outcome(response, error)
    return {
        "text/plain": summary_line(response, error, total_seconds),
        "text/html": _status_html(state, summary_parts(response, total_seconds), response),
        JSON_MIME: response,
    }


def live_bundle(state: str, elapsed: float, timeout: int, memory: int, mode: str) -> dict[str, Any]:
    """The text and HTML of a run in progress (what the live status widget shows)."""
    parts = [f"{elapsed:.1f} s", f"mode {mode}", f"timeout {timeout} s", f"memory {memory} MB"]
    symbol = STATES[state][0]
    return {
        "text/plain": " · ".join([f"nexus {symbol} {state}", *parts]),
        "text/html": _status_html(state, parts, None),
    }


def _badge(state: str) -> str:
    symbol, colour, _ = STATES[state]
    return (
        f'<span style="background:{colour};color:#fff;border-radius:4px;padding:1px 7px;'
        f'font-weight:600;white-space:nowrap">{symbol} {html.escape(state)}</span>'
    )


def _status_html(state: str, parts: list[str], response: dict[str, Any] | None) -> str:
    facts = " <span style='opacity:.5'>·</span> ".join(html.escape(p) for p in parts)
    body = (
        '<div class="nexus-status" style="font-family:var(--jp-code-font-family,monospace);'
        'font-size:12px;line-height:1.6;margin:2px 0">'
        f"{_badge(state)} <span style='opacity:.85'>{facts}</span>"
    )
    if response is not None:
        pretty = html.escape(json.dumps(_elide(response), indent=2, ensure_ascii=False))
        body += (
            "<details style='margin-top:2px'><summary style='cursor:pointer;opacity:.7'>response</summary>"
            f"<pre style='margin:4px 0;font-size:11px'>{pretty}</pre></details>"
        )
    return body + "</div>"


def _elide(value: Any) -> Any:
    # The HTML view stays readable; application/json keeps every byte.
    if isinstance(value, dict):
        return {k: _elide(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_elide(v) for v in value]
    if isinstance(value, str) and len(value) > HTML_STRING_LIMIT:
        return value[:HTML_STRING_LIMIT] + f"… ({len(value) - HTML_STRING_LIMIT} more characters)"
    return value


# ---------------------------------------------------------------- errors


def error_content(
    response: dict[str, Any],
    error: ToolError | None,
    code: str = "",
    total_seconds: float | None = None,
) -> dict[str, Any]:
    """``ename``/``evalue``/``traceback`` for a failed run: the tool's traceback, then the status line.

    A rejected cell lists each violation with its line number and the offending source line.
    """
    result = response.get("tool_result") or {}
    if error is None:
        error = ToolError("ToolFailed", str(result.get("message", "the tool failed")))
    lines: list[str]
    if outcome(response, error) == "blocked":
        lines = [f"{_BOLD}{_YELLOW}{error.ename}{_RESET}: {error.evalue}"]
        lines += _violation_lines(response, code)
    else:
        lines = _colour_traceback(error)
        # Say why the sandbox stopped it (memory, timeout, output flood) when the traceback does not.
        message = str(result.get("message") or "")
        if message and message not in error.traceback:
            lines.append(f"{_YELLOW}{message}{_RESET}")
    lines += ["", _DIM + summary_line(response, error, total_seconds) + _RESET]
    return {"ename": error.ename, "evalue": error.evalue, "traceback": lines}


def interrupted_content(total_seconds: float | None = None) -> dict[str, Any]:
    """The error of a run stopped by the user (Jupyter's stop button)."""
    took = f" after {_seconds(total_seconds)}" if total_seconds is not None else ""
    message = f"the tool was interrupted{took}; its sandbox was stopped and removed"
    return {
        "ename": "KeyboardInterrupt",
        "evalue": message,
        "traceback": [f"{_BOLD}{_YELLOW}KeyboardInterrupt{_RESET}: {message}"],
    }


def _violation_lines(response: dict[str, Any], code: str) -> list[str]:
    source = code.splitlines()
    lines = []
    for violation in (response.get("security_check") or {}).get("violations", []):
        lines.append(f"  {_RED}✗{_RESET} {violation}")
        match = _VIOLATION_LINE.match(str(violation))
        if match and 0 < int(match.group(1)) <= len(source):
            number = int(match.group(1))
            lines.append(f"    {_DIM}{number:>4} |{_RESET} {source[number - 1]}")
    return lines


def _colour_traceback(error: ToolError) -> list[str]:
    lines = list(error.traceback) or [f"{error.ename}: {error.evalue}"]
    # The last line is "Ename: evalue" (Python's own format); make it stand out as Jupyter does.
    last = lines[-1]
    if last.startswith(error.ename):
        lines[-1] = f"{_BOLD}{_RED}{error.ename}{_RESET}{last[len(error.ename) :]}"
    return [
        re.sub(r'^(\s*File )("<tool>")(, line \d+)', rf"\1{_GREEN}\2{_RESET}{_CYAN}\3{_RESET}", line)
        for line in lines[:-1]
    ] + lines[-1:]


# ---------------------------------------------------------------- running a cell


@dataclass
class CellResult:
    """How a rendered run ended: the response (None when interrupted) and the error to report."""

    response: dict[str, Any] | None
    error: dict[str, Any] | None
    total_seconds: float
    streamed: dict[str, str] = field(default_factory=dict)
    #: repr() of the final expression (what was shown as the result), if any.
    value: str | None = None


StateCallback = Callable[[str, float], None]


class _Live:
    """The live status: appears once a tool outlives ``LIVE_STATUS_DELAY_S``, ticks, then settles."""

    def __init__(self, sink: Sink, describe: Callable[[str, float], dict[str, Any]],
                 on_state: StateCallback | None, delay: float) -> None:  # fmt: skip
        self._sink = sink
        self._describe = describe
        self._on_state = on_state
        self._delay = delay
        self._done = threading.Event()
        self._started = time.monotonic()
        self._widget: Any = None
        self.display_id: str | None = None
        self._thread = threading.Thread(target=self._run, name="nexus-live-status", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        if self._done.wait(self._delay):
            return
        try:
            from .widgets import live_status_widget

            self.display_id = f"nexus-live-{id(self):x}-{time.monotonic_ns():x}"
            self._widget, bundle = live_status_widget(self._describe("running", self.elapsed()))
            self._sink.display(bundle, display_id=self.display_id)
            while not self._done.wait(LIVE_STATUS_TICK_S):
                elapsed = self.elapsed()
                self._widget.value = self._describe("running", elapsed)["text/html"]
                if self._on_state:
                    self._on_state("running", elapsed)
        except Exception:
            import logging

            logging.getLogger(__name__).exception("live status failed")

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def stop(self) -> None:
        self._done.set()
        if self._thread.ident is not None:
            self._thread.join()

    def settle(self, bundle: dict[str, Any] | None) -> bool:
        """Replace the live display with ``bundle`` (if it was shown); True when it was."""
        if self.display_id is None:
            return False
        if bundle is not None:
            self._sink.display(bundle, display_id=self.display_id, update=True)
        if self._widget is not None:
            from .widgets import close_widget

            close_widget(self._widget)
        return True


def run_cell(
    code: str,
    timeout: int,
    memory_limit_mb: int,
    mode: str | None,
    sink: Sink,
    *,
    on_state: StateCallback | None = None,
    quiet: bool = False,
    echo: bool = True,
    live_delay: float | None = LIVE_STATUS_DELAY_S,
) -> CellResult:
    """Run ``code`` as a tool and render it to ``sink`` (streams, live status, status display).

    Returns the outcome; the caller reports ``CellResult.error`` its own way (an error reply in the
    kernel, an exception in the magic). ``KeyboardInterrupt`` is turned into an "interrupted" result
    after the executor has removed the sandbox. ``quiet`` suppresses the success status display;
    ``echo`` shows the value of a final expression, as a notebook does. ``live_delay=None``: no
    live status (its widget would open comms even where output is not wanted).
    """
    from .api import run_tool  # here, not at import: rendering helpers need no executor

    streamed: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def on_output(name: str, text: str) -> None:
        streamed[name].append(text)
        sink.stream(name, text)

    shown_mode = mode or _env_mode()

    def describe(state: str, elapsed: float) -> dict[str, Any]:
        return live_bundle(state, elapsed, timeout, memory_limit_mb, shown_mode)

    if on_state:
        on_state("running", 0.0)
    live = _Live(sink, describe, on_state, live_delay if live_delay is not None else 0.0)
    started = time.monotonic()
    if live_delay is not None:
        live.start()
    try:
        run = run_tool(
            code, timeout, memory_limit_mb, mode=mode, on_output=on_output, echo_last_expression=echo
        )
    except KeyboardInterrupt:
        # The executor has already killed and removed the sandbox (its contract); report, don't crash.
        total = time.monotonic() - started
        live.stop()
        live.settle(describe("interrupted", total))
        if on_state:
            on_state("interrupted", total)
        return CellResult(None, interrupted_content(total), total, _joined(streamed))
    finally:
        live.stop()  # also when something else goes wrong: the status thread never outlives the run
    total = time.monotonic() - started
    response, error = run.response, run.error
    _flush_remainder(response, error, streamed, sink)
    state = outcome(response, error)
    if on_state:
        on_state(state, total)
    if response.get("success"):
        value = run.value
        if value is not None:
            sink.result({"text/plain": value})
        bundle = status_bundle(response, error, total)
        if not live.settle(bundle) and not quiet:
            sink.display(bundle)
        return CellResult(response, None, total, _joined(streamed), value)
    live.settle(status_bundle(response, error, total))
    return CellResult(response, error_content(response, error, code, total), total, _joined(streamed))


def _env_mode() -> str:
    import os

    return (os.environ.get("NEXUS_EXECUTION_MODE") or "auto").strip().lower()


def _joined(streamed: dict[str, list[str]]) -> dict[str, str]:
    return {name: "".join(parts) for name, parts in streamed.items()}


def _flush_remainder(
    response: dict[str, Any], error: ToolError | None, streamed: dict[str, list[str]], sink: Sink
) -> None:
    """Show what the response holds beyond what was streamed live (an executor that does not
    stream, or the truncation notes), without repeating the traceback the error will show."""
    result = response.get("tool_result") or {}
    for name in ("stdout", "stderr"):
        full = str(result.get(name) or "")
        sent = "".join(streamed[name])
        if not full.startswith(sent):
            continue  # not a continuation of what was shown: showing it would duplicate output
        rest = full[len(sent) :]
        if name == "stderr" and error is not None and error.traceback:
            rest = rest.replace("\n".join(error.traceback) + "\n", "", 1)
        if rest:
            streamed[name].append(rest)
            sink.stream(name, rest)
