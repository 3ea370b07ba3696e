"""The documentation review, the seed's first pre-deployment step: the plan, the checklist
and the readiness summary of this deployment (shipped in ``assets/docs/``), the items the
operator ticks, and the step that journals the review.

A driver with a screen collects the ticks and hands them in (``docs_reviewed`` and
``docs_review_s`` in the run's state); without them the step asks through the prompter,
and ``--yes`` stops: no automation can say a person has read the plan.
"""

from __future__ import annotations

import re

from runbook import flow
from runbook.engine import Context, StepFailed, StepResult
from runbook.prompter import Option, Question
from runbook.resources import assets_dir

# (id, title, file in assets/docs/)
DOCUMENTS: tuple[tuple[str, str, str], ...] = (
    ("plan", "Plan", "deployment-plan.md"),
    ("checklist", "Checklist", "deployment-checklist.md"),
    ("readiness", "Readiness", "readiness-summary.md"),
)
# The checklist's section whose boxes the operator ticks.
TICK_SECTION = "Before you go on"
_BOX = re.compile(r"^\s*- \[ \] (?P<item>.+?)\s*$")


def read_doc(name: str) -> str:
    return (assets_dir() / "docs" / name).read_text(encoding="utf-8")


def tick_items() -> list[str]:
    """The seed's three "read" items, then the boxes of the checklist's tick section."""
    node = flow.NODES["docs"]
    assert isinstance(node, flow.Step)
    items = list(node.checklist)
    inside = False
    for line in read_doc("deployment-checklist.md").splitlines():
        if line.startswith("#"):
            inside = line.lstrip("#").strip().lower() == TICK_SECTION.lower()
            continue
        if inside and (m := _BOX.match(line)):
            items.append(re.sub(r"[*`_]", "", m["item"]))
    return items


def _ask(ctx: Context, items: list[str]) -> list[str]:
    where = assets_dir() / "docs"
    question = Question(
        "docs_reviewed",
        "Have you read the plan, the checklist and the readiness summary, and done each item?",
        options=(
            Option("stop", "Stop: read them first"),
            Option("reviewed", "Read, and every item is done"),
        ),
        safe="stop",
        evidence=(
            *(f"{title}: {where / name}" for _id, title, name in DOCUMENTS),
            *(f"[ ] {item}" for item in items),
        ),
    )
    return items if ctx.ask(question) == "reviewed" else []


def step_docs(ctx: Context) -> StepResult:
    items = tick_items()
    ticked = ctx.state.get("docs_reviewed")
    seconds = ctx.state.get("docs_review_s")
    if ticked is None:
        ticked = _ask(ctx, items)
    ticked = [item for item in items if item in ticked]
    ctx.emit("docs_review", items=ticked, total=len(items), seconds=seconds)
    missing = [item for item in items if item not in ticked]
    if missing:
        raise StepFailed(
            f"documentation review not done: {len(missing)} of {len(items)} items open",
            evidence=[f"not ticked: {item}" for item in missing],
        )
    took = f" in {int(seconds) // 60}:{int(seconds) % 60:02d}" if seconds else ""
    return StepResult(
        ok=True,
        summary=f"all {len(items)} items ticked by {ctx.journal.operator}{took}",
        evidence=[f"✓ {item}" for item in items],
    )


ACTIONS = {"docs": step_docs}
