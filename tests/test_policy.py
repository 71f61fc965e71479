"""The policy: one place for the rules, configurable with NEXUS_POLICY_FILE, consistent with the sandbox."""

from __future__ import annotations

import importlib
import io
import json
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_kernel import policy as policy_module
from nexus_kernel import validator
from nexus_kernel.policy import Policy, load_policy

POLICY = Policy()


@pytest.fixture
def fresh_policy_cache() -> Iterator[None]:
    policy_module._load.cache_clear()
    yield
    policy_module._load.cache_clear()


def _write(tmp_path: Path, config: object) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


# -- module rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["json", "json.decoder", "collections.abc", "xml.etree.ElementTree", "html.parser", "__future__", "sys"],
)
def test_allowed_modules(name: str) -> None:
    assert POLICY.module_allowed(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("os", "file-system or operating-system access"),
        ("os.path", "file-system or operating-system access"),
        ("socket", "network access"),
        ("urllib.request", "network access"),
        ("subprocess", "process or thread creation"),
        ("platform", "process or thread creation"),
        ("importlib.util", "dynamic code or interpreter internals"),
        ("json.tool", "a command-line program that opens the files named on the host's command line"),
        ("xml", "not in the policy's allowed standard-library modules"),
        ("requests", "not in the policy's allowed standard-library modules"),
    ],
)
def test_refused_modules_say_why(name: str, reason: str) -> None:
    assert not POLICY.module_allowed(name)
    assert POLICY.module_refusal(name) == reason


def test_allowed_and_denied_lists_do_not_overlap() -> None:
    assert not POLICY.allowed_modules & set(POLICY.denied_modules)


def test_every_allowed_module_exists_in_this_python() -> None:
    for name in POLICY.allowed_modules:
        importlib.import_module(name)


def test_attribute_reasons_name_the_danger() -> None:
    assert "every class" in POLICY.attribute_reason("__subclasses__")
    assert "frames" in POLICY.attribute_reason("f_globals")
    assert "frames" in POLICY.attribute_reason("gi_frame")
    assert "code objects" in POLICY.attribute_reason("co_code")
    assert "builtins" in POLICY.attribute_reason("__globals__")
    assert "module the policy denies" in POLICY.attribute_reason("_os")


def test_runtime_config_is_json_and_consistent() -> None:
    config = POLICY.runtime_config()
    assert json.loads(json.dumps(config)) == config
    assert set(config) == {"allowed_modules", "blocked_builtins", "blocked_attributes"}
    assert "os" not in config["allowed_modules"] and "json" in config["allowed_modules"]
    assert "__future__" in config["allowed_modules"]
    assert {"eval", "exec", "compile"} <= set(config["blocked_builtins"])
    # getattr() in the sandbox refuses module-holding names as well as introspection names.
    assert {"__subclasses__", "_os", "sys", "builtins"} <= set(config["blocked_attributes"])


# -- consistency with the sandbox and with this Python ----------------------------------------------


def test_sys_attributes_match_the_bootstrap_facade() -> None:
    from nexus_kernel.executors import bootstrap

    facade = bootstrap._make_sys_facade(io.StringIO(), io.StringIO(), io.StringIO())  # type: ignore[arg-type]
    provided = {
        name
        for name in vars(facade)
        if name not in {"__name__", "__doc__", "__package__", "__loader__", "__spec__"}
    }
    assert provided == set(POLICY.sys_attributes)


def _dangerous(module: types.ModuleType) -> bool:
    """A module a tool must never hold: the real sys, or one the policy denies."""
    name = module.__name__
    parts = name.split(".")
    return name == "sys" or any(
        ".".join(parts[:i]) in POLICY.denied_modules for i in range(1, len(parts) + 1)
    )


def _allowed_module_objects() -> list[types.ModuleType]:
    found: dict[str, types.ModuleType] = {}
    for name in sorted(POLICY.allowed_modules):
        module = importlib.import_module(name)
        found[name] = module
        for value in vars(module).values():  # submodules loaded with it (json.decoder, collections.abc ...)
            if isinstance(value, types.ModuleType) and value.__name__.startswith(name + "."):
                found.setdefault(value.__name__, value)
    return list(found.values())


def test_every_module_reference_on_allowed_modules_is_refused() -> None:
    """``random._os``, ``typing.sys``, ``dataclasses.inspect`` ...: found by inspecting this Python."""
    checked = 0
    for module in _allowed_module_objects():
        for attr, value in vars(module).items():
            if not isinstance(value, types.ModuleType) or not _dangerous(value) or module.__name__ == "sys":
                continue
            checked += 1
            for code in (
                f"import {module.__name__}\nx = {module.__name__}.{attr}\n",
                f"from {module.__name__} import {attr}\n",
            ):
                result = validator.check(code, POLICY)
                assert result["safe"] is False, (code, value.__name__)
    assert checked >= 20  # random._os, tempfile._os/_shutil, typing.sys, enum.bltns, ...


def test_star_imports_cannot_smuggle_denied_modules() -> None:
    for module in _allowed_module_objects():
        if hasattr(module, "__all__") or module.__name__ == "sys":
            continue
        for attr, value in vars(module).items():
            if attr.startswith("_") or not isinstance(value, types.ModuleType) or not _dangerous(value):
                continue
            code = f"from {module.__name__} import *\nprint({attr}.__name__)\n"
            assert validator.check(code, POLICY)["safe"] is False, code


# -- configuration -----------------------------------------------------------------------------------


def test_no_policy_file_means_the_default(monkeypatch: pytest.MonkeyPatch, fresh_policy_cache: None) -> None:
    monkeypatch.delenv("NEXUS_POLICY_FILE", raising=False)
    assert load_policy() == Policy()


def test_policy_file_changes_what_the_validator_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_policy_cache: None
) -> None:
    assert validator.check("import shlex", POLICY)["safe"] is False
    assert validator.check("import random", POLICY)["safe"] is True

    path = _write(tmp_path, {"allow_modules": ["shlex", "pathlib"], "deny_modules": ["random"]})
    monkeypatch.setenv("NEXUS_POLICY_FILE", path)
    configured = load_policy()

    assert validator.check("import shlex\nprint(shlex.split('a b'))", configured) == {
        "safe": True,
        "violations": [],
    }
    # An allow entry lifts a default denial, for the validator and for the sandbox alike.
    assert validator.check("from pathlib import PurePosixPath", configured)["safe"] is True
    assert "pathlib" in configured.runtime_config()["allowed_modules"]
    refused = validator.check("import random", configured)
    assert refused["violations"] == ["line 1: import of 'random' is not allowed (denied by configuration)"]
    assert validator.check("from random import randint", configured)["safe"] is False
    assert "random" not in configured.runtime_config()["allowed_modules"]
    # Everything else keeps its default.
    assert validator.check("import os", configured)["safe"] is False
    assert validator.check("eval('1')", configured)["safe"] is False


def test_policy_file_is_read_once_per_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_policy_cache: None
) -> None:
    monkeypatch.setenv("NEXUS_POLICY_FILE", _write(tmp_path, {"allow_modules": ["shlex"]}))
    assert load_policy() is load_policy()


@pytest.mark.parametrize(
    "config",
    [["shlex"], {"allow_modules": "shlex"}, {"deny_modules": [1]}, {"allow_modules": [""]}],
    ids=["not-an-object", "not-a-list", "not-strings", "empty-name"],
)
def test_malformed_policy_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_policy_cache: None, config: object
) -> None:
    path = _write(tmp_path, config)
    monkeypatch.setenv("NEXUS_POLICY_FILE", path)
    with pytest.raises(ValueError, match="NEXUS_POLICY_FILE"):
        load_policy()


def test_unreadable_policy_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_policy_cache: None
) -> None:
    monkeypatch.setenv("NEXUS_POLICY_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match=r"missing\.json"):
        load_policy()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("NEXUS_POLICY_FILE", str(bad))
    with pytest.raises(ValueError, match=r"bad\.json"):
        load_policy()


# -- the newer rules' names exist in this Python (a renamed library name would leave a rule empty) ---


def _resolve(qualified: str) -> object:
    import builtins

    if "." not in qualified:
        return getattr(builtins, qualified)
    module, _, rest = qualified.partition(".")
    obj: object = importlib.import_module(module)
    for part in rest.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            module = f"{module}.{part}"
            obj = importlib.import_module(module)
    return obj


def test_refused_functions_exist() -> None:
    for qualified in POLICY.refused_functions:
        assert callable(_resolve(qualified)), qualified


@pytest.mark.parametrize(
    "table", ["path_arguments", "name_part_arguments", "buffering_arguments", "code_string_arguments"]
)
def test_argument_positions_match_the_signatures(table: str) -> None:
    import inspect

    for qualified, spec in getattr(POLICY, table).items():
        parameters = list(inspect.signature(_resolve(qualified)).parameters)
        for position, keyword in spec if isinstance(spec[0], tuple) else [spec]:
            assert parameters[position] == keyword, (table, qualified, parameters)


def test_public_private_names_are_namedtuple_and_enum_api() -> None:
    import collections
    import enum

    point = collections.namedtuple("Point", "x")
    color = enum.Enum("Color", "RED")
    definition_only = {"_ignore_", "_order_"}  # read from an Enum class body, then removed
    for name in POLICY.public_private_attributes - definition_only:
        assert hasattr(point, name) or hasattr(color, name) or hasattr(color.RED, name), name


def test_capability_names_are_real() -> None:
    import typing

    assert callable(typing.ForwardRef("x")._evaluate)  # eval() with the real builtins


def test_timeit_is_denied_and_a_configuration_can_allow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_policy_cache: None
) -> None:
    assert not POLICY.module_allowed("timeit")
    assert "compiles and runs statements given as text" in POLICY.module_refusal("timeit")
    monkeypatch.setenv("NEXUS_POLICY_FILE", _write(tmp_path, {"allow_modules": ["timeit"]}))
    configured = load_policy()
    assert configured.module_allowed("timeit")
    code = "import timeit\ndef work():\n    return 1\nprint(timeit.timeit(work, number=1) >= 0)\n"
    assert validator.check(code, configured) == {"safe": True, "violations": []}
    assert validator.check("import timeit\ntimeit.timeit(*['1'])", configured)["safe"] is False


def test_runtime_config_blocks_the_code_attribute_of_forward_references() -> None:
    assert "__forward_code__" in POLICY.runtime_config()["blocked_attributes"]
