"""Option B's restore against the seed's `gunzip -c FILE | mariadb DB`, on the same file.

Run: .venv/bin/python bench/bench_restore.py [--runs N] [--rows N ...]
Builds a throwaway sandbox per size (short /tmp dirs, stopped at the end), takes
one backup with runbook.backup.create, then times, alternating, medians of:

- raw: `set -o pipefail; gunzip -c FILE | mariadb --defaults-extra-file=F DB`, a
  shell pipeline (the floor: the seed's command, with none of its safety);
- restore: what replaces that pipeline in Option B, in-process: stream the dump
  into a scratch schema through zlib and the mariadb client, one RENAME TABLE
  swap (runbook.restore.load + swap): the target then holds the backup. Shown
  also with the drop of the displaced tables, which the command does after the
  app is back up (the raw pipeline never drops them: it leaves them in place);
- command: the whole `runbook rollback --restore FILE --yes` as a process: on top
  of the restore it reads the file once more to check it (gzip, trailer, sha256),
  counts rows on both sides, fingerprints both with CHECKSUM TABLE, runs artisan
  down/up with HTTP probes, fsyncs the journal and archives it. Reported with the
  app's downtime, not held to the ratio.

Target (issue): restore <= 1.2x raw.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import median, table

from runbook import backup, restore
from runbook import config as config_mod
from runbook.db import Target
from runbook.sandbox import Sandbox

TARGET_RATIO = 1.2


def time_raw(target: Target, path: Path) -> float:
    with target.client_defaults_file() as defaults:
        script = (
            f"set -o pipefail; gunzip -c '{path}' | "
            f"mariadb --defaults-extra-file='{defaults}' '{target.database}'"
        )
        started = time.perf_counter()
        done = subprocess.run(["bash", "-c", script], capture_output=True)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"raw restore exited {done.returncode}: {done.stderr[-400:]!r}")
    return elapsed


def time_restore(target: Target, path: Path, total: int) -> tuple[float, float]:
    """(until the target holds the backup, including dropping the displaced tables)."""
    db = target.database
    s = target.connect()
    try:
        started = time.perf_counter()
        scratch, old = restore.scratch_names()
        restore.create_schema_like(s, scratch, db)
        restore.load(target, scratch, path, total=total, progress=None)
        restore.create_schema_like(s, old, db)
        outgoing, incoming = restore.base_tables(s, db), restore.base_tables(s, scratch)
        restore.swap(s, db, scratch, old, incoming, outgoing)
        swapped = time.perf_counter() - started
        restore.drop_schema(s, old)
        restore.drop_schema(s, scratch)
        return swapped, time.perf_counter() - started
    finally:
        s.close()


def time_command(config: Path, path: Path) -> tuple[float, float]:
    """(wall clock of the whole command, the app's downtime it reported)."""
    argv = [sys.executable, "-m", "runbook", "rollback", "--config", str(config)]
    started = time.perf_counter()
    done = subprocess.run([*argv, "--restore", str(path), "--yes"], capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"runbook rollback exited {done.returncode}: {done.stdout[-600:]!r}")
    downtime = re.search(rb"downtime: ([\d.]+) s", done.stdout)
    return elapsed, float(downtime.group(1)) if downtime else float("nan")


def bench_size(rows: int | None, runs: int) -> list[tuple[str, str, str]]:
    directory = Path(tempfile.mkdtemp(prefix="rbbench-", dir="/tmp"))
    label = f"{rows or 'default'} rows"
    try:
        sandbox = Sandbox.up(directory, rows=rows)
        cfg = config_mod.load(sandbox.config_path)
        target = Target(cfg.database)
        info = backup.create(target, cfg.backup_dir)
        total = backup.inspect(info.path).uncompressed
        raw, ours, ours_all, whole, down = [], [], [], [], []
        for _ in range(runs):  # alternating, so drift in the machine hits all alike
            raw.append(time_raw(target, info.path))
            swapped, cleaned = time_restore(target, info.path, total)
            ours.append(swapped)
            ours_all.append(cleaned)
            elapsed, downtime = time_command(sandbox.config_path, info.path)
            whole.append(elapsed)
            down.append(downtime)
        r, o, c, w = median(raw), median(ours), median(ours_all), median(whole)
        size = f"{info.size / 1e6:.2f} MB gz, {total / 1e6:.1f} MB sql"
        return [
            (f"{label}: gunzip -c | mariadb", f"{r * 1000:.0f} ms", f"floor ({size})"),
            (f"{label}: Option B restore", f"{o * 1000:.0f} ms", f"{o / r:.2f}x raw"),
            (
                f"{label}:   + drop displaced tables",
                f"{c * 1000:.0f} ms",
                f"{c / r:.2f}x raw (done after the app is up)",
            ),
            (
                f"{label}: runbook rollback --restore",
                f"{w * 1000:.0f} ms",
                f"{w / r:.2f}x raw; app down {median(down) * 1000:.0f} ms",
            ),
        ]
    finally:
        if (directory / "sandbox.json").exists():
            Sandbox.open(directory).down()
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--rows",
        type=int,
        nargs="*",
        default=[0, 200_000],
        help="sandbox sizes (0: the sandbox's default)",
    )
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    for n in args.rows:
        rows += bench_size(n or None, args.runs)
    print(table(rows))
    ratios = [float(r[2].split("x")[0]) for r in rows if "Option B restore" in r[0]]
    met = all(x <= TARGET_RATIO for x in ratios)
    print(f"\ntarget: Option B restore <= {TARGET_RATIO}x raw -> {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
