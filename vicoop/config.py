"""Typed configuration files: YAML validated once, at the entry point, into pydantic models.

A bad file gives one ``ConfigError`` naming the file and the field, e.g.::

    rsu.yaml: publish.rate_hz: Input should be greater than 0 (got -5)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from vicoop.errors import ConfigError

M = TypeVar("M", bound=pydantic.BaseModel)


class StrictModel(pydantic.BaseModel):
    """Base of every configuration model: unknown keys are errors, values are immutable."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"]
    if error["type"] not in ("missing", "extra_forbidden") and "input" in error:
        message += f" (got {error['input']!r})"
    return f"{where}: {message}"


def validate(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` as ``model``; ``source`` (a file name) opens every error message."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None


def load(model: type[M], path: str | Path) -> M:
    """Read a YAML file and validate it as ``model``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return validate(model, {} if data is None else data, str(path))
