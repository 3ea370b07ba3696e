"""Timing whole processes: medians over repeated runs, ratios against a floor."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def time_process(argv: Sequence[str], runs: int, cwd: Path | None = None) -> list[float]:
    """Wall-clock seconds of each run; a failing run is an error, not a fast sample."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, capture_output=True)
        samples.append(time.perf_counter() - started)
        if done.returncode not in (0,):
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-400:]!r}")
    return samples


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def table(rows: Sequence[tuple[str, str, str]]) -> str:
    head = ("what", "median", "note")
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(3)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in (head, *rows)]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
