"""The engine never imports textual: headless commands must run without it."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import runbook


def _engine_modules() -> list[str]:
    names = ["runbook"]
    for info in pkgutil.walk_packages(runbook.__path__, "runbook."):
        # screens is the UI package (screens/ in the checkout); sql and assets hold data.
        if info.name.split(".")[1] in {"screens", "sql", "assets", "__main__"}:
            continue
        names.append(info.name)
    return names


def test_importing_every_engine_module_never_imports_textual() -> None:
    modules = _engine_modules()
    assert "runbook.cli" in modules and "runbook.config" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"textual was imported by the engine: {out.stdout}"


def test_validate_command_never_imports_textual(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from runbook.cli import main\n"
        "rc = main(['validate', '--json'])\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
        "sys.exit(rc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert '"ok": true' in out.stdout


def test_no_engine_source_mentions_a_textual_import() -> None:
    root = Path(runbook.__file__).parent
    pattern = re.compile(r"^\s*(from|import)\s+textual\b", re.MULTILINE)
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.relative_to(root).parts[0] not in {"screens", "sql", "assets"}
        and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
