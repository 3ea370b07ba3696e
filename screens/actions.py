"""What each choice on the home screen starts: the screens before a run, then the run itself.

Every run is the engine's: a walk of the flow (deploy, the test suite alone, monitor,
rollback) or the engine function a headless command calls (resume).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from rich.text import Text

from runbook import exitcodes
from runbook.engine import Event, Options

if TYPE_CHECKING:
    from runbook.screens.app import RunbookApp
    from runbook.screens.bridge import RunDone


def begin_deploy(app: RunbookApp) -> None:
    from runbook.screens.docs_review import DocsReviewScreen
    from runbook.screens.options import DeployOptionsScreen

    def options_chosen(options: Options | None, ticked: list[str]) -> None:
        if options is None:
            return
        kind = "dryrun" if options.dry_run else "deploy"
        # the walk starts at the review: its step journals the ticks the screen collected
        if app.start_walk(
            kind,
            "docs",
            options,
            extra={"docs_reviewed": ticked, "docs_review_s": review.seconds},
            after=_after_deploy(app),
        ):
            app.show_run()

    def reviewed(ticked: list[str] | None) -> None:
        if ticked is None:
            return
        app.push_screen(
            DeployOptionsScreen(dry_run=app.dry_run),
            lambda options: options_chosen(options, ticked),
        )

    review = DocsReviewScreen()
    app.push_screen(review, reviewed)


def _after_deploy(app: RunbookApp) -> Any:
    def after(message: RunDone) -> None:
        if message.outcome == "success" and message.kind == "deploy":
            app.notify(
                "Deployed. The seed requires 30 minutes of monitoring: press m to start it.",
                title="Deployment successful",
                timeout=10,
            )
        if app.rehearsal is not None and message.outcome != "success":
            app.show_report()

    return after


def begin_monitor(app: RunbookApp) -> None:
    def after(message: RunDone) -> None:
        app.show_report()

    if app.start_walk(
        "monitor",
        "monitor",
        Options(dry_run=app.dry_run),
        extra={"monitor_stop": threading.Event()},
        after=after,
    ):
        app.show_run()


def begin_rollback(app: RunbookApp) -> None:
    from runbook.screens.rollback import RollbackScreen

    app.push_screen(RollbackScreen(direct=True))


def begin_report(app: RunbookApp) -> None:
    app.show_report()


def begin_test(app: RunbookApp) -> None:
    """The nine tests alone (``runbook test-migrations``): the flow's test-suite step, up to
    where the deployment would begin. No notification, no archive: nothing was deployed."""
    if app.start_walk(
        "test", "test_suite", Options(dry_run=app.dry_run), only={"test_suite"}, until="preflight"
    ):
        app.show_run()


class _Lines:
    """A Rich-console stand-in for engine functions that print: each line becomes output."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink

    def print(self, *objects: Any, **_kw: Any) -> None:
        text = " ".join(str(o) for o in objects)
        plain = Text.from_markup(text).plain if "[" in text else text
        level = "error" if "[red]" in text else "info"
        self.sink(Event("output", None, {"text": plain, "level": level}))


def begin_resume(app: RunbookApp) -> None:
    """``deploy --resume``: finish the unfinished run or return the target to before."""
    cfg = app.config
    assert cfg is not None

    def body(sink: Any) -> tuple[str, int]:
        from runbook.resume import resume

        code = resume(cfg, _Lines(sink), yes=False)
        outcome = "success" if code == exitcodes.OK else "failed"
        sink(Event("run_end", None, {"outcome": outcome, "exit_code": code, "title": "resume"}))
        return outcome, code

    def after(message: RunDone) -> None:
        app.unfinished = None
        app.load_target_facts()

    if app.start_task("resume", body, after=after):
        from runbook.screens.session_log import SessionLogScreen

        app.push_screen(SessionLogScreen("Resume the unfinished run"))


def begin_rehearse(app: RunbookApp) -> None:
    """A rehearsal from the home screen: pick a drill, bring the sandbox up, switch to it."""
    from runbook.screens.rehearse import DrillPicker

    app.push_screen(DrillPicker(), lambda choice: _start_rehearsal(app, choice))


def _start_rehearsal(app: RunbookApp, choice: str | None) -> None:
    if choice is None:
        return
    from runbook.screens.session_log import SessionLogScreen

    drill = None if choice == "none" else choice

    def body(sink: Any) -> tuple[str, int]:
        from runbook.rehearsal import Rehearsal

        def say(text: str) -> None:
            sink(Event("output", None, {"text": text, "level": "info"}))

        say("bringing the sandbox up (a private MariaDB and the Laravel app)…")
        r = Rehearsal.start(None, drill, progress=say)
        app.call_from_thread(app.enter_rehearsal, r)
        say(r.banner)
        say(f"briefing: {r.briefing}")
        say("press Esc, then d to deploy to the sandbox")
        return "success", exitcodes.OK

    if app.start_task("rehearse", body):
        app.push_screen(SessionLogScreen("Rehearsal"))
