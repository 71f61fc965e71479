"""The ``nexus-kernel`` command: install, demo, image build, cleanup, status, run, mcp."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]


def _run(args: argparse.Namespace) -> int:
    # One tool, then exit: a warm pool would only start containers to remove them at exit.
    os.environ.setdefault("NEXUS_POOL_SIZE", "0")
    from .api import create_and_run_tool

    if args.file == "-":
        code = sys.stdin.read()
    else:
        with open(args.file, encoding="utf-8") as handle:
            code = handle.read()
    response = create_and_run_tool(code, timeout=args.timeout, memory_limit_mb=args.memory)
    print(json.dumps(response, indent=2))
    return 0 if response["success"] else 1


def _image_build(args: argparse.Namespace) -> int:
    from .executors.image import build_image

    print(build_image(force=args.force, if_missing=args.if_missing, dockerfile=args.dockerfile))
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    from .executors.docker import cleanup_orphans

    print(f"removed {cleanup_orphans()} leftover sandbox container(s)")
    return 0


def _install(args: argparse.Namespace) -> int:
    from .install import install_kernelspec

    print(install_kernelspec(user=args.user, sys_prefix=args.sys_prefix, prefix=args.prefix))
    return 0


def _status(args: argparse.Namespace) -> int:
    from .status import status

    print(json.dumps(status(), indent=2))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import main as demo

    return demo()


def _mcp(args: argparse.Namespace) -> int:
    from .mcp_server import serve

    serve(transport=args.transport, host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(prog="nexus-kernel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    run = command("run", _run, "run a file (or - for stdin) as a one-time tool, print the response")
    run.add_argument("file")
    run.add_argument("--timeout", type=int, default=60)
    run.add_argument("--memory", type=int, default=128)

    image = command("image", _image_build, "build the sandbox image (offline, from this machine's Python)")
    image.add_argument("action", choices=["build"])
    image.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    image.add_argument("--if-missing", action="store_true", help="do nothing when the image exists")
    image.add_argument(
        "--dockerfile", action="store_true", help="build from the shipped Dockerfile (needs python:3.x-slim)"
    )

    command("cleanup", _cleanup, "remove sandbox containers left behind by a crash")
    command("status", _status, "show the engine, image, mode, pool and policy")
    command("demo", _demo, "run the spec's three examples through the Nexus kernel")

    install = command("install", _install, "install the Nexus kernelspec for Jupyter")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument("--sys-prefix", action="store_true", help="install into sys.prefix (a venv)")
    where.add_argument("--prefix", help="install under this prefix")

    mcp = command("mcp", _mcp, "serve create_and_run_tool over the Model Context Protocol")
    mcp.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    mcp.add_argument("--host", default="127.0.0.1")
    mcp.add_argument("--port", type=int, default=8765)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nexus-kernel`` and ``python -m nexus_kernel``."""
    args = build_parser().parse_args(argv)
    return args.handler(args)
