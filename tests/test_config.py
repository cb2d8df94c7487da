from pathlib import Path

import pytest

from mmrefine_agent.config import build_config, load_config
from mmrefine_agent.errors import ConfigError

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize(
    "name", ["quickstart", "paper_single_pass", "self_critique", "multi_round", "sweep_rounds"]
)
def test_shipped_configs_validate(name: str) -> None:
    config = load_config(CONFIGS / f"{name}.yaml")
    assert config.name == name


def test_unknown_key_names_it_with_did_you_mean() -> None:
    with pytest.raises(ConfigError) as info:
        build_config({"strategy": {"max_round": 3}})
    message = str(info.value)
    assert "strategy.max_round" in message
    assert "did you mean 'strategy.max_rounds'" in message


def test_wrong_type_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"'run\.concurrency'"):
        build_config({}, ["run.concurrency=lots"])


def test_set_overrides_parse_yaml_values() -> None:
    config = build_config(
        {},
        [
            "strategy.max_rounds=2",
            "data.filter.modality=image",
            "model.params.temperature=0.5",
            "run.cache=false",
        ],
    )
    assert config.strategy.max_rounds == 2
    assert config.data.filter.modality == "image"
    assert config.model.params == {"temperature": 0.5}
    assert config.run.cache is False


def test_secrets_in_config_are_refused() -> None:
    with pytest.raises(ConfigError, match="environment"):
        build_config({"model": {"params": {"api_key": "sk-123"}}})


def test_resolved_config_yaml_round_trips(tmp_path: Path) -> None:
    config = build_config({"name": "x"}, ["strategy.name=multi_round"])
    path = tmp_path / "c.yaml"
    path.write_text(config.to_yaml())
    assert load_config(path) == config


def test_yaml_is_parsed_safely(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(path)
