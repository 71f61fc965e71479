"""ipywidgets for the kernel and the magic: limit controls and the live run status.

Widgets live in the kernel process (never in the sandbox). Each bundle carries a ``text/plain``
fallback, so front ends without a widget manager (jupyter console, nbconvert) still say something
useful.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from .directives import MODES, Settings
from .display import live_bundle
from .limits import MEMORY_MAX_MB, MEMORY_MIN_MB, TIMEOUT_MAX_S, TIMEOUT_MIN_S

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def widget_bundle(widget: w.Widget, text: str) -> dict[str, Any]:
    """The widget's view bundle with a readable ``text/plain`` instead of its repr."""
    bundle = dict(widget._repr_mimebundle_() or {})
    bundle["text/plain"] = text
    return bundle


def live_status_widget(bundle: dict[str, Any]) -> tuple[w.HTML, dict[str, Any]]:
    """A status line for a run in progress (its value is refreshed as the run goes on)."""
    widget = w.HTML(value=bundle["text/html"])
    return widget, widget_bundle(widget, bundle["text/plain"])


def close_widget(widget: w.Widget) -> None:
    """Close a widget and the layout and style models it created, so none is left in the front end."""
    for part in (getattr(widget, "style", None), getattr(widget, "layout", None), widget):
        if isinstance(part, w.Widget):
            part.close()


class LimitsPanel:
    """Sliders for the limits of the following cells, a mode switch, and the current run's state.

    Two-way: moving a slider changes ``settings``; ``%timeout 30`` moves the slider.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        style = {"description_width": "110px"}
        layout = w.Layout(width="460px")
        self.timeout = w.IntSlider(
            value=settings.timeout, min=TIMEOUT_MIN_S, max=TIMEOUT_MAX_S, step=1,
            description="timeout (s)", style=style, layout=layout, continuous_update=False,
        )  # fmt: skip
        self.memory = w.IntSlider(
            value=settings.memory, min=MEMORY_MIN_MB, max=MEMORY_MAX_MB, step=16,
            description="memory (MB)", style=style, layout=layout, continuous_update=False,
        )  # fmt: skip
        self.mode = w.ToggleButtons(
            options=list(MODES), value=settings.shown_mode, description="mode", style=style
        )
        self.status = w.HTML(value=live_bundle("not run", 0.0, settings.timeout, settings.memory,
                                               settings.shown_mode)["text/html"])  # fmt: skip
        self.box = w.VBox(
            [w.HTML("<b>Nexus limits</b> <span style='opacity:.6'>(apply to the following cells)</span>"),
             self.timeout, self.memory, self.mode, self.status]
        )  # fmt: skip
        self.timeout.observe(lambda change: settings.update(timeout=change["new"]), "value")
        self.memory.observe(lambda change: settings.update(memory=change["new"]), "value")
        self.mode.observe(lambda change: settings.update(mode=change["new"]), "value")
        settings.listeners.append(self.refresh)

    def refresh(self) -> None:
        """Move the controls to the current settings (after a directive changed them)."""
        # Only assign on change: assigning sends a comm message even when the value is the same.
        for control, value in (
            (self.timeout, self.settings.timeout),
            (self.memory, self.settings.memory),
            (self.mode, self.settings.shown_mode),
        ):
            if control.value != value:
                control.value = value

    def show_state(self, state: str, elapsed: float) -> None:
        """Show the state of the current (or last) run in the panel."""
        s = self.settings
        self.status.value = live_bundle(state, elapsed, s.timeout, s.memory, s.shown_mode)["text/html"]

    def bundle(self) -> dict[str, Any]:
        """The panel as a displayable bundle, with the directives as its text fallback."""
        return widget_bundle(self.box, self.settings.describe())

    def controls(self) -> dict[str, w.Widget]:
        """The limit controls by name (tests drive them through their comms)."""
        return {"timeout": self.timeout, "memory": self.memory, "mode": self.mode}


def register_comm_targets() -> None:
    """Let front ends open widget comms to this process (what ``%load_ext`` does under IPython)."""
    w.register_comm_target()
