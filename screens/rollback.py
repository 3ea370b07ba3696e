"""The rollback screen: the seed's Option A (migration rollback) and Option B (DB restore) side
by side, with what each will do and lose; a backup picker for B; then the walk, whose
post-rollback checklist the run screen and the report show.

Opened directly (``runbook rollback`` without ``--yes``, or Home's Rollback) it starts the
chosen option itself; opened by the engine at the "Which rollback?" branch it answers the
question (and puts the chosen backup in the run's state for Option B).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from runbook.screens.base import RunbookScreen
from runbook.screens.model import fmt_bytes
from runbook.screens.widgets.banner import Banner
from runbook.screens.widgets.footer import KeysFooter
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Header, Static

from runbook.engine import Options
from runbook.prompter import Question

A_DOES = (
    "Runs the six down files newest first (what php artisan migrate:rollback --step=6 "
    "would do), "
    "deletes their migrations rows, then proves the schema equals the pre-deployment "
    "fingerprint. Refuses if a later migration or table depends on them."
)
A_LOSES = "Loses every row written to the six new tables. Nothing else is touched."
B_DOES = (
    "Checks the backup whole (gzip, dump-completed trailer, sha256 against the journal), "
    "loads it into a scratch schema while the app runs, swaps it in with one RENAME TABLE, "
    "proves the database equals the backup, and checks the app answers 200."
)
B_LOSES = "Loses EVERYTHING written to the database since the backup, in every table."


def fmt_age(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def plan_lines(lines: list[str]) -> Text:
    text = Text()
    for line in lines:
        style = "bold red" if line.startswith("REFUSED") else ""
        if "lost" in line or "DROP" in line:
            style = style or "yellow"
        text.append(line + "\n", style=style)
    return text


class RollbackScreen(RunbookScreen[str | None]):
    BINDINGS = [  # noqa: RUF012
        Binding("a", "option_a", "Option A: migrations"),
        Binding("b", "option_b", "Option B: restore"),
        Binding("p", "plan_b", "Check backup"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, direct: bool = True, question: Question | None = None) -> None:
        super().__init__()
        self.direct = direct
        self.question = question
        self.plan_a: Any = None
        self.plan_b: Any = None
        self.backups: list[Any] = []
        self.chosen: Path | None = None
        self._planning_b = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        yield Static(id="rb-intro")
        with Horizontal(id="rb-options"):
            with VerticalScroll(id="opt-a", classes="option"):
                yield Static(
                    Text("Option A: Migration rollback", style="bold"), classes="opt-title"
                )
                yield Static(Text(A_DOES))
                yield Static(Text(A_LOSES, style="yellow"))
                yield Static(Text("checking what it would drop…", style="dim"), id="plan-a")
            with Vertical(id="opt-b", classes="option"):
                yield Static(Text("Option B: DB restore", style="bold"), classes="opt-title")
                with VerticalScroll(id="b-scroll"):
                    yield Static(Text(B_DOES))
                    yield Static(Text(B_LOSES, style="yellow"))
                    yield DataTable(id="backups", cursor_type="row", zebra_stripes=True)
                    yield Static(Text("pick a backup (↑↓), p checks it", style="dim"), id="plan-b")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Rollback"
        intro = Text()
        if self.question is not None:
            intro.append(f"? {self.question.text}  ", style="bold")
            intro.append("the deployment is waiting for your choice; ", style="")
        intro.append("a runs Option A · b runs Option B with the picked backup", style="dim")
        intro.append(
            "\nThen: post-rollback checklist (verify the app works, document the issue, "
            "schedule the re-deploy).",
            style="dim",
        )
        self.query_one("#rb-intro", Static).update(intro)
        table = self.query_one("#backups", DataTable)
        # what decides the pick first: at 80 columns the last columns need a scroll
        table.add_columns("written", "verified", "age", "size", "sha256")
        table.focus()
        if not self.rb.static:
            self.load_plans()

    # -- reading (read-only, off the UI thread) -------------------------------------------

    @work(thread=True, exclusive=True, group="rollback-plan-a", exit_on_error=False)
    def load_plans(self) -> None:
        from runbook.db import DatabaseError, Target
        from runbook.rollback import list_backups, plan_option_a
        from runbook.validator import validate

        cfg = self.rb.config
        assert cfg is not None
        try:
            backups = list_backups(cfg)
        except OSError as exc:
            backups = []
            self.app.call_from_thread(self.notify, f"cannot list backups: {exc}", severity="error")
        self.app.call_from_thread(self.show_backups, backups)
        try:
            validation = self.rb.validation
            if validation is None or isinstance(validation, Exception):
                validation = validate(cfg.sql_dir)
            session = Target(cfg.database, dry_run=True).connect()
            try:
                plan = plan_option_a(session, cfg.database.database, validation)
            finally:
                session.close()
        except (DatabaseError, OSError) as exc:
            self.app.call_from_thread(self.show_plan_a, None, str(exc))
            return
        self.app.call_from_thread(self.show_plan_a, plan, None)

    @work(thread=True, exclusive=True, group="rollback-plan-b", exit_on_error=False)
    def load_plan_b(self, path: Path) -> None:
        from runbook.db import DatabaseError, Target
        from runbook.rollback import plan_option_b

        cfg = self.rb.config
        assert cfg is not None

        def progress(done: int, total: int | None) -> None:
            pct = f"{100 * done / total:.0f} %" if total else fmt_bytes(done)
            self.app.call_from_thread(
                self.query_one("#plan-b", Static).update, Text(f"checking {path.name}: {pct}")
            )

        try:
            session = Target(cfg.database, dry_run=True).connect()
            try:
                plan = plan_option_b(
                    session,
                    cfg.database.database,
                    path,
                    journal_dir=cfg.journal_dir,
                    progress=progress,
                )
            finally:
                session.close()
        except (DatabaseError, OSError) as exc:
            self.app.call_from_thread(self.show_plan_b, path, None, str(exc))
            return
        self.app.call_from_thread(self.show_plan_b, path, plan, None)

    # -- showing --------------------------------------------------------------------------

    def show_backups(self, backups: list[Any]) -> None:
        self.backups = backups
        table = self.query_one("#backups", DataTable)
        table.clear()
        for b in backups:
            table.add_row(
                b.modified.strftime("%Y-%m-%d %H:%M"),
                "✓ yes" if b.verified else "✗ no",
                fmt_age(b.age_s),
                fmt_bytes(b.size),
                (b.sha256 or "not recorded")[:12],
                key=str(b.path),
            )
        if not backups:
            self.query_one("#plan-b", Static).update(
                Text("no backup in the backup directory: Option B is not available", style="red")
            )
        else:
            self.chosen = backups[0].path
            self.query_one("#plan-b", Static).update(
                Text(f"{self.chosen.name}: p checks it (reads it whole)", style="dim")
            )

    def show_plan_a(self, plan: Any, error: str | None) -> None:
        self.plan_a = plan
        widget = self.query_one("#plan-a", Static)
        if error is not None:
            widget.update(Text(f"cannot plan Option A: {error}", style="bold red"))
        elif plan.nothing_to_do:
            widget.update(Text("Nothing to roll back: Phase 2 is not applied.", style="green"))
        else:
            widget.update(plan_lines(plan.evidence()))

    def show_plan_b(self, path: Path, plan: Any, error: str | None) -> None:
        if path != self.chosen:
            return
        self.plan_b = plan
        widget = self.query_one("#plan-b", Static)
        if error is not None:
            widget.update(Text(f"cannot check {path.name}: {error}", style="bold red"))
        else:
            widget.update(plan_lines(plan.evidence()))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value:
            path = Path(event.row_key.value)
            if path != self.chosen:
                self.plan_b = None
                self.query_one("#plan-b", Static).update(
                    Text(f"{path.name}: p checks it (reads it whole)", style="dim")
                )
            self.chosen = path

    # -- choosing -------------------------------------------------------------------------

    def action_plan_b(self) -> None:
        if self.chosen is None:
            self.notify("No backup to check", severity="warning")
            return
        self.load_plan_b(self.chosen)

    def action_option_a(self) -> None:
        if self.plan_a is not None and getattr(self.plan_a, "refusals", None):
            self.notify(f"Option A refuses: {self.plan_a.refusals[0]}", severity="error")
            # the walk would refuse the same way; let it journal the refusal
        self._choose("migrations", None)

    def action_option_b(self) -> None:
        if self.chosen is None:
            self.notify("Pick a backup first: none is listed", severity="error")
            return
        if self.plan_b is None:
            self.notify("Check the backup first (p): what it loses is shown before it runs")
            self.load_plan_b(self.chosen)
            return
        self._choose("restore", self.chosen)

    def _choose(self, answer: str, path: Path | None) -> None:
        app = self.rb
        if not self.direct:
            if path is not None and app.prompter.ctx is not None:
                app.prompter.ctx.state["restore_file"] = str(path)
            self.dismiss(answer)
            return
        start = "rollback_a" if answer == "migrations" else "rollback_b"
        extra = {"restore_file": str(path)} if path is not None else {}

        def after(_message: Any) -> None:
            app.show_report()

        if app.start_walk(
            "rollback", start, Options(dry_run=app.dry_run), extra=extra, after=after
        ):
            self.dismiss(None)
            app.show_run()

    def action_back(self) -> None:
        if not self.direct:
            self.notify("The deployment waits for a rollback choice: a or b", severity="warning")
            return
        self.dismiss(None)
