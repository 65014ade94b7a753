"""The configuration reference (``docs/configuration.md``), generated from the configuration
schema so it cannot drift: every field of ``roadside.config.RsuConfig`` (the RSU's file) and
``cloud.config.CloudConfig`` (the twin's file) with its dotted path, type, unit, default, bounds
and what it is for::

    python -m console.configref            write docs/configuration.md
    python -m console.configref --check    exit 1 when the committed file is stale

What a field is for comes from its ``Field(description=...)`` or else from the ``#`` comment
lines right above it in the model's source. Units come from the name's suffix (``_s`` seconds,
``_m`` metres, ``_mps`` m/s, ...), the convention every configuration model follows.
``tests/deploy/test_configref.py`` fails when the committed file differs from what this makes.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
import textwrap
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
import pydantic
import pydantic_core
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "configuration.md"

# Name suffix -> unit, longest first where one suffix ends another (_radps before _s).
UNITS: tuple[tuple[str, str], ...] = (
    ("_radps", "rad/s"),
    ("_mps", "m/s"),
    ("_hz", "Hz"),
    ("_deg", "degrees"),
    ("_rad", "radians"),
    ("_px", "pixels"),
    ("_bytes", "bytes"),
    ("_m", "metres"),
    ("_s", "seconds"),
)


@dataclass(frozen=True)
class Row:
    """One field of the reference."""

    path: str
    type: str
    unit: str
    default: str
    bounds: str
    about: str


@dataclass(frozen=True)
class Section:
    """One model at one place in the file (``server.tls``, ``source`` when kind is sensors)."""

    path: str
    model: type[pydantic.BaseModel]
    variant: str  # "kind: sensors" for a variant of a tagged union, else ""
    rows: tuple[Row, ...]


def unit_of(name: str) -> str:
    """The unit a field's name ends in, or "" (counts, flags, names)."""
    for suffix, unit in UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, pydantic.BaseModel)


def _strip(t: Any) -> Any:
    """``t`` without ``Annotated[...]`` around it."""
    while typing.get_origin(t) is typing.Annotated:
        t = typing.get_args(t)[0]
    return t


def _union_members(t: Any) -> tuple[Any, ...]:
    t = _strip(t)
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        return tuple(_strip(a) for a in typing.get_args(t))
    return (t,)


def type_name(t: Any) -> str:
    """A field's type as an operator reads it: ``float``, ``list of RadarSensorConfig``,
    ``"cpu" | "cuda"``, ``path | null``."""
    t = _strip(t)
    origin = typing.get_origin(t)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(t))
    if origin is typing.Literal:
        return " | ".join(json.dumps(v) for v in typing.get_args(t))
    if origin is tuple:
        args = typing.get_args(t)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {type_name(args[0])}"
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if origin is dict:
        key, value = typing.get_args(t)
        return f"map of {type_name(key)} to {type_name(value)}"
    if t is type(None):
        return "null"
    if t is Path:
        return "path"
    if isinstance(t, type):
        return t.__name__
    return str(t)


def _json(value: Any) -> str:
    return json.dumps(pydantic_core.to_jsonable_python(value), separators=(", ", ": "))


def default_text(field: FieldInfo) -> str:
    """The default as YAML-ish JSON, ``required`` when there is none. A list of models shows how
    many entries the built-in default has (their values are in the list's own section)."""
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True, validated_data={})
    if isinstance(value, tuple) and value and isinstance(value[0], pydantic.BaseModel):
        return f"{len(value)} built-in entr{'y' if len(value) == 1 else 'ies'}"
    if isinstance(value, pydantic.BaseModel):
        return "(section)"
    return _json(value)


def bounds_text(field: FieldInfo) -> str:
    """Bounds and checks on a value: ``>= 0``, ``< 1``, ``length <= 64``, ``pattern ...``."""
    out: list[str] = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            out.append(f">= {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            out.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Le):
            out.append(f"<= {item.le}")
        elif isinstance(item, annotated_types.Lt):
            out.append(f"< {item.lt}")
        elif isinstance(item, annotated_types.MinLen):
            out.append(f"length >= {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            out.append(f"length <= {item.max_length}")
        elif getattr(item, "pattern", None) is not None:
            out.append(f"pattern `{item.pattern}`")
    return ", ".join(out)


def source_comments(model: type[pydantic.BaseModel]) -> dict[str, str]:
    """Each field's ``#`` comment block (the lines right above it in the class body), joined
    into one paragraph; fields inherited from a base model come from that model's source."""
    found: dict[str, str] = {}
    for cls in model.__mro__:
        if not _is_model(cls) or cls.__module__.startswith("pydantic"):
            continue
        try:
            lines, _ = inspect.getsourcelines(cls)
        except (OSError, TypeError):
            continue
        source = textwrap.dedent("".join(lines))
        body = source.splitlines()
        tree = ast.parse(source)
        klass = tree.body[0]
        assert isinstance(klass, ast.ClassDef)
        for node in klass.body:
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            name, above, i = node.target.id, [], node.lineno - 2
            while i >= 0 and body[i].strip().startswith("#"):
                above.append(body[i].strip().lstrip("#").strip())
                i -= 1
            if name not in found and above:
                found[name] = " ".join(reversed(above))
    return found


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


def _variant(model: type[pydantic.BaseModel]) -> str:
    """``kind: sensors`` for a model that is one variant of a union tagged on ``kind``."""
    kind = model.model_fields.get("kind")
    if kind is None or typing.get_origin(kind.annotation) is not typing.Literal:
        return ""
    return "kind: " + " | ".join(str(v) for v in typing.get_args(kind.annotation))


def _nested(annotation: Any, path: str) -> Iterator[tuple[str, type[pydantic.BaseModel], bool]]:
    """The models inside a field's type, each with the path its fields sit under (``[]`` for
    the entries of a list) and whether it is one variant of a union."""
    members = [m for m in _union_members(annotation) if m is not type(None)]
    for member in members:
        if _is_model(member):
            yield path, member, len(members) > 1
        elif typing.get_origin(member) is tuple:
            args = typing.get_args(member)
            if len(args) == 2 and args[1] is Ellipsis:
                inner = [m for m in _union_members(args[0]) if m is not type(None)]
                for m in inner:
                    if _is_model(m):
                        yield f"{path}[]", m, len(inner) > 1


def sections(
    model: type[pydantic.BaseModel], path: str = "", variant: str = ""
) -> Iterator[Section]:
    """The model's own section, then its nested models' sections, depth first in field order."""
    comments = source_comments(model)
    rows, children = [], []
    for name, field in model.model_fields.items():
        dotted = f"{path}.{name}" if path else name
        about = field.description or comments.get(name, "")
        rows.append(
            Row(
                path=dotted,
                type=type_name(field.annotation),
                unit=unit_of(name),
                default=default_text(field),
                bounds=bounds_text(field),
                about=about,
            )
        )
        children += list(_nested(field.annotation, dotted))
    yield Section(path=path, model=model, variant=variant, rows=tuple(rows))
    for child_path, child, is_variant in children:
        yield from sections(child, child_path, _variant(child) if is_variant else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_sections(title: str, model: type[pydantic.BaseModel], file_hint: str) -> list[str]:
    out = [f"## {title}", "", f"`{model.__module__}.{model.__name__}`, {file_hint}", ""]
    for section in sections(model):
        heading = f"`{section.path}`" if section.path else "top level"
        if section.variant:
            heading += f" ({section.variant})"
        out += [f"### {heading}", ""]
        about = _first_paragraph(section.model.__doc__)
        if about:
            out += [f"{about} ({section.model.__name__})", ""]
        out += [
            "| field | type | unit | default | bounds | what it is |",
            "|---|---|---|---|---|---|",
        ]
        for row in section.rows:
            cells = (
                f"`{row.path}`",
                row.type,
                row.unit,
                f"`{row.default}`" if row.default not in ("required", "(section)") else row.default,
                row.bounds,
                row.about,
            )
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    return out


def render() -> str:
    """The whole reference, as Markdown."""
    from cloud.config import CloudConfig
    from roadside.config import RsuConfig

    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m console.configref` from the configuration models; do not",
        "     edit by hand (tests/deploy/test_configref.py fails when this file is stale). -->",
        "",
        "Every field of the RSU's and the twin's configuration files, by its dotted path in the",
        "YAML file (`a.b[]` are the entries of the list `a.b`). Units come from the field's name",
        "(`_s` seconds, `_m` metres, `_mps` m/s, `_hz` Hz, `_deg` degrees, `_rad` radians);",
        "positions are in the site's ENU frame (x east, y north, metres from `origin`) unless a",
        "field says otherwise. A value out of bounds, an unknown key or a wrong type is refused",
        "at start with a message naming the file and the field.",
        "",
        "- [RSU](#rsu-vicoop-rsu-run---config-file): `vicoop rsu check-config FILE` validates a"
        " file; `deploy/rsu/rsu.example.yaml` spells out every field.",
        "- [Cloud twin](#cloud-twin-vicoop-cloud-run---config-file)",
        "",
    ]
    lines += render_sections(
        "RSU (`vicoop rsu run --config FILE`)",
        RsuConfig,
        "e.g. `/etc/vicoop/rsu.yaml`.",
    )
    lines += render_sections(
        "Cloud twin (`vicoop cloud run --config FILE`)",
        CloudConfig,
        "e.g. `/etc/vicoop/cloud.yaml`.",
    )
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.configref", description=__doc__)
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: %(default)s")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python -m console.configref", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
