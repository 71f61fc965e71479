"""nexus-kernel: run one-time Python tools safely, from Jupyter or any Python program."""

from .api import create_and_run_tool

__version__ = "0.1.0"
__all__ = ["__version__", "create_and_run_tool", "load_ipython_extension"]


def load_ipython_extension(ipython):
    """``%load_ext nexus_kernel`` registers the ``%%nexus_tool`` cell magic."""
    from .magic import load_ipython_extension as load

    load(ipython)
