"""Home: what this run is, and what to do."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from runbook.screens.base import RunbookScreen
from runbook.screens.widgets.banner import Banner
from runbook.screens.widgets.footer import KeysFooter
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

ACTIONS: tuple[tuple[str, str, str], ...] = (
    # id, label, what it does
    ("resume", "Resume the unfinished run", "finish it, or return the target to before"),
    # one line each at 80 columns: a responder must see Rollback without scrolling
    ("deploy", "Deploy", "review, tests, checks, backup, migration, verify"),
    ("rehearse", "Rehearse", "the same runbook against a throwaway sandbox"),
    ("test", "Test migrations", "the nine tests on a scratch copy of the schema"),
    ("monitor", "Monitor", "the 30-minute window and its checkpoint"),
    ("rollback", "Rollback", "A: the down migrations, or B: restore a backup"),
    ("report", "Report", "what this session ran so far"),
)
KEYS = {
    "resume": "u",
    "deploy": "d",
    "rehearse": "h",
    "test": "t",
    "monitor": "m",
    "rollback": "b",
    "report": "r",
}


def validation_line(validation: Any) -> Text:
    if validation is None:
        return Text("validating…", style="dim")
    if isinstance(validation, Exception):
        return Text(f"✗ cannot read the migration set: {validation}", style="bold red")
    errors, warnings = len(validation.errors), len(validation.warnings)
    n = len(validation.migrations)
    if errors:
        return Text(
            f"✗ {n} migrations, {errors} error(s), {warnings} warning(s): NOT deployable",
            style="bold red",
        )
    text = Text(f"✓ {n} migrations validate", style="green")
    if warnings:
        text.append(f" ({warnings} warning(s))", style="yellow")
    return text


def overview() -> Text:
    """The deployment at a glance (tall terminals): the seed's steps and their estimates."""
    from runbook.screens.model import MAIN_LINE, fmt_estimate
    from runbook.screens.widgets.flowmap import SHORT

    from runbook import flow

    text = Text("The deployment, as the runbook walks it\n", style="bold")
    for step_id in MAIN_LINE:
        node = flow.NODES[step_id]
        estimate = fmt_estimate(getattr(node, "estimate_s", 0))
        text.append(f"  {SHORT.get(step_id, node.title):<24}", style="")
        text.append(f"{estimate:>8}\n", style="dim")
    text.append("Every branch asks you, with its evidence and the safe answer first.", style="dim")
    return text


class HomeScreen(RunbookScreen[None]):
    BINDINGS = [  # noqa: RUF012
        Binding("u", "choose('resume')", "Resume"),
        Binding("d", "choose('deploy')", "Deploy"),
        Binding("h", "choose('rehearse')", "Rehearse"),
        Binding("t", "choose('test')", "Test"),
        Binding("m", "choose('monitor')", "Monitor"),
        Binding("b", "choose('rollback')", "Rollback"),
        Binding("r", "choose('report')", "Report"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        with Vertical(id="home"):
            yield Static(id="facts")
            yield OptionList(id="actions")
            yield Static(overview(), id="overview")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Home"
        self.facts_changed()
        self.query_one("#actions", OptionList).focus()

    def facts_changed(self) -> None:
        self.query_one("#facts", Static).update(self._facts())
        self.refresh_bindings()
        actions = self.query_one("#actions", OptionList)
        keep = actions.highlighted
        options = []
        for action_id, label, what in self._offered():
            text = Text(f"[{KEYS[action_id]}] ", style="bold")
            text.append(f"{label:<17}" if len(label) < 17 else label, style="bold")
            text.append(f"  {what}", style="dim")
            options.append(Option(text, id=action_id))
        actions.set_options(options)
        actions.highlighted = keep if keep is not None and keep < len(options) else 0

    def _offered(self) -> list[tuple[str, str, str]]:
        app = self.rb
        out = []
        for action in ACTIONS:
            action_id = action[0]
            if action_id == "resume" and app.unfinished is None:
                continue
            if action_id == "rehearse" and app.rehearsal is not None:
                continue  # already rehearsing: Deploy is the rehearsal
            if action_id == "report" and not app.model.runs:
                continue
            if action_id == "resume":
                started = app.unfinished.started
                action = (
                    action_id,
                    f"Resume the unfinished run of {started.get('ts', '?')[:19]}",
                    f"by {started.get('operator', '?')}@{started.get('host', '?')}: "
                    "finish it or return the target to before",
                )
            out.append(action)
        return out

    def _facts(self) -> Text:
        app = self.rb
        cfg = app.config
        text = Text()

        def row(label: str, value: str | Text, style: str = "") -> None:
            text.append(f"{label:<11}", style="bold")
            if isinstance(value, Text):
                text.append_text(value)
            else:
                text.append(value, style=style)
            text.append("\n")

        if cfg is None:
            row("Config", app.config_error or "not loaded", "bold red")
            return text
        row("Target", cfg.database.where)
        row("App", f"{cfg.app.path}  {cfg.app.url}")
        row("Operator", app.operator)
        row("Config", str(cfg.path) if cfg.path else "(defaults)")
        row("Migrations", validation_line(app.validation))
        if app.unfinished is not None:
            row("Journal", f"UNFINISHED RUN: {app.unfinished.path.name}", "bold yellow")
        mode = "dry-run: nothing is written" if app.dry_run else "live: this writes to the target"
        if app.rehearsal is not None:
            mode = "rehearsal on a sandbox" + (": dry-run" if app.dry_run else "")
        row("Mode", mode, "bold magenta" if (app.dry_run or app.rehearsal) else "bold")
        if app.rehearsal is not None and getattr(app.rehearsal, "briefing", ""):
            row("Briefing", str(app.rehearsal.briefing), "italic")
        return text.rstrip() or text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose" and parameters:
            return parameters[0] in {a[0] for a in self._offered()}
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.action_choose(event.option.id)

    def action_choose(self, action_id: str) -> None:
        app = self.rb
        offered = {a[0] for a in self._offered()}
        if action_id not in offered:
            why = {
                "resume": "there is no unfinished run in the journal",
                "report": "nothing has run in this session yet",
                "rehearse": "this is already a rehearsal",
            }.get(action_id, "not available")
            self.notify(why, severity="warning")
            return
        if app.running:
            app.show_run()
            return
        from runbook.screens import actions

        getattr(actions, f"begin_{action_id}")(app)
