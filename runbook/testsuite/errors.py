"""How a test fails, and how a driver's own error gets past the tests' error handling."""

from __future__ import annotations

from collections.abc import Sequence


class Fail(Exception):
    """A test failed; ``evidence`` says why."""

    def __init__(self, evidence: Sequence[str]) -> None:
        super().__init__("; ".join(evidence))
        self.evidence = list(evidence)


class EmitFailed(Exception):
    """The driver's emit callback raised: a driver's error, not a failing test."""
