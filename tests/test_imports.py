"""The house's import rules hold (``[tool.importlinter]`` in pyproject.toml): the kernel imports no
role, the vehicle library imports no other role, each floor imports only the floors below it, and
no package has an import circle between its modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(no_cache=True, no_logo=True))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"import contracts broken:\n{result.stdout}{result.stderr}"
