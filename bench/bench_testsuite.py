"""`run_suite` end to end on a throwaway sandbox, against the same work done with the raw client.

Run: .venv/bin/python bench/bench_testsuite.py [--runs N] [--rows N ...]

For each --rows a sandbox is built in a short /tmp directory (and stopped at the end).
The floor is what a shell script with the mariadb client would do for the same
coverage of DDL: create a database, clone the schema with `mariadb-dump --no-data`,
run the six up files, the six down files, the six up files again, drop the database.
The suite does all of that plus the sample rows, the checks and the cascade cases;
its sample is bounded, so its time should not grow with the target's rows.
The seed's estimate for this step is 5-10 minutes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import median, table

from runbook import config as config_mod
from runbook.db import Target
from runbook.sandbox import Sandbox
from runbook.testsuite import run_suite
from runbook.validator import validate


def raw_client(target: Target, validation: object) -> float:
    """The same DDL work through the mariadb client and mariadb-dump, one process each."""
    client, dump = shutil.which("mariadb"), shutil.which("mariadb-dump")
    if not client or not dump:
        raise SystemExit("mariadb and mariadb-dump must be on PATH")
    scratch = f"runbook_scratch_{uuid.uuid4().hex[:12]}"
    migrations = validation.migrations  # type: ignore[attr-defined]
    with target.client_defaults_file() as cnf:
        defaults = f"--defaults-extra-file={cnf}"

        def sql(text: str, db: str | None = None) -> None:
            argv = [client, defaults, *([db] if db else [])]
            subprocess.run(argv, input=text.encode(), check=True, capture_output=True)

        started = time.perf_counter()
        try:
            sql(f"CREATE DATABASE `{scratch}`")
            schema = subprocess.run(
                [dump, defaults, "--no-data", "--skip-comments", target.database],
                check=True,
                capture_output=True,
            ).stdout
            subprocess.run(
                [client, defaults, scratch], input=schema, check=True, capture_output=True
            )
            for m in migrations:
                sql(m.up_sql, scratch)
            for m in reversed(migrations):
                sql(m.down_sql, scratch)
            for m in migrations:
                sql(m.up_sql, scratch)
        finally:
            sql(f"DROP DATABASE IF EXISTS `{scratch}`")
        return time.perf_counter() - started


def measure(rows: int | None, runs: int) -> list[tuple[str, str, str]]:
    directory = Path(tempfile.mkdtemp(prefix="rbb-", dir="/tmp"))
    sandbox = Sandbox.up(directory, rows=rows)
    try:
        cfg = config_mod.load(sandbox.config_path)
        target = Target(cfg.database)
        validation = validate()
        suite_s: list[float] = []
        raw_s: list[float] = []
        per_test: dict[str, list[float]] = {}
        for _ in range(runs):
            raw_s.append(raw_client(target, validation))
            started = time.perf_counter()
            report = run_suite(target, validation, lambda kind, data: None)
            suite_s.append(time.perf_counter() - started)
            if not report.ok:
                raise SystemExit(f"the suite failed on the sandbox: {report.as_json()}")
            for r in report.results:
                per_test.setdefault(r.name, []).append(r.elapsed_s)
        built = sandbox.state.get("rows")
        suite, raw = median(suite_s), median(raw_s)
        out = [
            (
                f"run_suite, {built} rows",
                f"{suite * 1000:.0f} ms",
                f"{suite / raw:.2f}x raw client; spread {min(suite_s) * 1000:.0f}-"
                f"{max(suite_s) * 1000:.0f} ms",
            ),
            (
                f"raw mariadb client, {built} rows",
                f"{raw * 1000:.0f} ms",
                "floor: create, dump --no-data | client, 6 up, 6 down, 6 up, drop",
            ),
        ]
        out += [
            (f"  {name}", f"{statistics.median(s) * 1000:.0f} ms", "")
            for name, s in per_test.items()
        ]
        return out
    finally:
        sandbox.down()
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--rows", type=int, action="append", help="sandbox size (repeatable; default: 2000)"
    )
    args = parser.parse_args()
    rows_list = args.rows or [None]
    result: list[tuple[str, str, str]] = []
    for rows in rows_list:
        result += measure(rows, args.runs)
    print(table(result))
    print("\nseed's estimate for this step: 5-10 minutes")


if __name__ == "__main__":
    main()
