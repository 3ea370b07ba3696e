"""``runbook tui`` and ``runbook rehearse``: run the app, then make sure no run outlives it
(a walk still going is aborted and allowed to clean up) and a rehearsal's sandbox stops."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from runbook.screens.app import RunbookApp

from runbook import exitcodes
from runbook.config import Config, ConfigError


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
