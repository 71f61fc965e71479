"""Runs one peer (llm-sandbox or epicbox) in the bench virtualenv and times one-shot tool runs.

Started by ``bench.peers`` as ``<bench venv>/bin/python -m bench.peer_worker '<json config>'`` from
the repository root. Imports only the standard library, the peer and ``bench.protocol``, so the
peers' dependencies never meet ours. Each ``run`` times what a one-time tool costs with that peer:
create a fresh sandbox, run the code, tear the sandbox down.

Config keys: ``peer``, ``image``, ``python`` (interpreter path in the image), ``limits`` (memory_mb,
nano_cpus, pids, tmpfs, user) and ``read_only`` (False when the peer cannot work on a read-only root).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.protocol import serve

LABEL = {"nexus.bench": "peer"}  # lets the parent find (and remove) anything a failed run left behind


def _llm_sandbox(cfg: dict[str, Any]) -> tuple[Callable[[str], str], dict[str, Any]]:
    import docker
    from llm_sandbox import SandboxSession

    client = docker.from_env()
    limits = cfg["limits"]
    runtime = {
        "network_mode": "none",
        "read_only": cfg["read_only"],
        "tmpfs": {"/tmp": limits["tmpfs"]},
        "user": limits["user"],
        "cap_drop": ["ALL"],
        # llm-sandbox copies the code in as root-owned 0600 and chowns it to the user with
        # `docker exec --user root chown`: that needs CAP_CHOWN back, and no no-new-privileges
        # (which keeps an exec'd root process from gaining the capability).
        "cap_add": ["CHOWN"],
        "nano_cpus": limits["nano_cpus"],
        "mem_limit": f"{limits['memory_mb']}m",
        "pids_limit": limits["pids"],
        "labels": LABEL,
        # llm-sandbox starts the image's CMD with a tty and runs code with `docker exec`: it needs
        # a long-lived PID 1. SIGKILL as stop signal: a python PID 1 ignores SIGTERM, and the
        # default 10 s stop grace would be measured otherwise (the peer's best case, not its worst).
        "command": [cfg["python"], "-c", "import time; time.sleep(3600)"],
        "stop_signal": "SIGKILL",
    }

    def run(code: str) -> str:
        with SandboxSession(
            lang="python",
            image=cfg["image"],
            client=client,
            keep_template=True,
            skip_environment_setup=True,
            runtime_configs=dict(runtime),
            workdir=cfg["workdir"],
        ) as session:
            out = session.run(code)
        if out.exit_code != 0:
            raise RuntimeError(f"exit {out.exit_code}: {out.stderr.strip()[-300:]}")
        return out.stdout

    import importlib.metadata as md

    return run, {"version": md.version("llm-sandbox"), "runtime": {k: v for k, v in runtime.items()}}


def _epicbox(cfg: dict[str, Any]) -> tuple[Callable[[str], str], dict[str, Any]]:
    import epicbox

    limits = cfg["limits"]
    epicbox.configure(
        profiles=[
            epicbox.Profile(
                "nexus-bench",
                cfg["image"],
                user=limits["user"],
                read_only=cfg["read_only"],
                network_disabled=True,
            ),
        ]
    )
    # epicbox knows cputime/realtime/memory/processes only: no CPU quota, tmpfs, cap_drop or
    # no-new-privileges (its create() call has no way to pass them).
    ep_limits = {"cputime": 10, "realtime": 60, "memory": limits["memory_mb"], "processes": limits["pids"]}
    command = f"{cfg['python']} -I -"

    def run(code: str) -> str:
        result = epicbox.run("nexus-bench", command, stdin=code.encode(), limits=ep_limits)
        if result["exit_code"] != 0:
            raise RuntimeError(f"exit {result['exit_code']}: {result['stderr'][-300:]!r}")
        return result["stdout"].decode()

    import importlib.metadata as md

    return run, {"version": md.version("epicbox"), "limits": ep_limits, "command": command}


PEERS = {"llm-sandbox": _llm_sandbox, "epicbox": _epicbox}


def main() -> None:
    cfg = json.loads(sys.argv[1])
    state: dict[str, Any] = {}

    def setup() -> dict[str, Any]:
        state["run"], info = PEERS[cfg["peer"]](cfg)
        return info

    def run(code: str = "print(1)", expect: str = "1") -> dict[str, Any]:
        start = time.perf_counter()
        try:
            out = state["run"](code)
        except Exception as exc:  # noqa: BLE001 - a failed run is a data point, not a crash
            return {"s": time.perf_counter() - start, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        elapsed = time.perf_counter() - start
        ok = out.strip() == expect
        return {"s": elapsed, "ok": ok, "error": None if ok else f"unexpected stdout {out[:200]!r}"}

    serve({"run": run}, setup)


if __name__ == "__main__":
    main()
