"""The Jupyter project's own kernel conformance suite (jupyter_kernel_test) against the Nexus kernel.

Design choices the suite checks:

- A successful cell ends with a status ``display_data`` (text/plain, text/html, application/json:
  the documented response), so ``code_display_data`` is simply a cell that runs.
- A failing cell's only output is its ``error`` (the status line is the last traceback line and
  the full response rides on the execute_reply's metadata), as the suite requires.
- The value of a final expression is computed in the sandbox and comes back as its repr, as an
  ``execute_result``; history keeps each cell with that result.
"""

from __future__ import annotations

import unittest

import jupyter_kernel_test as jkt
import pytest
from kernel_helpers import KERNEL_NAMES, ensure_kernelspecs


class _NexusKernelTests(jkt.KernelTests):
    kernel_name = ""
    language_name = "python"
    file_extension = ".py"

    code_hello_world = "print('hello, world')"
    code_stderr = "import sys; print('test', file=sys.stderr)"
    code_generate_error = "raise ValueError('boom')"
    code_display_data = [{"code": "x = 1", "mime": "application/json"}]
    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "print('side effect')\n'a' * 3", "result": "'aaa'"},
        {"code": "[n * n for n in range(4)]", "result": "[0, 1, 4, 9]"},
    ]
    code_page_something = "print?"
    code_inspect_sample = "print"
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "1 + *"

    completion_samples = [
        {"text": "prin", "matches": {"print"}},
        {"text": "import mat", "matches": {"math"}},
        # Not offered: modules and builtins a tool may not use.
        {"text": "import subproc", "matches": set()},
        {"text": "exe", "matches": set()},
        {"text": "%time", "matches": {"%timeout"}},
    ]
    complete_code_samples = ["1", "print('hello, world')", "def f(x):\n  return x*2\n\n\n", "%timeout 30"]
    incomplete_code_samples = ["print('''hello", "def f(x):\n  x*2", "x = [1,"]
    invalid_code_samples = ["import = 7q", "1)"]

    @classmethod
    def setUpClass(cls) -> None:
        ensure_kernelspecs()
        super().setUpClass()


class TestNexusKernelFallback(_NexusKernelTests):
    kernel_name = KERNEL_NAMES["fallback"]


@pytest.mark.docker
class TestNexusKernelDocker(_NexusKernelTests):
    kernel_name = KERNEL_NAMES["docker"]


del _NexusKernelTests  # the base class has no kernel: collect only the two modes

if __name__ == "__main__":
    unittest.main()
