"""The nine tests' names, and what a run of them reports."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

CREATE = "Test database creation"
CLONE = "Schema cloning"
MIGRATE = "Migration execution ({n} tables)"
FOREIGN_KEYS = "Foreign key validation (CASCADE)"
INDEXES = "Index verification"
CASCADE = "Cascade delete testing"
ROLLBACK = "Rollback testing"
REMIGRATE = "Re-migration testing"
INTEGRITY = "Data integrity check"
TEST_COUNT = 9


@dataclass
class TestResult:
    __test__ = False  # not a pytest class, whatever its name says

    name: str
    ok: bool
    evidence: list[str]
    elapsed_s: float


@dataclass
class SuiteReport:
    results: list[TestResult]
    scratch: str
    target: str = ""
    dropped: bool = False  # the scratch database is gone (proved, not assumed)
    cleanup_error: str | None = None

    @property
    def ok(self) -> bool:
        return (
            len(self.results) == TEST_COUNT
            and all(r.ok for r in self.results)
            and self.dropped
            and self.cleanup_error is None
        )

    @property
    def failed(self) -> list[TestResult]:
        return [r for r in self.results if not r.ok]

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "target": self.target,
            "scratch": self.scratch,
            "dropped": self.dropped,
            "cleanup_error": self.cleanup_error,
            "tests": [dataclasses.asdict(r) for r in self.results],
        }


def plural(n: int, word: str) -> str:
    """Evidence wording: ``1 table``, ``2 tables``."""
    return f"{n} {word}{'' if n == 1 else 's'}"
