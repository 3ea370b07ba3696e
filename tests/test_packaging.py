"""A real, non-editable install works from any directory: sql/ and assets/ ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_install_finds_its_migrations_and_assets_from_anywhere(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert (target / "runbook" / "sql" / "baseline.sql").is_file()
    assert list((target / "runbook" / "sql").glob("*.up.sql"))
    assert (target / "runbook" / "assets" / "laravel" / "artisan").is_file()
    assert (target / "runbook" / "screens" / "__init__.py").is_file()
    # every package of the checkout made it into the wheel (the list in pyproject is explicit)
    for init in (ROOT / "runbook").rglob("__init__.py"):
        relative = init.relative_to(ROOT)
        assert (target / relative).is_file(), f"{relative.parent} is missing from the wheel"
    for init in (ROOT / "screens").rglob("__init__.py"):
        relative = init.relative_to(ROOT / "screens")
        assert (target / "runbook" / "screens" / relative).is_file(), f"screens/{relative.parent}"
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import runbook, runbook.resources as r, sys\n"
        f"assert runbook.__file__.startswith({str(target)!r}), runbook.__file__\n"
        "print(sorted(p.name for p in r.sql_dir().iterdir() if p.name.endswith('.up.sql'))[0])\n"
        "from runbook.cli import main\n"
        "sys.exit(main(['validate']))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "create_notification_configurations_table" in out.stdout
