"""The report: what happened, per-phase timings, downtime, the decisions, where things are."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbook.screens.base import RunbookScreen
from runbook.screens.model import MARKS, RunModel, fmt_bytes, fmt_estimate, fmt_seconds
from runbook.screens.widgets.banner import Banner
from runbook.screens.widgets.footer import KeysFooter
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, MarkdownViewer

if TYPE_CHECKING:
    from runbook.screens.bridge import RunDone

OUTCOME_WORDS = {
    "success": "✓ success",
    "stopped": "■ stopped before any change",
    "failed": "✗ failed; the target is as it was before",
    "rolled_back": "↺ rolled back",
    "needs_person": "✗ NEEDS A PERSON: the target changed and is not verified",
    "error": "✗ error",
}


def _when(iso: str) -> str:
    """2025-10-01T02:00:00.200+00:00 -> 2025-10-01 02:00:00 +00:00"""
    if not iso or len(iso) < 19:
        return iso
    zone = iso[-6:] if iso[-6] in "+-" else ""
    return f"{iso[:10]} {iso[11:19]} {zone}".strip()


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def report_markdown(model: RunModel, debrief: str | None = None) -> str:
    lines: list[str] = []
    run = model.run
    if run is None:
        return "# Report\n\nNothing has run in this session yet.\n"
    kinds = ", ".join(dict.fromkeys(r.kind for r in model.runs))
    lines += [f"# Report: {kinds}", ""]
    for r in model.runs:
        outcome = OUTCOME_WORDS.get(r.outcome or "", r.outcome or "still running")
        code = "" if r.exit_code is None else f" (exit {r.exit_code})"
        lines.append(f"- **{r.kind}**: {outcome}{code}" + (f" · {r.title}" if r.title else ""))
        if r.aborted:
            lines.append(f"  - aborted: {r.aborted}")
    first = model.runs[0]
    lines += ["", "## Who, where, when", ""]
    if first.target:
        lines.append(f"- target: `{first.target}`")
    if first.operator:
        lines.append(f"- operator: {first.operator}@{first.host}")
    if first.started:
        lines.append(f"- started: {_when(first.started)}; ended: {_when(run.ended) or '—'}")
    if any(r.dry_run for r in model.runs):
        lines.append("- **DRY-RUN**: nothing was written")
    if options := first.options:
        chosen = [k for k in ("no_maintenance", "skip_backup", "yes") if options.get(k)]
        lines.append(f"- options: {', '.join(chosen) or 'full safety'}")

    lines += ["", "## Phases", "", "| | phase | time | seed estimate |", "|---|---|---|---|"]
    for step, elapsed in model.timings():
        lines.append(
            f"| {MARKS[step.status]} {step.status} | {_cell(step.title)} | "
            f"{fmt_seconds(elapsed)} | {fmt_estimate(step.estimate_s)} |"
        )
    lines.append(f"\nTotal measured: {fmt_seconds(model.total_elapsed())}")

    lines += ["", "## Downtime", ""]
    if model.downtime_s is not None:
        lines.append(f"{model.downtime_s:.2f} s in maintenance mode (HTTP 503)")
    elif first.options.get("no_maintenance"):
        lines.append("none: zero-downtime deployment (no maintenance mode)")
    elif model.maintenance_on:
        lines.append("**the application is still in maintenance mode**")
    else:
        lines.append("none measured")
    migrate = model.steps["migrate"]
    if migrate.statements:
        total = sum(
            float(s.get("elapsed_ms") or 0) for s in migrate.statements if not s.get("undo")
        )
        lines.append(
            f"\nMigration: batch {model.batch}, {total:.0f} ms for "
            f"{len([s for s in migrate.statements if not s.get('undo')])} tables"
        )

    lines += ["", "## Decisions", ""]
    if model.decisions:
        lines += ["| question | answer | how | who | when |", "|---|---|---|---|---|"]
        for d in model.decisions:
            how = "automatic" if d.get("automatic") else "answered"
            safe = " (safe)" if d.get("answer") == d.get("safe") else ""
            lines.append(
                f"| {_cell(d.get('text', d.get('question')))} | {_cell(d.get('answer'))}{safe} | "
                f"{how} | {_cell(d.get('operator', ''))} | {_cell(_when(str(d.get('ts', ''))))} |"
            )
    else:
        lines.append("none")

    lines += ["", "## Where things are", ""]
    if model.backup:
        b = model.backup
        lines.append(
            f"- backup: `{b.get('path')}` ({fmt_bytes(b.get('size'))}, {b.get('tables')} tables, "
            f"sha256 `{b.get('sha256')}`), verified"
        )
    elif model.backup_skipped:
        lines.append("- backup: **skipped on request**: Option B has nothing from this run")
    if model.archive:
        lines.append(f"- archive: `{model.archive}`")
    for r in model.runs:
        if r.journal:
            lines.append(f"- journal ({r.kind}): `{r.journal}`")
    if model.notified:
        sent = ", ".join(model.notified.get("sent") or []) or "nothing sent"
        lines.append(f"- notification: {sent}")

    m = model.monitor
    if m.verdict or m.checks:
        lines += ["", "## Monitoring", ""]
        if m.verdict:
            lines.append(
                f"Window {m.verdict.get('window', m.window)}: severity "
                f"**{m.verdict.get('severity')}** ({_cell(m.verdict.get('reason'))})"
            )
        checks = m.checks or (m.verdict or {}).get("checks") or []
        if checks:
            lines += ["", "30-minute checkpoint:", ""]
            mark = {"pass": "✓", "fail": "✗", "unconfirmed": "?"}
            for c in checks:
                lines.append(
                    f"- {mark.get(c.get('status'), '?')} {c.get('name')}: {_cell(c.get('detail'))}"
                )
        if m.counts:
            lines += [
                "",
                "Detector hits: " + ", ".join(f"{k} {v}" for k, v in m.counts.most_common()),
            ]

    if model.rollback:
        rb = model.rollback
        lines += ["", "## Post-rollback", ""]
        lines.append(f"- {'✓' if rb.get('app_ok') else '✗'} verify the app works: {rb.get('app')}")
        lines.append(f"- ✓ issue documented: {_cell(rb.get('note'))}")
        lines.append(f"- ✓ re-deploy: {_cell(rb.get('redeploy'))}")
        if rb.get("state"):
            lines.append(f"- database: {_cell(rb.get('state'))}")

    failed = [s for s, _ in model.timings() if s.status == "failed" and s.evidence]
    if failed:
        lines += ["", "## Evidence of what failed", ""]
        for s in failed:
            lines.append(f"**{s.title}**: {_cell(s.summary)}")
            lines += [f"- {_cell(e)}" for e in s.evidence[:10]]
            lines.append("")
    if debrief:
        lines += ["", debrief.replace("# Rehearsal debrief", "## Rehearsal debrief", 1)]
    return "\n".join(lines) + "\n"


class ReportScreen(RunbookScreen[None]):
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "back", "Back"),
        Binding("h", "home", "Home"),
        Binding("q", "app.quit", "Quit", show=False),  # ^q is in the footer already
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        yield MarkdownViewer(self._markdown(), show_table_of_contents=False, id="report")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Report"
        self.query_one("#report").focus()

    def _markdown(self) -> str:
        debrief = None
        rehearsal = self.rb.rehearsal
        if rehearsal is not None and self.rb.journals and not self.rb.running:
            try:
                debrief = rehearsal.debrief(list(self.rb.journals)).as_markdown()
            except Exception as exc:  # the report stands without the debrief
                debrief = f"# Rehearsal debrief\n\n(not available: {exc})"
        return report_markdown(self.rb.model, debrief)

    def run_finished(self, message: RunDone) -> None:
        self.query_one("#report", MarkdownViewer).document.update(self._markdown())

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_home(self) -> None:
        self.rb.go_home()
