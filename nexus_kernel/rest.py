"""The REST API, as a Jupyter Server extension: ``/nexus/api/tools``, ``/status`` and ``/openapi.json``.

Installing the package enables it (``jupyter_server_config.d/nexus_kernel.json``), so JupyterLab users
get it behind Jupyter's own authentication: every endpoint needs the server's token or a logged-in
session, and the authorizer is asked as for kernels (running a tool is executing code). Tools block,
so they run in a bounded thread pool and a 60-second tool never freezes the server.

The OpenAPI document is authenticated too: it is static and ships inside the package, so nobody needs
it before they hold a token, and an unauthenticated route would only advertise that the API exists.
"""

from __future__ import annotations

import asyncio
import functools
import json
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .api import create_and_run_tool
from .limits import MAX_CONCURRENT_TOOLS
from .tool_schema import parse_arguments

API_PREFIX = "nexus/api"
#: Resource name the Jupyter authorizer sees: running code is what kernels do.
AUTH_RESOURCE = "kernels"


def openapi_document() -> dict[str, Any]:
    """The shipped OpenAPI 3.1 description of the endpoints."""
    return json.loads(resources.files(__package__).joinpath("openapi.json").read_text(encoding="utf-8"))


class _NexusHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    def initialize(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool

    async def in_pool(self, func: Any, *args: Any) -> Any:
        """Run blocking ``func`` on the bounded pool, off the server's event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, functools.partial(func, *args))

    def reply(self, payload: Any) -> None:
        self.finish(json.dumps(payload))


class ToolsHandler(_NexusHandler):
    """``POST /nexus/api/tools``: run one tool; 200 with the documented response, 400 for a bad request."""

    @web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        parsed = parse_arguments(self._json_body())
        if isinstance(parsed, str):
            raise web.HTTPError(400, parsed)
        try:
            response = await self.in_pool(
                create_and_run_tool, parsed.python_code, parsed.timeout, parsed.memory_limit_mb
            )
        except Exception as exc:
            self.log.exception("nexus: create_and_run_tool raised")
            raise web.HTTPError(500, f"internal error: {type(exc).__name__}: {exc}") from exc
        # A tool that failed is still a 200: success false is data, with the reason inside.
        self.reply(response)

    def _json_body(self) -> object:
        body = self.request.body
        if not body.strip():
            raise web.HTTPError(
                400, 'the request body is empty: send a JSON object like {"python_code": "print(1)"}'
            )
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise web.HTTPError(400, f"the request body is not valid JSON: {exc}") from exc


class StatusHandler(_NexusHandler):
    """``GET /nexus/api/status``: execution mode, engine, image and pool (``status.status()``)."""

    @web.authenticated
    @authorized(action="read")
    async def get(self) -> None:
        try:
            from .status import status  # imported late: it brings in the docker SDK

            # The default executor, not the tool pool: status must answer while the pool is busy.
            report = await asyncio.get_running_loop().run_in_executor(None, status)
        except Exception as exc:
            self.log.exception("nexus: status() raised")
            raise web.HTTPError(500, f"status unavailable: {type(exc).__name__}: {exc}") from exc
        self.reply(report)


class OpenAPIHandler(_NexusHandler):
    """``GET /nexus/api/openapi.json``: the shipped OpenAPI document."""

    @web.authenticated
    @authorized(action="read")
    async def get(self) -> None:
        self.reply(openapi_document())


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nexus_kernel.rest"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the handlers under the server's base URL."""
    web_app = serverapp.web_app
    # Bounded: extra requests queue here instead of starting unlimited sandboxes at once.
    pool = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_TOOLS, thread_name_prefix="nexus-tool")
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "tools"), ToolsHandler, {"pool": pool}),
            (url_path_join(base, "status"), StatusHandler, {"pool": pool}),
            (url_path_join(base, "openapi.json"), OpenAPIHandler, {"pool": pool}),
        ],
    )
    serverapp.log.info("nexus_kernel: REST API at %s (tools, status, openapi.json)", base)


# The name older Jupyter Server releases look for.
load_jupyter_server_extension = _load_jupyter_server_extension
