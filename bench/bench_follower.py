"""The log follower against ``tail -F``: throughput, memory on a 1 GB log, open-at-end.

Run: .venv/bin/python bench/bench_follower.py [--lines N] [--runs N] [--gb G] [--dir D]

- throughput: ``cat`` appends N Laravel-sized lines to a file that is being
  followed; the time until the last line is delivered, for ``tail -F -n 0``
  (writing to a file whose size we watch) and for ``LogFollower.poll()`` (lines
  decoded to str, as the monitor uses them). Same data, same disk, same run.
  Target (issue): ≥ 100 000 lines/s.
- memory: RSS of this process before following, and at the peak and the end of
  following a log that grows to ``--gb`` GB (written in 16 MB bursts).
- open-at-end: opening that 1 GB log at its end, and a 1 GB sparse file, against
  ``tail -n 0`` on the same file. Target (issue): < 50 ms.

The files live in a temporary directory (``--dir``, default /tmp) and are deleted.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from harness import median, table

from runbook.monitor.follower import LogFollower

LINE = (
    "[2025-10-01 12:00:00] production.INFO: Booking created for company 42 "
    '{"booking_id":123456,"customer_id":98765,"channel":"api","duration_ms":12}\n'
)


def make_source(directory: Path, lines: int) -> Path:
    source = directory / "source.log"
    block = (LINE * 10_000).encode()
    with open(source, "wb") as fh:
        for _ in range(lines // 10_000):
            fh.write(block)
        fh.write(LINE.encode() * (lines % 10_000))
    return source


def append_with_cat(source: Path, target: Path) -> subprocess.Popen[bytes]:
    out = open(target, "ab")  # noqa: SIM115 - handed to the child, closed after
    try:
        return subprocess.Popen(["cat", str(source)], stdout=out)
    finally:
        out.close()


def run_tail(source: Path, directory: Path) -> float:
    target = directory / "tail-target.log"
    captured = directory / "tail-out.log"
    target.touch()
    with open(captured, "wb") as out:
        tail = subprocess.Popen(["tail", "-F", "-n", "0", str(target)], stdout=out)
    try:
        time.sleep(0.3)  # tail has opened the file and is at its end
        want = source.stat().st_size
        started = time.perf_counter()
        writer = append_with_cat(source, target)
        while captured.stat().st_size < want:
            time.sleep(0.0005)
        elapsed = time.perf_counter() - started
        writer.wait()
    finally:
        tail.terminate()
        tail.wait()
        target.unlink()
        captured.unlink()
    return elapsed


def run_follower(source: Path, directory: Path, lines: int) -> float:
    target = directory / "follower-target.log"
    target.touch()
    with LogFollower(target) as follower:
        started = time.perf_counter()
        writer = append_with_cat(source, target)
        got = 0
        while got < lines:
            batch = follower.poll()
            if batch:
                got += len(batch)
            else:
                time.sleep(0.0005)
        elapsed = time.perf_counter() - started
        writer.wait()
        assert got == lines, (got, lines)
    target.unlink()
    return elapsed


def follow_growth(directory: Path, gb: float) -> tuple[int, int, int, float, Path]:
    """RSS before, at its peak and after following a log that grows to ``gb`` GB."""
    me = psutil.Process()
    target = directory / "growing.log"
    target.touch()
    burst = (LINE * ((16 << 20) // len(LINE))).encode()
    bursts = int(gb * (1 << 30)) // len(burst)
    before = me.memory_info().rss
    peak = before
    lines = 0
    started = time.perf_counter()
    with LogFollower(target) as follower, open(target, "ab") as out:
        for _ in range(bursts):
            out.write(burst)
            out.flush()
            while batch := follower.poll():
                lines += len(batch)
                del batch
                peak = max(peak, me.memory_info().rss)
    elapsed = time.perf_counter() - started
    after = me.memory_info().rss
    assert lines == bursts * burst.count(b"\n")
    return before, peak, after, lines / elapsed, target


def time_open(path: Path, runs: int) -> tuple[float, int]:
    samples = []
    read = 0
    for _ in range(runs):
        started = time.perf_counter()
        follower = LogFollower(path)
        samples.append(time.perf_counter() - started)
        read = follower.stats.bytes_read
        follower.close()
    return median(samples), read


def time_tail_open(path: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["tail", "-n", "0", str(path)], check=True)
        samples.append(time.perf_counter() - started)
    return median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="rb-bench-follower-", dir=args.dir))
    rows: list[tuple[str, str, str]] = []
    try:
        source = make_source(directory, args.lines)
        mb = source.stat().st_size / 2**20
        tail_s = median([run_tail(source, directory) for _ in range(args.runs)])
        ours_s = median([run_follower(source, directory, args.lines) for _ in range(args.runs)])
        tail_rate, ours_rate = args.lines / tail_s, args.lines / ours_s
        rows += [
            (f"tail -F, {args.lines} lines ({mb:.0f} MB)", f"{tail_rate:,.0f} lines/s", "floor"),
            (
                "LogFollower.poll(), same",
                f"{ours_rate:,.0f} lines/s",
                f"{ours_s / tail_s:.2f}x tail's time",
            ),
        ]
        source.unlink()

        before, peak, after, rate, grown = follow_growth(directory, args.gb)
        rows += [
            (
                f"RSS following a log grow to {args.gb:g} GB",
                f"{(after - before) / 2**20:+.1f} MiB",
                f"before {before / 2**20:.0f} MiB, peak {peak / 2**20:.0f}, "
                f"after {after / 2**20:.0f}; {rate:,.0f} lines/s",
            ),
        ]
        open_s, read = time_open(grown, 20)
        tail_open_s = time_tail_open(grown, 10)
        rows.append(
            (
                f"open at end, {grown.stat().st_size / 2**30:.1f} GB real log",
                f"{open_s * 1000:.3f} ms",
                f"{read} byte(s) read; tail -n 0: {tail_open_s * 1000:.1f} ms (process)",
            )
        )
        grown.unlink()
        sparse = directory / "sparse.log"
        with open(sparse, "wb") as fh:
            fh.truncate((1 << 30) - 1)
            fh.seek((1 << 30) - 1)
            fh.write(b"\n")
        sparse_s, sparse_read = time_open(sparse, 20)
        rows.append(
            ("open at end, 1 GB sparse", f"{sparse_s * 1000:.3f} ms", f"{sparse_read} byte(s) read")
        )
        sparse.unlink()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(table(rows))
    print(
        f"\ntargets: ≥ 100,000 lines/s -> {'met' if ours_rate >= 100_000 else 'NOT met'}; "
        f"open at end < 50 ms -> {'met' if max(open_s, sparse_s) < 0.05 else 'NOT met'}; "
        f"memory flat -> {'met' if after - before < 64 << 20 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
