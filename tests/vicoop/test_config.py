"""Configuration files: one clear error naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    with pytest.raises(
        ConfigError,
        match=r"bad.yaml: line 2, column 1: not valid YAML: expected ',' or '\]', but got '<stream end>'$",
    ):
        config.load(RsuConfig, bad)


def test_a_duplicate_key_is_an_error_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_text("rsu_id: rsu-1\npublish:\n  rate_hz: 10\n  rate_hz: 20\n")
    with pytest.raises(ConfigError) as excinfo:
        config.load(RsuConfig, path)
    assert str(excinfo.value) == f"{path}: line 4: duplicate key 'rate_hz' (first on line 3)"


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n"])
def test_an_empty_file_is_an_error_not_the_demo_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as excinfo:
        config.load(RsuConfig, path)
    assert str(excinfo.value) == (
        f"{path}: the file is empty (leave out the configuration file for the embedded defaults)"
    )


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_bytes(b"rsu_id: caf\xe9\n")
    with pytest.raises(ConfigError) as excinfo:
        config.load(RsuConfig, path)
    assert str(excinfo.value) == f"{path}: not UTF-8 text (byte 0xe9 at offset 11)"


def test_a_document_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"rsu.yaml: \(top level\): Input should be"):
        config.load(RsuConfig, path)


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    """~400 bytes that expand to 10^9 strings: refused in the composer, in bounded memory."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join(['*' + previous] * 10)}]")
    lines.append("rsu_id: *i")  # the old loader's error message held all 10^9 of them
    path = tmp_path / "rsu.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as excinfo:
        config.load(RsuConfig, path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: the document expands to more than 100000 values")
    assert len(message) < 300


def test_a_duplicate_key_in_a_flow_mapping(tmp_path: Path) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_text("publish: {rate_hz: 1, rate_hz: 2}\n")
    with pytest.raises(ConfigError) as excinfo:
        config.load(RsuConfig, path)
    assert str(excinfo.value) == f"{path}: line 1: duplicate key 'rate_hz' (first on line 1)"


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_text("rsu_id: &id rsu-9\npublish: &p\n  rate_hz: 5\n")
    assert config.load(RsuConfig, path).rsu_id == "rsu-9"


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_bytes(b"# padding\n" * 200_000)
    with pytest.raises(ConfigError) as excinfo:
        config.load(RsuConfig, path)
    assert str(excinfo.value) == f"{path}: 2000000 bytes; a configuration file is at most 1048576"


def test_a_long_bad_value_is_shortened_in_the_message(tmp_path: Path) -> None:
    path = tmp_path / "rsu.yaml"
    path.write_text(f"rsu_id: '{'x y' * 5000}'\n")
    with pytest.raises(ConfigError) as excinfo:
        config.load(RsuConfig, path)
    assert len(str(excinfo.value)) < 300
    assert "rsu_id: String should" in str(excinfo.value)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(alphabet=st.sampled_from(list("ab: -[]{}&*!|>'\"#\n\t,?~%@`0.")), max_size=120).map(
            str.encode
        ),
    )
)
def test_any_bytes_give_a_config_or_one_line_config_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    try:
        config.load(RsuConfig, path)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        assert str(exc).startswith(f"{path}: ")
