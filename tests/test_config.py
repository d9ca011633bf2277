import tomllib
from pathlib import Path

import pytest

from commentminer.config import Config, load_config
from commentminer.errors import ConfigError

DEFAULT_TOML = Path(__file__).resolve().parents[1] / "configs" / "default.toml"


def test_default_toml_lists_every_default_exactly():
    # configs/default.toml is the user's reference: it must show every setting with the code's default.
    written = tomllib.loads(DEFAULT_TOML.read_text())
    assert Config.model_validate(written) == Config()
    for section, values in Config().model_dump(mode="json").items():
        assert set(written[section]) == set(values), f"[{section}] keys differ from the code"


def test_every_key_in_default_toml_is_commented():
    lines = DEFAULT_TOML.read_text().splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            assert lines[index - 1].lstrip().startswith("#"), f"line {index + 1} has no comment above: {line}"


def test_unknown_key_names_the_key_and_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[themes]\nseeed = 3\n")
    with pytest.raises(ConfigError, match=r"bad.toml: unknown config key 'themes.seeed'"):
        load_config(path)


def test_invalid_value_and_bad_toml_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="themes.n_quotes"):
        load_config(overrides=["themes.n_quotes=-1"])
    broken = tmp_path / "broken.toml"
    broken.write_text("[store\n")
    with pytest.raises(ConfigError, match="broken.toml: not valid TOML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_overrides_parse_toml_values_and_change_the_hash():
    base = load_config()
    changed = load_config(overrides=["themes.seed=7", "run.error_policy=raise", "themes.unit_kinds=['comment']"])
    assert changed.themes.seed == 7 and changed.run.error_policy == "raise"
    assert changed.themes.unit_kinds == ["comment"]
    assert changed.config_hash() != base.config_hash()
    assert load_config().config_hash() == base.config_hash()
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(overrides=["themes.seed"])
