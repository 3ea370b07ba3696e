"""The guided runbook in the terminal: the app, its screens, and the UI thread's side of a run.

The screens drive the same engine as the headless commands: a run is
``runs.new_context`` + ``runs.walk`` in a thread of its own (run_control.py); the
screens render its events (through :class:`EventBridge`) and answer its prompter
(through :class:`TuiPrompter`). No step is implemented here. The entry point is in
launch.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from runbook.screens.bridge import EventsReady, RunDone, RunStarted
from runbook.screens.model import RunModel
from runbook.screens.run_control import RunControl
from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen

from runbook import exitcodes, journal
from runbook.config import Config
from runbook.prompter import Question
from runbook.resources import assets_dir

STYLES = ("app.tcss", "home.tcss", "run.tcss", "monitor.tcss", "rollback.tcss", "modals.tcss")
DRY_RUN_BANNER = "DRY-RUN · every check runs for real · nothing is written"


def _style_paths() -> list[Path]:
    base = assets_dir() / "styles"
    return [Path(str(base / name)) for name in STYLES]


class RunbookApp(RunControl, App[int]):
    """One operator session: any number of runs (deploy, monitor, rollback) against one target."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]  # noqa: RUF012
    TITLE = "runbook"
    SUB_TITLE = "Phase 2 schema deployment"
    BINDINGS = [  # noqa: RUF012 (Textual's own convention)
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "interrupt", "Abort run", show=False, priority=True),
        Binding("f1", "show_help_panel", "Keys", show=False),
    ]

    def __init__(
        self,
        config: Config | None,
        *,
        config_error: str | None = None,
        dry_run: bool = False,
        rehearsal: Any = None,
        start: str = "home",
        operator: str | None = None,
        model: RunModel | None = None,
        validation: Any = None,
        unfinished: Any = None,
        static: bool = False,
    ) -> None:
        super().__init__(css_path=_style_paths())
        self.config = config
        self.config_error = config_error
        self.dry_run = dry_run
        self.rehearsal = rehearsal
        self.start_screen = start
        self.operator = operator or journal.operator_name()
        self.model = model or RunModel()
        self.validation = validation
        self.unfinished = unfinished
        # static: a recorded state for snapshots and screenshots; nothing is loaded or run
        self.static = static
        self.exit_code = exitcodes.OK
        self.journals: list[Path] = []
        self.owned_rehearsal: Any = None  # one Home's Rehearse started: stopped on exit
        self._init_runs()

    # -- what the screens read ---------------------------------------------------------

    @property
    def banner(self) -> str:
        if self.rehearsal is not None:
            text = str(getattr(self.rehearsal, "banner", "REHEARSAL · sandbox target"))
            return f"{text} · DRY-RUN" if self.dry_run else text
        return DRY_RUN_BANNER if self.dry_run else ""

    @property
    def banner_class(self) -> str:
        return "-rehearsal" if self.rehearsal is not None else ""

    # -- start up ----------------------------------------------------------------------

    def on_mount(self) -> None:
        from runbook.screens.home import HomeScreen

        self.push_screen(HomeScreen())
        if self.start_screen == "rollback" and self.config is not None:
            from runbook.screens.rollback import RollbackScreen

            self.push_screen(RollbackScreen(direct=True))
        elif self.start_screen == "report":
            from runbook.screens.report import ReportScreen

            self.push_screen(ReportScreen())
        elif self.start_screen == "run":
            self.show_run()
        elif self.start_screen == "monitor":
            from runbook.screens.monitor import MonitorScreen

            self.push_screen(MonitorScreen())
        if not self.static:
            self._install_signal_handlers()
            if self.config is not None:
                self.load_target_facts()

    def on_unmount(self) -> None:
        self._remove_signal_handlers()
        # Leaving for any reason (quit, crash): a walk waiting for an answer must not wait
        # for a screen that is gone. It aborts and cleans up; run_tui waits for it.
        if self.running:
            self.abort.request()
            self.prompter.wake()

    @work(thread=True, exit_on_error=False, group="facts")
    def load_target_facts(self) -> None:
        """Validation of the migration set and the journal's unfinished run, off the UI thread."""
        from runbook.validator import validate

        cfg = self.config
        assert cfg is not None
        try:
            validation = validate(cfg.sql_dir)
        except Exception as exc:  # the home screen says what is wrong with the set
            validation = exc
        try:
            unfinished = journal.unfinished_deploy(cfg.journal_dir, cfg.database.database)
        except OSError:
            unfinished = None
        self.call_from_thread(self._facts_loaded, validation, unfinished)

    def _facts_loaded(self, validation: Any, unfinished: Any) -> None:
        self.validation = validation
        self.unfinished = unfinished
        for screen in self._ready_screens("facts_changed"):
            screen.facts_changed()

    def _ready_screens(self, hook: str) -> list[Any]:
        """Screens that want ``hook`` and are mounted (a screen just pushed is not yet)."""
        return [s for s in self.screen_stack if hasattr(s, hook) and s.is_mounted]

    # -- the command palette: every binding of the screen is a command ------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.description in seen or not active.enabled:
                continue
            seen.add(binding.description)
            yield SystemCommand(
                binding.description,
                f"key: {binding.key_display or key}",
                partial(self.call_later, self.run_action, binding.action, active.node),
            )
        yield from super().get_system_commands(screen)

    # -- the session's target and its runs, as the UI thread sees them ------------------

    def enter_rehearsal(self, rehearsal: Any) -> None:
        """Home's Rehearse: from now on this session runs against the sandbox."""
        from runbook import config as config_mod

        self.rehearsal = rehearsal
        self.owned_rehearsal = rehearsal
        self.config = config_mod.load(rehearsal.config_path)
        self.unfinished = None
        self.load_target_facts()
        for screen in self.screen_stack:
            for banner in screen.query("Banner"):
                banner.on_mount()  # type: ignore[attr-defined]
        for screen in self._ready_screens("facts_changed"):
            screen.facts_changed()

    @on(EventsReady)
    def _drain(self) -> None:
        events, _more = self.bridge.drain()
        changed: set[str] = set()
        for event in events:
            changed.add(self.model.apply(event.kind, event.node, event.data))
            if event.kind == "step_start" and event.node in ("monitor",):
                self._show_monitor()
        changed.discard("")
        if changed:
            for screen in self._ready_screens("model_changed"):
                # a screen being torn down (the app is closing) has lost its widgets
                with contextlib.suppress(NoMatches):
                    screen.model_changed(changed)

    @on(RunStarted)
    def _run_started(self, message: RunStarted) -> None:
        if message.journal is not None:
            self.journals.append(message.journal)
            if self.model.run is not None:
                self.model.run.journal = message.journal
                # <database>_<command>_<YYYYmmdd_HHMMSS-xxxxxxxx>.jsonl
                self.model.run.run_id = "_".join(message.journal.stem.rsplit("_", 2)[-2:])

    @on(RunDone)
    def _run_done(self, message: RunDone) -> None:
        self._drain()  # whatever the worker emitted last
        self.exit_code = message.exit_code
        run = self.model.run
        if run is not None:
            run.exit_code = message.exit_code
            if run.outcome is None:
                run.outcome = message.outcome
        if message.error:
            self.notify(message.error, title="The run stopped", severity="error", timeout=15)
        if self._quit_after_run:
            self.exit(self.exit_code)
            return
        for screen in self._ready_screens("run_finished"):
            with contextlib.suppress(NoMatches):
                screen.run_finished(message)
        if self.after_run is not None:
            after, self.after_run = self.after_run, None
            after(message)

    # -- the prompter's UI side (UI thread) ------------------------------------------------

    def open_question(self, question: Question, done: Callable[[Any], None]) -> None:
        if question.id == "rollback_choice":
            from runbook.screens.rollback import RollbackScreen

            self.push_screen(RollbackScreen(direct=False, question=question), done)
            return
        from runbook.screens.decision import DecisionModal

        self.push_screen(DecisionModal(question, self.model), done)

    def open_text(self, question: Question, done: Callable[[Any], None]) -> None:
        from runbook.screens.decision import TextModal

        self.push_screen(TextModal(question), done)

    # -- navigation --------------------------------------------------------------------

    def bring(self, screen_type: type[Screen[Any]]) -> None:
        """Show the screen of that type: back down the stack to it, or push a new one."""
        if isinstance(self.screen, screen_type):
            return
        if any(isinstance(s, screen_type) for s in self.screen_stack):
            while not isinstance(self.screen, screen_type):
                self.pop_screen()
            return
        self.push_screen(screen_type())

    def show_run(self) -> None:
        from runbook.screens.phase import RunScreen

        self.bring(RunScreen)

    def show_monitor(self) -> None:
        from runbook.screens.monitor import MonitorScreen

        self.bring(MonitorScreen)

    def _show_monitor(self) -> None:
        from runbook.screens.monitor import MonitorScreen
        from runbook.screens.phase import RunScreen

        if isinstance(self.screen, RunScreen):
            self.push_screen(MonitorScreen())

    def show_report(self) -> None:
        from runbook.screens.report import ReportScreen

        if not isinstance(self.screen, ReportScreen):
            self.push_screen(ReportScreen())

    def go_home(self) -> None:
        from runbook.screens.home import HomeScreen

        while len(self.screen_stack) > 2 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()
        if not isinstance(self.screen, HomeScreen):
            self.pop_screen()

    # -- leaving -----------------------------------------------------------------------

    async def action_quit(self) -> None:
        if not self.running:
            self.exit(self.exit_code)
            return
        from runbook.screens.decision import quit_during_a_run

        def answer(abort: bool | None) -> None:
            if abort:
                self.abort_run(then_quit=True)

        self.push_screen(quit_during_a_run(), answer)

    def action_interrupt(self) -> None:
        """Ctrl-C: abort a run (after confirmation), or quit when nothing runs."""
        if not self.running:
            self.exit(self.exit_code)
            return
        from runbook.screens.decision import ConfirmModal, abort_the_run

        if isinstance(self.screen, ConfirmModal):
            self.abort_run()  # a second Ctrl-C confirms
            self.screen.dismiss(None)
            return

        def answer(abort: bool | None) -> None:
            if abort:
                self.abort_run()

        self.push_screen(abort_the_run(), answer)
