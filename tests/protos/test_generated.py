"""The generated code in protos/ is what protos/generate.py makes of the .proto files today,
and the contract passes buf lint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from protos import generate

REPO = Path(__file__).resolve().parents[2]


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    written = generate.generate(tmp_path)
    assert written, "generate wrote nothing"
    for path in written:
        committed = generate.PROTO_ROOT / path.relative_to(tmp_path)
        assert committed.exists(), f"{committed} is missing: run `make protos` and commit"
        assert committed.read_text() == path.read_text(), (
            f"{committed.name} is stale: run `make protos` and commit the result"
        )
    generated_here = {
        p.name
        for p in (generate.PROTO_ROOT / generate.PROTO_PACKAGE_DIR).iterdir()
        if p.name.endswith(generate.GENERATED_SUFFIXES)
    }
    assert generated_here == {p.name for p in written if p.name != "__init__.py"}


def test_generated_modules_import_from_this_package() -> None:
    from protos.vicoop.v1 import roadside_pb2, roadside_pb2_grpc

    assert roadside_pb2.DESCRIPTOR.package == "vicoop.v1"
    assert hasattr(roadside_pb2_grpc, "RoadsideStub")


def test_buf_lint_passes() -> None:
    buf = REPO / "node_modules" / ".bin" / "buf"
    if not buf.exists():
        found = shutil.which("buf")
        if found is None:
            pytest.skip("buf is not installed: `make test` installs it with npm ci")
        buf = Path(found)
    result = subprocess.run([str(buf), "lint"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
