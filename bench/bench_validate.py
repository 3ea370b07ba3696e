"""`runbook validate` on the shipped set, as a whole process, against importing sqlglot.

Run: .venv/bin/python bench/bench_validate.py [--runs N]
The floor is `python -c "import sqlglot"`: validate can never be faster than that.
Target (issue): the whole process under 0.5 s.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import median, table, time_process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    runbook = shutil.which("runbook", path=str(Path(python).parent)) or "runbook"
    cwd = Path(tempfile.mkdtemp())  # away from the checkout: the installed package is measured
    floor = median(time_process([python, "-c", "import sqlglot"], args.runs, cwd))
    bare = median(time_process([python, "-c", "pass"], args.runs, cwd))
    validate = median(time_process([runbook, "validate"], args.runs, cwd))
    as_json = median(time_process([runbook, "validate", "--json"], args.runs, cwd))
    print(
        table(
            [
                ("python -c pass", f"{bare * 1000:.0f} ms", "interpreter start"),
                ("python -c 'import sqlglot'", f"{floor * 1000:.0f} ms", "floor"),
                ("runbook validate", f"{validate * 1000:.0f} ms", f"{validate / floor:.2f}x floor"),
                (
                    "runbook validate --json",
                    f"{as_json * 1000:.0f} ms",
                    f"{as_json / floor:.2f}x floor",
                ),
            ]
        )
    )
    print(f"\ntarget: under 500 ms -> {'met' if validate < 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
