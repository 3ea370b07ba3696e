"""The flow map: every phase of the seed with its state, the decisions taken beneath.

Each row carries its state as a mark and, for the running step, the word
"running", so it reads the same without colour.
"""

from __future__ import annotations

from rich.text import Text
from runbook.screens.model import MARKS, RUNNING, RunModel, fmt_seconds
from textual.widgets import OptionList
from textual.widgets.option_list import Option

SHORT = {
    "docs": "Review documentation",
    "test_suite": "Automated test suite",
    "preflight": "Pre-deployment checks",
    "lock": "Deployment lock",
    "backup": "1 Database backup",
    "maintenance": "2 Maintenance mode",
    "cache": "3 Cache clearing",
    "migrate": "4 Migration",
    "verify": "5 Verification",
    "restore": "6 Application restore",
    "monitor": "Monitoring",
    "checkpoint": "30-min checkpoint",
    "archive": "Archive logs",
    "notify": "Notification",
    "auto_rollback": "Auto rollback",
    "keep_unverified": "Manual check (exit 4)",
    "restore_after_failure": "App restore (failure)",
    "rollback_a": "Option A: migrations",
    "rollback_b": "Option B: restore",
    "post_rollback": "Post-rollback",
}
# Below NARROW_BELOW columns (an 80-column terminal) the names that fit beside the time.
NARROW_BELOW = 32
NARROW = {
    "docs": "Docs review",
    "test_suite": "Test suite",
    "preflight": "Pre-checks",
    "lock": "Lock",
    "backup": "1 Backup",
    "maintenance": "2 Maintenance",
    "cache": "3 Cache",
    "migrate": "4 Migration",
    "verify": "5 Verification",
    "restore": "6 App restore",
    "monitor": "Monitoring",
    "checkpoint": "Checkpoint",
    "archive": "Archive",
    "notify": "Notify",
    "auto_rollback": "Auto rollback",
    "keep_unverified": "Manual check",
    "restore_after_failure": "App restore",
    "rollback_a": "Option A",
    "rollback_b": "Option B",
    "post_rollback": "Post-rollback",
}
# The decision sits under the step it asks about: "failed?" says enough there.
NARROW_QUESTION = {
    "tests_failed": "failed?",
    "migration_failed": "failed?",
    "verification_failed": "failed?",
    "issues_detected": "issues?",
    "checkpoint_failed": "failed?",
    "rollback_choice": "which option?",
}
STYLE = {
    "passed": "green",
    "failed": "bold red",
    "running": "bold yellow",
    "skipped": "dim",
    "pending": "dim",
    "unconfirmed": "yellow",
}
BRANCHES = {"auto_rollback", "keep_unverified", "restore_after_failure"}


def compact(seconds: float) -> str:
    """Times that fit the map's narrow column: 0.06 s, 12.3 s, 5m12s, 1h02m."""
    if seconds < 60:
        return fmt_seconds(seconds)
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


class FlowMap(OptionList):
    """One option per step (its id is the step id); decisions are disabled rows."""

    _model: RunModel | None = None

    def on_resize(self) -> None:
        if self._model is not None:
            self.render_model(self._model)

    def render_model(self, model: RunModel) -> None:
        self._model = model
        now = model.clock()
        # one line per row, whatever the width: label cut, time right-aligned
        width = max(20, self.scrollable_content_region.width or 28)
        narrow = width < NARROW_BELOW
        names = NARROW if narrow else SHORT
        keep = self.highlighted_option.id if self.highlighted_option else None
        options: list[Option] = []
        for kind, node_id in model.flow_rows():
            if kind == "decision":
                d = model.last_decision(node_id)
                if d is None:
                    continue
                how = "auto" if d.get("automatic") else d.get("operator", "")
                asked = NARROW_QUESTION.get(node_id, d["text"]) if narrow else d["text"]
                text = Text(f"  ? {asked} → {d['answer']}", style="italic")
                text.append(f" ({how})", style="dim")
                text.truncate(width, overflow="ellipsis")
                text.no_wrap = True
                options.append(Option(text, id=f"?{node_id}", disabled=True))
                continue
            step = model.steps[node_id]
            indent = "  " if node_id in BRANCHES else ""
            elapsed = step.elapsed(now)
            right = compact(elapsed) if elapsed is not None else ""
            if step.status == RUNNING:
                right = f"▸ {right}"
            label = f"{indent}{MARKS[step.status]} {names.get(node_id, step.title)}"
            room = width - len(right) - 1
            if len(label) > room:
                label = label[: max(1, room - 1)] + "…"
            text = Text(label.ljust(room) + " ", style=STYLE[step.status])
            text.append(right, style="bold" if step.status == RUNNING else "dim")
            text.no_wrap = True
            options.append(Option(text, id=node_id))
        self.set_options(options)
        if keep is not None:
            ids = [o.id for o in options]
            if keep in ids:
                self.highlighted = ids.index(keep)
