"""A step's checklist: each item pending, running, passed, failed, skipped, with the elapsed
time against the seed's estimate."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from runbook.screens.model import (
    FAILED,
    MARKS,
    PASSED,
    RUNNING,
    StepState,
    fmt_bytes,
    fmt_estimate,
    fmt_seconds,
)
from runbook.screens.widgets.flowmap import STYLE
from textual.widgets import Static


def step_header(step: StepState, now: float) -> Text:
    elapsed = step.elapsed(now)
    text = Text(f"{MARKS[step.status]} {step.title}", style="bold")
    text.append(f"  {step.status}", style=STYLE[step.status])
    text.append(f"  {fmt_seconds(elapsed)} / seed {fmt_estimate(step.estimate_s)}", style="dim")
    if step.over_estimate(now):
        text.append("  OVER ESTIMATE", style="bold yellow")
    if step.progress is not None:
        done, total, unit = step.progress
        if unit == "bytes":
            shown = f"{fmt_bytes(done)} of {fmt_bytes(total)}" if total else fmt_bytes(done)
        else:
            shown = f"{done:g} of {total:g} {unit}" if total else f"{done:g} {unit}"
        text.append(f"\n  progress: {shown}", style="cyan")
    if step.summary and step.status not in (RUNNING,):
        text.append(f"\n  {step.summary}", style="red" if step.status == FAILED else "")
    return text


class Checklist(Static):
    """Renders one step: header, items, evidence of a failure."""

    def show(self, step: StepState, now: float) -> None:
        lines: list[Text] = [step_header(step, now)]
        for item in step.items:
            line = Text(f"  {MARKS[item.status]} {item.name}", style=STYLE[item.status])
            line.append(f"  {item.status}", style="dim")
            if item.detail and item.status != PASSED:
                line.append(f"  {item.detail}", style="dim")
            lines.append(line)
        extra = [c for c in step.checks if c.get("status") in ("fail", "warn")]
        for check in extra:
            mark = MARKS[FAILED] if check["status"] == "fail" else "!"
            lines.append(Text(f"  {mark} {check['name']}: {check['detail']}", style=STYLE[FAILED]))
            if check.get("fix"):
                lines.append(Text(f"      → {check['fix']}", style="dim"))
        for line in step.evidence[:12] if step.status == FAILED else []:
            lines.append(Text(f"    {line}", style="red"))
        self.update(Group(*lines))
