"""Observer settings (``observers:``), their secrets, and what is imported when they are off."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, SCRIPT

from mmrefine_agent.config import build_config
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.plugins_manager import load_plugins


def test_observer_keys_are_typed_and_set_from_the_command_line() -> None:
    config = build_config(
        {},
        [
            "observers.wandb.mode=offline",
            "observers.wandb.project=P",
            "observers.otel.endpoint=http://127.0.0.1:4318",
            "observers.otel.headers.Authorization=${OTEL_AUTH}",
            "observers.otel.capture_content=true",
        ],
    )
    assert config.observers.wandb is not None and config.observers.wandb.mode == "offline"
    assert config.observers.wandb.project == "P" and config.observers.wandb.entity is None
    assert config.observers.otel is not None and config.observers.otel.capture_content
    assert config.observers.otel.headers == {"Authorization": "${OTEL_AUTH}"}
    assert build_config({}).observers.wandb is None  # off unless given
    again = build_config(__import__("yaml").safe_load(config.to_yaml()))
    assert again == config


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("observers.wandb.projct=P", "did you mean 'observers.wandb.project'?"),
        ("observers.wandbb.mode=offline", "did you mean 'observers.wandb'?"),
        ("observers.otel.capture=true", "did you mean 'observers.otel.capture_content'?"),
        ("observers.wandb.mode=offlne", "'online', 'offline' or 'disabled'"),
        ("observers.otel.endpoint=localhost:4318", "http:// or https:// URL"),
    ],
)
def test_observer_key_errors_name_the_key(override: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({}, [override])
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("override", "secret"),
    [
        ("observers.otel.headers.Authorization=Bearer tok-abcdefgh12345", "tok-abcdefgh12345"),
        ("observers.otel.headers.x-honeycomb-team=hc4f00ba4", "hc4f00ba4"),
        ("observers.otel.endpoint=https://user:pw-s3cret@collector:4318", "pw-s3cret"),
    ],
)
def test_a_credential_in_observer_settings_is_refused_without_echo(
    override: str, secret: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({}, [override])
    message = str(caught.value)
    assert "observers.otel" in message and secret not in message


def test_observers_do_not_change_what_a_run_resumes() -> None:
    plain = build_config({}, ["data.limit=4"])
    watched = build_config(
        {}, ["data.limit=4", "observers.wandb.mode=offline", "observers.otel.endpoint=http://h:1"]
    )
    assert plain.fingerprint_dict() == watched.fingerprint_dict()


def test_both_observers_load_as_entry_point_plugins() -> None:
    plugins = load_plugins()
    for name in ("wandb", "otel"):
        plugin = plugins.pm.get_plugin(name)
        assert plugin is not None, name
        assert "mmrefine-agent" in plugins.origin_of(plugin)


CHECK_IMPORTS = """
import sys
from pathlib import Path
from mmrefine_agent.cli.main import main

def loaded():
    names = ("wandb", "opentelemetry", "mmrefine_plugins.observers.otel_export")
    return sorted(n for n in names if n in sys.modules)

try:
    main(["--help"])
except SystemExit:
    pass
print("help", loaded())
from mmrefine_agent import load_config, run
config = load_config(Path("configs/paper_single_pass.yaml"), [
    "model.backend=scripted", "model.options.script=" + sys.argv[1], "judge.name=offline",
    "data.limit=2"])
assert run(config, sys.argv[2]).complete
# langsmith (under langchain-core) imports opentelemetry.sdk by itself whenever it is installed;
# the observers' exporter and wandb stay out
print("run", [n for n in loaded() if n != "opentelemetry"])
"""


def test_help_and_runs_without_observers_import_neither_library(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK_IMPORTS, str(SCRIPT), str(tmp_path / "r")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "help []" in result.stdout and "run []" in result.stdout, result.stdout
