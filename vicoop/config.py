"""Typed configuration files: YAML validated once, at the entry point, into pydantic models.

A bad file gives one ``ConfigError`` on one line, naming the file and the field or the line::

    rsu.yaml: publish.rate_hz: Input should be greater than 0 (got -5)
    rsu.yaml: line 4: duplicate key 'rate_hz' (first on line 3)

Files are read defensively, since they may come from a configuration management system or an
operator's editor: at most ``MAX_FILE_BYTES``, strict UTF-8, one YAML document, no duplicate keys
(YAML's "last one wins" hides edits), and anchors/aliases that expand to at most ``MAX_VALUES``
values (a few hundred bytes of nested aliases otherwise expand to billions). An empty file is an
error, not the embedded defaults: those are what you get by leaving the file out.
"""

from __future__ import annotations

import re
import reprlib
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from vicoop.errors import ConfigError

M = TypeVar("M", bound=pydantic.BaseModel)

MAX_FILE_BYTES = 1 << 20
MAX_VALUES = 100_000

_short = reprlib.Repr()  # Python 3.11's Repr takes no keywords
_short.maxstring = _short.maxother = 60
_short.maxlist = _short.maxdict = 6
_short.maxlevel = 3


class StrictModel(pydantic.BaseModel):
    """Base of every configuration model: unknown keys are errors, values are immutable."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


# A password in a URL (scheme://user:password@host): never repeated in a message.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@\s]*@")


def _redacted(value: Any) -> Any:
    """``value`` with the password of every URL in it replaced by ``***``."""
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\1:***@", value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redacted(v) for v in value)
    return value


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"]
    if error["type"] not in ("missing", "extra_forbidden") and "input" in error:
        message += f" (got {_short.repr(_redacted(error['input']))})"
    return f"{where}: {message}"


def validate(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` as ``model``; ``source`` (a file name) opens every error message."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None


class _Problem(Exception):
    """What is wrong with a document, and where (1-based line and column, when known)."""

    def __init__(self, line: int | None, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message

    def where(self) -> str:
        if self.line is None:
            return ""
        return f"line {self.line}, column {self.column}: " if self.column else f"line {self.line}: "


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys (with both lines)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # merged keys may be overridden: that is what a merge is for
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = first_line.get(key)
            except TypeError:
                continue  # an unhashable key: the base class says so
            if first is not None:
                raise _Problem(line, f"duplicate key {_short.repr(key)} (first on line {first})")
            first_line[key] = line
        return super().construct_mapping(node, deep)


def _expanded_values(root: Node) -> int:
    """How many values ``root`` holds with every alias expanded; ``_Problem`` beyond
    ``MAX_VALUES`` or for an alias inside itself. Each node's count is computed once."""
    counted: dict[int, int] = {}
    open_: set[int] = set()

    def count(node: Node) -> int:
        key = id(node)
        if key in counted:
            return counted[key]
        if key in open_:
            raise _Problem(node.start_mark.line + 1, "an alias refers to a value containing it")
        open_.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(count(child) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(count(k) + count(v) for k, v in node.value)
        open_.discard(key)
        if total > MAX_VALUES:
            raise _Problem(
                None,
                f"the document expands to more than {MAX_VALUES} values "
                "(nested anchors and aliases?)",
            )
        counted[key] = total
        return total

    return count(root)


def parse(text: str) -> Any:
    """The one YAML document in ``text``, as plain data; ``_Problem`` saying what is wrong."""
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _Problem(None, f"not valid YAML: {exc.reason} (at offset {exc.position})") from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = " ".join(str(exc.problem or exc.context or "").split())
            raise _Problem(
                mark.line + 1 if mark is not None else None,
                f"not valid YAML: {problem}",
                mark.column + 1 if mark is not None else None,
            ) from None
        except yaml.reader.ReaderError as exc:
            raise _Problem(
                None, f"not valid YAML: {exc.reason} (at offset {exc.position})"
            ) from None
        except yaml.YAMLError as exc:
            raise _Problem(None, f"not valid YAML: {' '.join(str(exc).split())}") from None
        data = None
        if node is not None:
            _expanded_values(node)
            try:
                data = loader.construct_document(node)
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark
                line = mark.line + 1 if mark is not None else None
                raise _Problem(line, " ".join(str(exc.problem or "").split())) from None
        if data is None:
            raise _Problem(
                None,
                "the file is empty (leave out the configuration file for the embedded defaults)",
            )
        return data
    except RecursionError:
        raise _Problem(None, "the document is nested too deeply") from None
    finally:
        loader.dispose()


def load(model: type[M], path: str | Path) -> M:
    """Read a YAML file and validate it as ``model``; ``ConfigError`` on one line saying what is
    wrong (see the module's docstring)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
            if len(raw) > MAX_FILE_BYTES:
                size = path.stat().st_size
                raise ConfigError(
                    f"{path}: {size} bytes; a configuration file is at most {MAX_FILE_BYTES}"
                )
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        data = parse(text)
    except _Problem as problem:
        raise ConfigError(f"{path}: {problem.where()}{problem.message}") from None
    return validate(model, data, str(path))
