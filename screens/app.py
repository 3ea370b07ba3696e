"""The guided runbook in the terminal: the app, its runs, and the entry point.

The screens drive the same engine as the headless commands: a run is
``runs.new_context`` + ``runs.walk`` in a thread worker; the screens render its
events (through :class:`EventBridge`) and answer its prompter (through
:class:`TuiPrompter`). No step is implemented here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from runbook.screens.bridge import (
    AbortRequest,
    EventBridge,
    EventsReady,
    RunDone,
    RunStarted,
    TuiPrompter,
)
from runbook.screens.model import RunModel
from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen

from runbook import exitcodes, journal, runs
from runbook.config import Config, ConfigError
from runbook.engine import Options
from runbook.prompter import Question
from runbook.resources import assets_dir

WATCHDOG_GRACE_S = 5.0
STYLES = ("app.tcss", "home.tcss", "run.tcss", "monitor.tcss", "rollback.tcss", "modals.tcss")
DRY_RUN_BANNER = "DRY-RUN · every check runs for real · nothing is written"


def _style_paths() -> list[Path]:
    base = assets_dir() / "styles"
    return [Path(str(base / name)) for name in STYLES]


class RunbookApp(App[int]):
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
        self.abort = AbortRequest()
        self.bridge = EventBridge(self.post_message, self.abort)
        self.prompter = TuiPrompter(
            self.call_from_thread, self.open_question, self.open_text, self.abort
        )
        self.walk_thread: threading.Thread | None = None
        self.walk_result: RunDone | None = None
        self._quit_after_run = False
        self._abort_requested = False
        self.run_kind: str | None = None
        self.owned_rehearsal: Any = None  # one Home's Rehearse started: stopped on exit
        self._signals: dict[int, Any] = {}
        self._watchdog = False
        self.gone = threading.Event()  # app.run() returned: the watchdog stands down
        self.after_run: Callable[[RunDone], None] | None = None

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

    @property
    def running(self) -> bool:
        return self.walk_thread is not None and self.walk_thread.is_alive()

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

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGHUP (a lost SSH session) abort the run with its cleanup, then quit."""
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                previous = signal.getsignal(sig)
                loop.add_signal_handler(sig, self._on_signal, sig.name)
                self._signals[sig] = previous

    def _remove_signal_handlers(self) -> None:
        # asyncio would leave SIG_DFL behind; whoever handled them before gets them back
        # (a rehearsal's guard that stops the sandbox, a test runner's cleanup).
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            for sig, previous in self._signals.items():
                with contextlib.suppress(ValueError, TypeError, RuntimeError):
                    loop.remove_signal_handler(sig)
                    signal.signal(sig, previous)
        self._signals.clear()

    def on_unmount(self) -> None:
        self._remove_signal_handlers()
        # Leaving for any reason (quit, crash): a walk waiting for an answer must not wait
        # for a screen that is gone. It aborts and cleans up; run_tui waits for it.
        if self.running:
            self.abort.request()
            self.prompter.wake()

    def _on_signal(self, name: str) -> None:
        if name == "SIGHUP":
            _detach_from_dead_terminal()
        else:
            self.notify(f"{name}: aborting the run and cleaning up before quitting")
        self._start_watchdog()
        self.abort_run(then_quit=True)

    def _start_watchdog(self) -> None:
        """After a signal, make sure the process ends even if the UI cannot.

        A UI library can wedge on a terminal that went away (seen with Textual: its output
        thread dies on EIO and the next write blocks forever). The walk's cleanup does not
        depend on the UI; once it is done and the app has had its chance to quit, this
        thread stops the rehearsal's sandbox and ends the process with the run's code.
        """

        def watch() -> None:
            if (thread := self.walk_thread) is not None:
                thread.join(timeout=600)
            if self.gone.wait(WATCHDOG_GRACE_S):
                return
            for rehearsal in (self.owned_rehearsal, self.rehearsal):
                if rehearsal is not None and hasattr(rehearsal, "stop"):
                    with contextlib.suppress(Exception):
                        rehearsal.stop()
            result = self.walk_result
            os._exit(result.exit_code if result is not None else exitcodes.FAILED)

        if not self._watchdog:
            self._watchdog = True
            threading.Thread(target=watch, name="runbook-watchdog", daemon=True).start()

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

    # -- runs --------------------------------------------------------------------------

    def start_walk(
        self,
        kind: str,
        start: str,
        options: Options,
        *,
        extra: dict[str, Any] | None = None,
        after: Callable[[RunDone], None] | None = None,
        only: set[str] | None = None,
        until: str | None = None,
    ) -> bool:
        """Walk the flow from ``start`` off the UI thread; False if a run is already going.
        ``only`` and ``until`` as in :func:`runbook.runs.walk`."""
        walk = partial(self._walk, kind, start, options, extra or {}, only, until)
        return self._start(kind, walk, after)

    def start_task(
        self,
        kind: str,
        body: Callable[[Callable[[Any], None]], tuple[str, int]],
        *,
        after: Callable[[RunDone], None] | None = None,
    ) -> bool:
        """Run an engine function that is not a walk (the test suite alone, resume)."""
        return self._start(kind, partial(self._run_task, kind, body), after)

    def _start(self, kind: str, target: Callable[[], RunDone], after: Any) -> bool:
        if self.running:
            self.notify("A run is in progress: wait for it to end.", severity="warning")
            return False
        if self.config is None:
            self.notify(self.config_error or "no config", severity="error")
            return False
        self.abort.reset()
        self.prompter.reset()
        self.run_kind = kind
        self.after_run = after
        self.model.begin(kind)
        self.walk_result = None
        # A plain daemon thread, not a Textual thread worker: those run on asyncio's
        # default executor, which the loop joins at exit, so an app that crashed while
        # the walk waits for an answer would hang instead of aborting the walk.
        # run_tui joins this thread after the app is gone (see _finish_walk).
        self.walk_thread = threading.Thread(
            target=self._guarded, args=(kind, target), name=f"runbook-{kind}", daemon=True
        )
        self.walk_thread.start()
        return True

    def _sink(self) -> Callable[[Any], None]:
        sink = self.bridge.sink
        if self.rehearsal is not None and hasattr(self.rehearsal, "wrap_sink"):
            sink = self.rehearsal.wrap_sink(sink)
        return sink

    def _guarded(self, kind: str, target: Callable[[], RunDone]) -> None:
        from runbook.db import DatabaseError

        try:
            message = target()
        except (ConfigError, journal.JournalError) as exc:
            message = RunDone(kind, "error", exitcodes.CONFIG_ERROR, None, str(exc))
        except DatabaseError as exc:
            message = RunDone(kind, "error", exitcodes.FAILED, None, str(exc))
        except BaseException as exc:  # the walker cleaned up; the operator must see why
            state = getattr(self.prompter.ctx, "state", None) or {}
            code = exitcodes.NEEDS_PERSON if state.get("needs_person") else exitcodes.FAILED
            message = RunDone(kind, "error", code, None, f"{type(exc).__name__}: {exc}")
        finally:
            self.prompter.ctx = None
        if message.journal is None and self.journals and kind != "resume":
            message.journal = self.journals[-1]
        self.walk_result = message  # read by run_tui when the app is already gone
        self.post_message(message)

    def _walk(
        self,
        kind: str,
        start: str,
        options: Options,
        extra: dict[str, Any],
        only: set[str] | None,
        until: str | None,
    ) -> RunDone:
        assert self.config is not None
        ctx = runs.new_context(self.config, options, self.prompter, self._sink(), kind)
        self.prompter.ctx = ctx
        self.post_message(RunStarted(kind, ctx.journal.path))
        outcome = runs.walk(ctx, start, only=only, extra=extra, until=until)
        code = outcome.exit_code
        if kind == "rollback" and outcome.outcome == "rolled_back":
            code = exitcodes.OK  # what this command was asked to do
        return RunDone(kind, outcome.outcome, code, ctx.journal.path)

    def _run_task(
        self, kind: str, body: Callable[[Callable[[Any], None]], tuple[str, int]]
    ) -> RunDone:
        outcome, code = body(self._sink())
        return RunDone(kind, outcome, code, None)

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

    def abort_run(self, then_quit: bool = False) -> None:
        """Ask the running walk to stop: it journals "aborted" and cleans up first."""
        self._quit_after_run = self._quit_after_run or then_quit
        if not self.running:
            if then_quit:
                self.exit(self.exit_code)
            return
        self._abort_requested = True
        self.abort.request()
        self.prompter.wake()
        stop = (getattr(self.prompter.ctx, "state", None) or {}).get("monitor_stop")
        if stop is not None:
            stop.set()
        self.notify("Aborting: the runbook undoes what this run created, then stops.")

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
        from runbook.screens.decision import ConfirmModal

        def answer(abort: bool | None) -> None:
            if abort:
                self.abort_run(then_quit=True)

        self.push_screen(
            ConfirmModal(
                "A run is in progress",
                "Quitting now aborts it: the runbook drops what this run created and "
                "brings the application back up, then quits. Or keep it running.",
                confirm="Abort the run and quit",
                cancel="Keep running",
            ),
            answer,
        )

    def action_interrupt(self) -> None:
        """Ctrl-C: abort a run (after confirmation), or quit when nothing runs."""
        if not self.running:
            self.exit(self.exit_code)
            return
        from runbook.screens.decision import ConfirmModal

        if isinstance(self.screen, ConfirmModal):
            self.abort_run()  # a second Ctrl-C confirms
            self.screen.dismiss(None)
            return

        def answer(abort: bool | None) -> None:
            if abort:
                self.abort_run()

        self.push_screen(
            ConfirmModal(
                "Abort the run?",
                "The runbook journals the abort, drops what this run created, brings the "
                "application back up, and ends the run. Ctrl-C again confirms.",
                confirm="Abort the run",
                cancel="Keep running",
            ),
            answer,
        )


def _detach_from_dead_terminal() -> None:
    """The terminal hung up (a lost SSH session): point stdin/stdout/stderr at /dev/null.

    Writing to a hung-up terminal fails with EIO, which kills Textual's output thread; its
    queue then fills and the next write blocks the app forever, before it could quit and
    before a rehearsal could stop its sandbox. Nobody can see the screen any more anyway.
    """
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)


def _load_config(config_path: Path | None) -> tuple[Config | None, str | None]:
    from runbook import config as config_mod

    try:
        return config_mod.load(config_path), None
    except ConfigError as exc:
        return None, str(exc)


def run_tui(
    config_path: Path | None,
    *,
    dry_run: bool = False,
    rehearsal: object | None = None,
    start: str = "home",
    rollback: bool = False,
) -> int:
    """Run the app; returns the exit code of what the operator ran (0 when nothing ran).

    ``rollback=True`` opens the rollback screen first (``runbook rollback`` without
    ``--yes``). With ``rehearsal`` (a ``runbook.rehearsal.Rehearsal``), the config is
    the sandbox's, the banner says so, and the debrief closes the session.
    """
    if rehearsal is not None and getattr(rehearsal, "config_path", None):
        config_path = Path(rehearsal.config_path)
    cfg, error = _load_config(config_path)
    if cfg is None:
        print(f"runbook: {error}", file=sys.stderr)
        return exitcodes.CONFIG_ERROR
    app = RunbookApp(
        cfg,
        dry_run=dry_run,
        rehearsal=rehearsal,
        start="rollback" if rollback else start,
    )
    # asyncio puts SIG_DFL back when the app's loop closes; a rehearsal's own SIGTERM
    # guard (which stops the sandbox) must be there again afterwards.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # The walk's thread can be busy for long stretches (the monitor reading 10 000 log
    # lines a second); hand the interpreter to the UI thread more often than every 5 ms.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        code = app.run()
    finally:
        sys.setswitchinterval(switch)
        app.gone.set()
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, handler)
        _finish_walk(app)
        if app.owned_rehearsal is not None:
            _close_rehearsal(app.owned_rehearsal, app.journals)
        elif rehearsal is not None:
            _print_debrief(rehearsal, app.journals)
    return app.exit_code if code is None else int(code)


def _print_debrief(rehearsal: Any, journals: list[Path]) -> None:
    """The debrief stays on the terminal after the app is gone."""
    if not journals or not hasattr(rehearsal, "debrief"):
        return
    with contextlib.suppress(Exception):
        for line in rehearsal.debrief(journals).lines():
            print(line)


def _close_rehearsal(rehearsal: Any, journals: list[Path]) -> None:
    _print_debrief(rehearsal, journals)
    print("runbook: stopping the rehearsal sandbox…", file=sys.stderr)
    rehearsal.stop()


def _finish_walk(app: RunbookApp) -> None:
    """The app is gone (quit, crash): a walk still running is aborted and allowed to clean up."""
    thread = app.walk_thread
    if thread is None or not thread.is_alive():
        return
    print("runbook: the app ended during a run; cleaning up before exiting…", file=sys.stderr)
    app.abort.request()
    app.prompter.wake()
    stop = (getattr(app.prompter.ctx, "state", None) or {}).get("monitor_stop")
    if stop is not None:
        stop.set()
    thread.join(timeout=600)
    if app.walk_result is not None:
        app.exit_code = app.walk_result.exit_code
        print(f"runbook: the run ended: {app.walk_result.outcome}", file=sys.stderr)
    else:
        app.exit_code = exitcodes.NEEDS_PERSON
        print("runbook: the run did not finish its cleanup; check the target", file=sys.stderr)
