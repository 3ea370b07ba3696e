"""The deployment's figures, each against the raw tool measured in the same run.

- migration phase vs piping the same statements through the `mariadb` client
  (target: within 1.3x; the seed promises under 1 s);
- backup vs `mariadb-dump | gzip` with the same flags, at three database sizes
  (target: at least 0.9x its throughput);
- a full `runbook deploy --yes` of the sandbox, end to end (target: under 15 s, the seed
  says 3 minutes) and the downtime inside it (target: under 5 s, the seed says 30 s).

Run: .venv/bin/python bench/bench_deploy.py [--runs N] [--sizes 2000,50000,200000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import median, table

from runbook import backup, config, migrate
from runbook.db import Target
from runbook.sandbox import Sandbox
from runbook.validator import validate


def bench_migration(target: Target, runs: int) -> tuple[float, float]:
    migrations = validate().migrations
    db = target.database
    ours, raw = [], []
    script = "".join(
        f"{m.up_sql.strip().rstrip(';')};\n"
        f"INSERT INTO migrations (migration, batch) VALUES ('{m.name}', 99);\n"
        for m in migrations
    )
    client = shutil.which("mariadb") or "mysql"
    # one unmeasured round first: a freshly seeded server is still flushing and purging
    for i in range(runs + 1):
        s = target.connect()
        try:
            if i == 1:
                ours.clear()
                raw.clear()
            created: list[str] = []
            started = time.perf_counter()
            migrate.apply(s, db, migrations, 99, listener=lambda *_: None, created=created)
            ours.append(time.perf_counter() - started)
            migrate.undo(s, db, created, migrations, listener=lambda *_: None)
            with target.client_defaults_file() as defaults:
                started = time.perf_counter()
                subprocess.run(
                    [client, f"--defaults-extra-file={defaults}", db],
                    input=script.encode(),
                    check=True,
                    capture_output=True,
                )
                raw.append(time.perf_counter() - started)
            migrate.undo(s, db, created, migrations, listener=lambda *_: None)
        finally:
            s.close()
    return median(ours), median(raw)


def bench_backup(target: Target, runs: int, workdir: Path) -> tuple[float, float, int]:
    ours, raw = [], []
    size = 0
    for i in range(runs):
        d = workdir / f"b{i}"
        d.mkdir()
        started = time.perf_counter()
        info = backup.create(target, d)
        ours.append(time.perf_counter() - started)
        size = info.uncompressed
        with target.client_defaults_file() as defaults:
            argv = " ".join(backup.dump_command(target, defaults))
            started = time.perf_counter()
            subprocess.run(
                ["bash", "-c", f"set -o pipefail; {argv} | gzip -6 > {d}/raw.sql.gz"], check=True
            )
            raw.append(time.perf_counter() - started)
        shutil.rmtree(d)
    return median(ours), median(raw), size


def bench_full_deploy(sandbox: Sandbox, runs: int) -> tuple[float, float]:
    totals, downtimes = [], []
    runbook = shutil.which("runbook", path=str(Path(sys.executable).parent)) or "runbook"
    for _ in range(runs):
        sandbox.reset()
        started = time.perf_counter()
        subprocess.run(
            [runbook, "deploy", "--config", str(sandbox.config_path), "--yes"],
            check=True,
            capture_output=True,
        )
        totals.append(time.perf_counter() - started)
        cfg = config.load(sandbox.config_path)
        newest = max(cfg.journal_dir.glob("*_deploy_*.jsonl"), key=lambda p: p.stat().st_mtime)
        for line in newest.read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "maintenance" and not event["on"]:
                downtimes.append(event["downtime_s"])
    sandbox.reset()
    return median(totals), median(downtimes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="2000,50000,200000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[tuple[str, str, str]] = []
    for n, size in enumerate(sizes):
        workdir = Path(tempfile.mkdtemp(prefix="rbb", dir="/tmp"))
        sandbox = Sandbox.up(workdir / "sb", rows=size)
        try:
            target = Target(config.load(sandbox.config_path).database)
            ours, raw, dump_bytes = bench_backup(target, args.runs, workdir)
            mb = dump_bytes / 1e6
            rows.append(
                (
                    f"backup, {size} rows ({mb:.1f} MB dump)",
                    f"{ours * 1000:.0f} ms vs {raw * 1000:.0f} ms",
                    f"throughput {raw / ours:.2f}x of mariadb-dump | gzip (target >= 0.9x)",
                )
            )
            if n == 0:
                ours_m, raw_m = bench_migration(target, args.runs)
                rows.append(
                    (
                        "migration phase (6 tables)",
                        f"{ours_m * 1000:.1f} ms vs {raw_m * 1000:.1f} ms",
                        f"{ours_m / raw_m:.2f}x the mariadb client (target <= 1.3x; seed < 1 s)",
                    )
                )
                total, downtime = bench_full_deploy(sandbox, args.runs)
                rows.append(
                    (
                        "full deploy --yes (end to end)",
                        f"{total:.2f} s",
                        "target < 15 s (seed ~3 min)",
                    )
                )
                rows.append(
                    ("downtime inside it", f"{downtime:.2f} s", "target < 5 s (seed ~30 s)")
                )
        finally:
            sandbox.down()
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(rows))


if __name__ == "__main__":
    main()
