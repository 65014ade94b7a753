"""Configuration files: one clear error naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadside.config import RsuConfig
from vicoop import config
from vicoop.errors import ConfigError


def test_defaults_are_a_working_configuration() -> None:
    assert RsuConfig().publish.rate_hz == 20.0


def test_a_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_text("rsu_id: rsu-7\npublish:\n  rate_hz: 10\nserver:\n  port: 0\n")
    loaded = config.load(RsuConfig, path)
    assert (loaded.rsu_id, loaded.publish.rate_hz, loaded.server.port) == ("rsu-7", 10.0, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("publish:\n  rate_hz: -5\n", "publish.rate_hz: Input should be greater than 0 (got -5)"),
        (
            "server:\n  port: 70000\n",
            "server.port: Input should be less than or equal to 65535 (got 70000)",
        ),
        (
            "origin:\n  latitude_deg: north\n",
            "origin.latitude_deg: Input should be a valid number, unable to parse string as a number (got 'north')",
        ),
        ("publsh:\n  rate_hz: 5\n", "publsh: Extra inputs are not permitted"),
        (
            "rsu_id: 'has spaces'\n",
            "rsu_id: String should match pattern '^[A-Za-z0-9_.-]+$' (got 'has spaces')",
        ),
    ],
)
def test_a_bad_value_names_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as excinfo:
        config.load(RsuConfig, path)
    assert str(excinfo.value) == f"{path}: {message}"


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing.yaml: cannot read the file"):
        config.load(RsuConfig, tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("publish: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML"):
        config.load(RsuConfig, bad)
