"""The run: a flow map of every phase, and the page of one phase (the running one unless the
operator picked another): its checklist with elapsed time against the seed's estimate, its
live output, and for the migration the SQL and the validator's findings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from runbook.screens.base import RunbookScreen
from runbook.screens.model import MAIN_LINE, StepState
from runbook.screens.visible import uncovered
from runbook.screens.widgets.banner import Banner
from runbook.screens.widgets.checklist import Checklist
from runbook.screens.widgets.flowmap import FlowMap
from runbook.screens.widgets.footer import KeysFooter
from runbook.screens.widgets.sqlview import SqlView, findings_text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Header, OptionList, RichLog, Static, TabbedContent, TabPane

if TYPE_CHECKING:
    from runbook.screens.bridge import RunDone

LEVEL_STYLE = {"error": "red", "warning": "yellow", "would": "magenta", "info": ""}
OUTCOME_TEXT = {
    "success": "✓ SUCCESS",
    "stopped": "■ STOPPED: nothing was changed",
    "failed": "✗ FAILED: the target is as it was before",
    "rolled_back": "↺ ROLLED BACK",
    "needs_person": "✗ NEEDS A PERSON: the target changed and is not verified",
    "error": "✗ ERROR",
}


class RunScreen(RunbookScreen[None]):
    BINDINGS = [  # noqa: RUF012
        Binding("f", "follow", "Follow"),
        Binding("o", "pane('output')", "Output"),
        Binding("s", "pane('sql')", "SQL"),
        Binding("v", "pane('findings')", "Findings"),
        Binding("left_square_bracket", "sql(-1)", "Prev SQL", show=False),
        Binding("right_square_bracket", "sql(1)", "Next SQL", show=False),
        Binding("m", "monitor", "Monitor"),
        Binding("r", "report", "Report"),
        Binding("escape", "home", "Home"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.shown: str | None = None  # the step on the page
        self.follow = True
        self._written = 0  # lines of the shown step already in the log
        self._sql_index: int | None = None
        self._sql_pick: int | None = None  # a migration the operator chose with [ ]
        self._stale = False  # changed while covered: repainted when shown again

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        yield Static(id="run-status")
        with Horizontal(id="run-body"):
            yield FlowMap(id="flow")
            with Vertical(id="page"):
                with VerticalScroll(id="checklist-box"):
                    yield Checklist(id="checklist")
                with TabbedContent(id="panes"):
                    with TabPane("Output", id="output"):
                        yield RichLog(id="log", max_lines=2000, wrap=True, markup=False)
                    with TabPane("SQL", id="sql"), VerticalScroll():
                        yield SqlView(id="sqlview")
                    with TabPane("Findings", id="findings"), VerticalScroll():
                        yield Static(id="findings-text")
        yield KeysFooter(compact=True)

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self._render_all()

    def on_mount(self) -> None:
        self.sub_title = "Guided runbook"
        self._render_all()
        self.set_interval(0.5, self._tick)
        self.query_one("#flow", FlowMap).focus()

    # -- what is shown -----------------------------------------------------------------

    def _target_step(self) -> StepState:
        model = self.rb.model
        if self.follow or self.shown is None:
            step_id = model.current or self._last_visited() or MAIN_LINE[0]
        else:
            step_id = self.shown
        return model.steps[step_id]

    def _last_visited(self) -> str | None:
        """After a run: the step that failed, else the last one that did the work."""
        visited = [s for s in self.rb.model.steps.values() if s.visited]
        visited.sort(key=lambda s: s.started_at or 0)
        failed = [s for s in visited if s.status == "failed"]
        if failed:
            return failed[-1].id
        work = [s for s in visited if s.id not in ("archive", "notify")]
        return (work or visited)[-1].id if visited else None

    def _render_all(self) -> None:
        self.query_one("#flow", FlowMap).render_model(self.rb.model)
        self._render_page(full=True)
        self._render_status()

    def _render_page(self, full: bool = False) -> None:
        model = self.rb.model
        step = self._target_step()
        if step.id != self.shown:
            self.shown, full = step.id, True
        self.query_one("#checklist", Checklist).show(step, model.clock())
        log = self.query_one("#log", RichLog)
        if full or step.said < self._written:
            log.clear()
            self._written = step.said - len(step.output)
        new = step.said - self._written
        if new > 0:
            lines = list(step.output)[-new:]
            for level, text in lines:
                log.write(Text(text, style=LEVEL_STYLE.get(level, "")))
            self._written = step.said
        if full:
            self._render_sql()
            self.query_one("#panes", TabbedContent).active = (
                "sql" if step.id == "migrate" else "output"
            )

    def _render_sql(self) -> None:
        validation = self.rb.validation
        if isinstance(validation, Exception):
            validation = None
        migrate = self.rb.model.steps["migrate"]
        focus = next((i.name for i in migrate.items if i.status in ("running", "failed")), None)
        self._sql_index = self.query_one("#sqlview", SqlView).show(
            validation, migrate.statements, "ansi_dark", focus, self._sql_pick
        )
        self.query_one("#findings-text", Static).update(findings_text(validation))

    def _render_status(self) -> None:
        model = self.rb.model
        run = model.run
        text = Text()
        if run is None:
            text.append("No run yet.", style="dim")
        elif run.outcome is None:
            text.append(f"▸ {run.kind} running", style="bold yellow")
            if model.current:
                text.append(f": {model.steps[model.current].title}")
            if self.rb.prompter.waiting:
                text.append("  · waiting for your answer", style="bold")
        else:
            label = OUTCOME_TEXT.get(run.outcome, run.outcome)
            style = "bold green" if run.outcome == "success" else "bold red"
            if run.outcome == "rolled_back" and run.exit_code == 0:
                style = "bold yellow"
            text.append(f"{label} (exit {run.exit_code})", style=style)
            if run.title:
                text.append(f"  {run.title}")
            text.append("  · r report", style="dim")
            if run.kind in ("deploy",) and run.outcome == "success":
                text.append(" · m start monitoring", style="bold")
        if not self.follow:
            text.append("  · browsing (f follows the run)", style="dim")
        self.query_one("#run-status", Static).update(text)

    # -- updates -----------------------------------------------------------------------

    def model_changed(self, changed: set[str]) -> None:
        if not uncovered(self):
            self._stale = True
            return
        if "flow" in changed:
            self.query_one("#flow", FlowMap).render_model(self.rb.model)
            self._render_status()
        if changed & {"flow", "step", "log", "progress"}:
            self._render_page()
            if self.shown == "migrate" and changed & {"step", "flow"}:
                self._render_sql()

    def run_finished(self, message: RunDone) -> None:
        self._render_all()
        self.refresh_bindings()

    def _tick(self) -> None:
        model = self.rb.model
        if model.current is not None and uncovered(self):
            self.query_one("#flow", FlowMap).render_model(model)
            self.query_one("#checklist", Checklist).show(self._target_step(), model.clock())
            self._render_status()

    def facts_changed(self) -> None:
        self._render_sql()

    # -- keys --------------------------------------------------------------------------

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id and not event.option.id.startswith("?"):
            self.follow = False
            self.shown = None
            self.shown = event.option.id
            self._render_page(full=True)
            self._render_status()

    def action_sql(self, delta: int) -> None:
        self._sql_pick = (self._sql_index or 0) + delta
        self.query_one("#panes", TabbedContent).active = "sql"
        self._render_sql()

    def action_follow(self) -> None:
        self.follow = True
        self._render_page(full=True)
        self._render_status()

    def action_pane(self, pane: str) -> None:
        self.query_one("#panes", TabbedContent).active = pane

    def action_monitor(self) -> None:
        if self.rb.model.monitor.window or self.rb.model.current == "monitor":
            self.rb.show_monitor()
            return
        from runbook.screens import actions

        actions.begin_monitor(self.rb)

    def action_report(self) -> None:
        self.rb.show_report()

    def action_home(self) -> None:
        if self.rb.running:
            self.notify("The run goes on; Home shows what else there is.", timeout=3)
        self.rb.go_home()

    def check_action(self, action: str, parameters: tuple[Any, ...]) -> bool | None:
        if action == "monitor":
            run = self.rb.model.run
            deployed = bool(run and run.kind == "deploy" and run.outcome == "success")
            return deployed or bool(self.rb.model.monitor.window)
        return True
