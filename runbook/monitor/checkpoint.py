"""The seed's 30-minute checkpoint: four checks, and the verdict that carries them.

The check names are the seed's own words, read from the flow's ``checkpoint``
node so the two cannot drift apart. A check is ``pass``, ``fail`` or
``unconfirmed`` (it could not be made: no baseline, a log that could not be
read, or no person to ask).

"No user-reported issues" cannot be known by a machine. A person is asked;
with ``--yes`` (or no one at a terminal) it is recorded as "not confirmed
(unattended)" and does NOT fail the checkpoint: answering "none" for the
operator would put a false statement in the journal, and failing every
unattended run on a question nobody was asked would make the check mean
nothing. The notification carries the unconfirmed status to the team, who can
confirm it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbook import flow
from runbook.monitor.detectors import MAJOR, MINOR, NONE, worst
from runbook.prompter import NeedsOperator, Option, Prompter, Question

PASS, FAIL, UNCONFIRMED = "pass", "fail", "unconfirmed"

_checkpoint = flow.NODES["checkpoint"]
assert isinstance(_checkpoint, flow.Step)
APP_LOGS, CONSTRAINTS, PERFORMANCE, USER_REPORTS = _checkpoint.checklist

USER_REPORTS_QUESTION = Question(
    id="user_reports",
    text="Any user-reported issues since the deployment?",
    options=(
        Option("unknown", "Not checked: record it as not confirmed"),
        Option("none", "No user reports"),
        Option("minor", "Users reported minor issues"),
        Option("major", "Users reported major issues"),
    ),
    safe="unknown",
)


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # pass | fail | unconfirmed
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    severity: str  # none | minor | major
    reason: str
    reasons: list[str]
    checks: list[Check]
    caveats: list[str] = field(default_factory=list)  # what the monitor could not see

    @property
    def issues(self) -> bool:
        return self.severity != NONE

    @property
    def checkpoint_passed(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "reason": self.reason,
            "reasons": self.reasons,
            "checkpoint_passed": self.checkpoint_passed,
            "checks": [c.as_json() for c in self.checks],
            "caveats": self.caveats,
        }

    def lines(self) -> list[str]:
        mark = {PASS: "✓", FAIL: "✗", UNCONFIRMED: "?"}
        out = [f"severity: {self.severity} ({self.reason})"]
        out += [f"{mark[c.status]} {c.name}: {c.detail}" for c in self.checks]
        out += [f"caveat: {c}" for c in self.caveats]
        return out


def user_reports_check(answer: str | None, why_unasked: str = "unattended") -> Check:
    """``answer``: unknown | none | minor | major, or None when nobody could be asked."""
    if answer is None:
        return Check(USER_REPORTS, UNCONFIRMED, f"not confirmed ({why_unasked})")
    if answer == "unknown":
        return Check(USER_REPORTS, UNCONFIRMED, "not confirmed (the operator had not checked)")
    if answer == "none":
        return Check(USER_REPORTS, PASS, "the operator confirmed no user reports")
    return Check(USER_REPORTS, FAIL, f"the operator reports {answer} issues from users")


def user_reports_severity(answer: str | None) -> str:
    return answer if answer in (MINOR, MAJOR) else NONE


def ask_user_reports(prompter: Prompter | None, unattended: bool) -> tuple[str | None, str]:
    """The operator's answer, or (None, why) when there is no one to ask."""
    if unattended or prompter is None:
        return None, "unattended: --yes"
    try:
        return prompter.ask(USER_REPORTS_QUESTION), ""
    except NeedsOperator:
        return None, "unattended: no terminal"


def combine(severity: str, reasons: list[str], checks: list[Check]) -> tuple[str, list[str]]:
    """Failed checks raise the severity: slow responses are minor, user reports as reported."""
    out = list(reasons)
    for check in checks:
        if check.status != FAIL:
            continue
        if check.name == PERFORMANCE:
            severity = worst(severity, MINOR)
            out.append(f"minor: {check.name}: {check.detail}")
    return severity, out
