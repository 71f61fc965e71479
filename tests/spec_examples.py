"""The spec's three examples and their exact outputs, read from the benign corpus (one copy)."""

from __future__ import annotations

from pathlib import Path

_BENIGN = Path(__file__).parent / "corpus" / "benign"


def _example(name: str) -> tuple[str, str]:
    return (_BENIGN / f"{name}.py").read_text(), (_BENIGN / f"{name}.out").read_text()


DATE_CONVERTER, DATE_CONVERTER_OUTPUT = _example("spec_date_converter")
PIPE_TO_JSON, PIPE_TO_JSON_OUTPUT = _example("spec_pipe_to_json")
PENTAGONAL, PENTAGONAL_OUTPUT = _example("spec_pentagonal")
