"""nexus-kernel: run one-time Python tools safely, from Jupyter or any Python program."""

from .api import create_and_run_tool

__version__ = "0.1.0"
__all__ = ["create_and_run_tool", "__version__", "load_ipython_extension"]


def load_ipython_extension(ipython):  # noqa: ANN001 - IPython's hook signature
    """``%load_ext nexus_kernel`` registers the ``%%nexus_tool`` cell magic."""
    from .magic import load_ipython_extension as load

    load(ipython)
