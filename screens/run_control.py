"""The app's runs: one walk of the flow (or one engine task) at a time, in a thread of its
own; the operator's abort; and what becomes of a run when the process is signalled or
its terminal goes away.

Mixed into :class:`~runbook.screens.app.RunbookApp`. The UI thread's side of a run (its
events folded into the model, its end shown) stays in the app, with Textual's message
handlers; this is the side that starts, stops and outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook.screens.bridge import AbortRequest, EventBridge, RunDone, RunStarted, TuiPrompter

from runbook import exitcodes, journal, runs
from runbook.config import ConfigError
from runbook.engine import Options

if TYPE_CHECKING:
    from runbook.screens.model import RunModel
    from textual.app import App

    from runbook.config import Config

    _AppBase = App[int]
else:
    _AppBase = object

WATCHDOG_GRACE_S = 5.0


class RunControl(_AppBase):
    """Starts and stops the app's runs; the attributes below are the app's."""

    config: Config | None
    config_error: str | None
    model: RunModel
    rehearsal: Any
    owned_rehearsal: Any
    exit_code: int
    journals: list[Path]

    def _init_runs(self) -> None:
        self.abort = AbortRequest()
        self.bridge = EventBridge(self.post_message, self.abort)
        self.prompter = TuiPrompter(
            self.call_from_thread,
            self.open_question,  # type: ignore[attr-defined]
            self.open_text,  # type: ignore[attr-defined]
            self.abort,
        )
        self.walk_thread: threading.Thread | None = None
        self.walk_result: RunDone | None = None
        self.run_kind: str | None = None
        self.after_run: Callable[[RunDone], None] | None = None
        self._quit_after_run = False
        self._abort_requested = False
        self._signals: dict[int, Any] = {}
        self._watchdog = False
        self.gone = threading.Event()  # app.run() returned: the watchdog stands down

    @property
    def running(self) -> bool:
        return self.walk_thread is not None and self.walk_thread.is_alive()

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
        """Run an engine function that is not a walk (resume, a rehearsal coming up)."""
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

    # -- signals: a lost SSH session or a kill must not leave a half-done run ------------

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
