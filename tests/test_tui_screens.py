"""The screens without a database: keys, refusals, the palette, the prompter's hand-off, and
the model the screens render (bounded, and the same from a journal as live).

These apps are static (``static=True``): nothing is loaded or run; what an engine run
does through the screens is in test_tui_engine.py.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from runbook.screens.app import RunbookApp
from runbook.screens.bridge import Aborted, AbortRequest, EventBridge, TuiPrompter
from runbook.screens.model import (
    FAILED,
    LOG_KEEP,
    OUTPUT_KEEP,
    PASSED,
    RUNNING,
    SAMPLES_KEEP,
    UNCONFIRMED,
    RunModel,
    kind_of,
)
from runbook.screens.report import report_markdown
from runbook.screens.widgets.footer import KeysFooter
from textual.app import App, ComposeResult
from textual.widgets import Button, Input
from textual.widgets._footer import FooterKey

from runbook.config import Config, DatabaseConfig
from runbook.engine import Event
from runbook.journal import Journal
from runbook.prompter import Option, Question

CFG = Config(path=Path("/etc/runbook/runbook.toml"), database=DatabaseConfig(host="db1"))


def static_app(**kw: Any) -> RunbookApp:
    from runbook.validator import validate

    return RunbookApp(CFG, operator="alice", validation=validate(), static=True, **kw)


def on(app: RunbookApp, name: str) -> bool:
    return type(app.screen).__name__ == name


# -- keys and refusals -------------------------------------------------------------------


async def test_docs_review_refuses_to_go_on_until_every_item_is_ticked() -> None:
    app = static_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d")
        await pilot.pause()
        screen = app.screen
        assert on(app, "DocsReviewScreen") and len(screen.items) >= 6
        await pilot.press("space", "c")  # one ticked of many
        await pilot.pause()
        assert on(app, "DocsReviewScreen"), "went on with items unticked"
        for _ in screen.items[1:]:
            await pilot.press("down", "space")
        await pilot.press("c")
        await pilot.pause()
        assert on(app, "DeployOptionsScreen")
        assert screen.seconds is not None


async def test_skip_backup_needs_the_typed_word() -> None:
    from runbook.screens.options import DeployOptionsScreen

    app = static_app()
    chosen: list[Any] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DeployOptionsScreen(), chosen.append)
        await pilot.pause()
        await pilot.press("down", "down", "enter")  # Skip backup
        await pilot.pause()
        assert app.screen.query_one("#confirm").display
        await pilot.press("s")  # no word: refused
        await pilot.pause()
        assert on(app, "DeployOptionsScreen") and not chosen
        await pilot.press(*"skip-backup", "enter")
        await pilot.pause()
    assert len(chosen) == 1 and chosen[0].skip_backup and not chosen[0].no_maintenance


async def test_zero_downtime_and_back() -> None:
    from runbook.screens.options import DeployOptionsScreen

    app = static_app()
    chosen: list[Any] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DeployOptionsScreen(dry_run=True), chosen.append)
        await pilot.pause()
        await pilot.press("down", "enter", "s")
        await pilot.pause()
        app.push_screen(DeployOptionsScreen(), chosen.append)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert chosen[0].no_maintenance and chosen[0].dry_run and not chosen[0].skip_backup
    assert chosen[1] is None


async def test_decision_with_a_confirm_word_falls_back_until_typed() -> None:
    from runbook.screens.decision import DecisionModal

    q = Question(
        "lift_maintenance",
        "Lift maintenance mode?",
        (Option("lift", "Lift it"), Option("stop", "Stop here")),
        safe="stop",
        evidence=("the app answers 503",),
        confirm_word="lift",
    )
    answers: list[str] = []
    app = static_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DecisionModal(q), answers.append)
        await pilot.pause()
        modal = app.screen
        assert [o.key for o in modal.options] == ["stop", "lift"], "the safe answer first"
        await pilot.press("2")
        await pilot.pause()
        await pilot.press(*"nope", "enter")  # wrong word: back to the options
        await pilot.pause()
        assert not answers and app.screen is modal
        await pilot.press("2")
        await pilot.pause()
        await pilot.press(*"lift", "enter")
        await pilot.pause()
    assert answers == ["lift"]


async def test_home_hides_what_is_not_available_and_palette_runs_the_rest() -> None:
    app = static_app()
    async with app.run_test(size=(80, 24)) as pilot:
        home = app.screen
        offered = [o.id for o in home.query_one("#actions").options]
        assert "resume" not in offered and "report" not in offered
        assert offered[0] == "deploy"
        assert not home.check_action("choose", ("resume",))
        titles = {c.title for c in app.get_system_commands(home)}
        assert {"Deploy", "Rehearse", "Test", "Monitor", "Rollback"} <= titles
        await pilot.press("u")  # not offered: nothing happens
        await pilot.pause()
        assert on(app, "HomeScreen")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Rollback")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert on(app, "RollbackScreen")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Option A: migrations", "Option B: restore", "Check backup"} <= titles


async def test_every_screen_binding_is_in_the_palette() -> None:
    from runbook.screens.monitor import MonitorScreen
    from runbook.screens.phase import RunScreen

    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for screen_type in (RunScreen, MonitorScreen):
            app.push_screen(screen_type())
            await pilot.pause()
            bindings = {
                b.binding.description
                for b in app.screen.active_bindings.values()
                if b.binding.description and b.enabled
            }
            titles = {c.title for c in app.get_system_commands(app.screen)}
            assert bindings <= titles, bindings - titles


async def test_a_screen_covered_by_the_monitor_waits_and_one_under_a_modal_does_not() -> None:
    """A covered screen that went on repainting made the monitor above it redraw the same
    regions: key presses waited for that while a fast log was followed."""
    from runbook.screens.monitor import MonitorScreen
    from runbook.screens.phase import RunScreen
    from runbook.screens.visible import uncovered
    from textual.screen import ModalScreen

    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        run = RunScreen()
        app.push_screen(run)
        await pilot.pause()
        app.push_screen(ModalScreen())
        await pilot.pause()
        assert uncovered(run)  # a modal lets it show through: it keeps painting
        run.model_changed({"flow"})
        assert not run._stale
        app.pop_screen()
        app.push_screen(MonitorScreen())
        await pilot.pause()
        assert run.is_current and not uncovered(run)  # Textual's is_current says otherwise
        run.model_changed({"flow", "step"})
        assert run._stale
        app.pop_screen()
        await pilot.pause()
        assert uncovered(run) and not run._stale  # repainted when shown again


class _Typing(App[None]):
    """A screen with letter keys, a text box that takes them, and the footer."""

    BINDINGS = [("x", "exit", "Exit"), ("y", "yank", "Yank")]  # noqa: RUF012
    extra = False

    def compose(self) -> ComposeResult:
        yield Input(id="box")
        yield Button("b", id="other")
        yield KeysFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action in ("exit", "yank") and self.extra else True

    def action_exit(self) -> None:
        pass

    def action_yank(self) -> None:
        pass


def _keys(app: App[Any]) -> list[tuple[str, bool, bool]]:
    return [(k.key, bool(k.display), k._disabled) for k in app.query(FooterKey)]


async def test_the_footer_hides_letter_keys_while_typing_without_rebuilding() -> None:
    app = _Typing()
    async with app.run_test(size=(80, 10)) as pilot:
        app.query_one("#other").focus()
        await pilot.pause()
        widgets = list(app.query(FooterKey))
        assert [k for k, shown, _ in _keys(app) if shown] == ["x", "y", "ctrl+p"]
        app.query_one("#box").focus()  # x and y now type into the box
        await pilot.pause()
        assert [k for k, shown, _ in _keys(app) if shown] == ["ctrl+p"]
        assert list(app.query(FooterKey)) == widgets  # hidden, not rebuilt
        app.query_one("#other").focus()
        await pilot.pause()
        assert [k for k, shown, _ in _keys(app) if shown] == ["x", "y", "ctrl+p"]
        assert list(app.query(FooterKey)) == widgets
        app.extra = True  # the same keys, now disabled: rebuilt, shown dimmed
        app.refresh_bindings()
        await pilot.pause()
        assert list(app.query(FooterKey)) != widgets
        assert ("x", True, True) in _keys(app) and ("y", True, True) in _keys(app)


async def test_ticks_and_choices_read_the_same_without_colour() -> None:
    """Textual draws ticked and unticked boxes alike (colour tells them apart): these
    draw an unticked box and an unchosen option empty."""
    from runbook.screens.docs_review import DocsReviewScreen
    from runbook.screens.options import DeployOptionsScreen
    from runbook.screens.widgets.marks import Choice, TickList

    app = static_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(DocsReviewScreen())
        await pilot.pause()
        ticks = app.screen.query_one(TickList)
        await pilot.press("space")  # ticks the first item
        await pilot.pause()
        first, second = ticks.render_line(0).text, ticks.render_line(1).text
        assert first.startswith("▐X▌") and second.startswith("▐ ▌"), (first, second)
        app.pop_screen()
        app.push_screen(DeployOptionsScreen(dry_run=False))
        await pilot.pause()
        shown = [b._button.plain for b in app.screen.query(Choice)]
        assert shown == ["▐●▌", "▐ ▌", "▐ ▌"]
        await pilot.press("down", "enter")  # zero downtime
        await pilot.pause()
        assert [b._button.plain for b in app.screen.query(Choice)] == ["▐ ▌", "▐●▌", "▐ ▌"]


async def test_an_issue_being_typed_when_the_window_ends_is_handed_back_not_lost() -> None:
    from runbook.screens.monitor import MonitorScreen

    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(MonitorScreen())
        await pilot.pause()
        monitor = app.screen
        # the form as i leaves it, with a window that has just ended (no session any more)
        monitor.query_one("#issue-bar").visible = True
        monitor.query_one("#issue-text").focus()
        await pilot.press(*"bookings page blank")
        monitor.model_changed({"monitor"})
        await pilot.pause()
        assert not monitor.query_one("#issue-bar").visible
        said = [n.message for n in app._notifications]
        assert any("not recorded" in m and "bookings page blank" in m for m in said), said
        await pilot.press("f")  # the screen's keys work again
        await pilot.pause()
        assert on(app, "RunScreen")


# -- the hand-off between the worker and the UI ---------------------------------------------


def test_a_burst_of_events_wakes_the_ui_once() -> None:
    posted: list[Any] = []
    bridge = EventBridge(posted.append, AbortRequest())
    for i in range(10_000):
        bridge.sink(Event("output", "migrate", {"text": f"line {i}"}))
    assert len(posted) == 1
    events, more = bridge.drain()
    assert len(events) == EventBridge.DRAIN_MAX and more and len(posted) == 2
    events, more = bridge.drain()
    assert len(events) == 10_000 - EventBridge.DRAIN_MAX and not more
    bridge.sink(Event("output", "migrate", {"text": "after"}))
    assert len(posted) == 3


def test_an_abort_is_delivered_once_and_never_to_the_cleanup() -> None:
    abort = AbortRequest()
    bridge = EventBridge(lambda _m: None, abort)
    bridge.sink(Event("output", "migrate", {}))
    abort.request()
    with pytest.raises(Aborted):
        bridge.sink(Event("output", "migrate", {}))
    bridge.sink(Event("output", "migrate", {"text": "dropping what this run created"}))
    abort.reset()
    abort.request()
    bridge.sink(Event("step_start", "archive", {}))  # the report steps are not interrupted
    with pytest.raises(Aborted):
        bridge.sink(Event("output", "verify", {}))


def test_the_prompter_blocks_the_worker_until_the_ui_answers() -> None:
    opened: list[tuple[Question, Any]] = []
    abort = AbortRequest()

    def call_from_thread(fn: Any, *args: Any) -> None:
        fn(*args)  # the UI thread would open the modal here

    prompter = TuiPrompter(
        call_from_thread, lambda q, done: opened.append((q, done)), lambda q, done: None, abort
    )
    q = Question(
        "issues_detected", "Issues detected?", (Option("rollback", "roll back"),), "rollback"
    )
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(prompter.ask(q)))
    worker.start()
    while not opened:
        worker.join(0.01)
    assert worker.is_alive() and prompter.waiting
    opened[0][1]("rollback")  # the modal's callback
    worker.join(5)
    assert got == ["rollback"]

    def ask_and_keep() -> None:
        try:
            prompter.ask(q)
        except Aborted as exc:
            got.append(exc)

    opened.clear()
    worker = threading.Thread(target=ask_and_keep)
    worker.start()
    while not opened:
        worker.join(0.01)
    abort.request()
    prompter.wake()
    worker.join(5)
    assert isinstance(got[-1], Aborted) and not worker.is_alive()


# -- the model ---------------------------------------------------------------------------


def test_the_model_stays_bounded_whatever_the_log_rate() -> None:
    model = RunModel(clock=lambda: 0.0)
    model.begin("monitor")
    burst = [f"[2025-10-01 02:00:00] production.INFO: line {i}" for i in range(10_000)]
    update = SimpleNamespace(app_lines=burst, error_lines=burst[:100])
    for second in range(600):  # ten minutes at 10 000 lines/s
        model.apply(
            "monitor_sample",
            "monitor",
            {"window": 1, "remaining_s": 600 - second, "elapsed_s": second, "_update": update},
        )
        model.apply(
            "detector_hit", "monitor", {"detector": "app_error", "line": "x", "severity": "minor"}
        )
        model.apply("output", "monitor", {"text": "x" * 200})
        model.apply("output", "monitor", {"text": "y" * 200})
    m = model.monitor
    assert len(m.samples) == SAMPLES_KEEP and len(m.app_lines) == LOG_KEEP
    assert m.app_lines_total == 6_000_000 and len(m.hits) <= 200
    assert len(model.steps["monitor"].output) == OUTPUT_KEEP
    assert m.counts["app_error"] == 600


def test_checklist_items_follow_the_events() -> None:
    model = RunModel(clock=lambda: 0.0)
    model.apply("step_start", "preflight", {})
    assert model.steps["preflight"].items[0].status == RUNNING
    model.apply("check", "preflight", {"name": "connectivity", "status": "pass", "detail": "ok"})
    model.apply("check", "preflight", {"name": "parent tables", "status": "fail", "detail": "x"})
    model.apply(
        "step_end",
        "preflight",
        {"ok": False, "summary": "1 failed", "evidence": ["x"], "elapsed_s": 0.1},
    )
    items = {i.name: i.status for i in model.steps["preflight"].items}
    assert items["Database connectivity"] == PASSED
    assert items["Critical tables exist"] == FAILED
    assert items["Backup directory writable"] == UNCONFIRMED  # not known: not "failed"

    model.apply("step_start", "migrate", {})
    model.apply("migration_start", "migrate", {"table": "notification_configurations"})
    model.apply("statement", "migrate", {"table": "notification_configurations", "sql": ""})
    model.apply("migration_start", "migrate", {"table": "policy_configurations"})
    model.apply("step_end", "migrate", {"ok": False, "summary": "1050", "evidence": []})
    statuses = [i.status for i in model.steps["migrate"].items]
    assert statuses[:3] == [PASSED, FAILED, "skipped"]


def test_a_journal_reads_back_into_the_same_report(tmp_path: Path) -> None:
    jr = Journal.create(tmp_path, "askproai_db", "deploy")
    jr.write("docs_review", items=["Deployment plan read"], total=1, seconds=12.0)
    jr.write("run_start", start="preflight", target="u@h/db", dry_run=False, options={})
    jr.write("step_start", node="backup", title="Phase 1: Database backup", estimate_s=120)
    jr.write("backup_verified", node="backup", path="/b/x.sql.gz", size=10, sha256="ab", tables=7)
    jr.write(
        "step_end", node="backup", ok=True, skipped=False, summary="ok", evidence=[], elapsed_s=1.5
    )
    jr.write(
        "decision",
        node="verification_failed",
        question="verification_failed",
        text="Verification failed?",
        answer="rollback",
        safe="rollback",
    )
    jr.write("maintenance", node="restore", on=False, downtime_s=2.5)
    jr.write("archived", node="archive", path="/j/archive/x.tar.gz", members=[])
    jr.write("run_end", node=None, outcome="failed", exit_code=1, title="Deployment failed")
    jr.close()
    assert kind_of(jr.path) == "deploy"
    model = RunModel.from_journal(jr.path)
    assert model.run is not None and model.run.kind == "deploy" and model.run.exit_code == 1
    assert model.steps["docs"].status == PASSED and model.steps["docs"].elapsed_s == 12.0
    text = report_markdown(model)
    for needle in (
        "/b/x.sql.gz",
        "/j/archive/x.tar.gz",
        "2.50 s",
        "Verification failed?",
        "rollback (safe)",
        model.run.operator,
        str(jr.path),
    ):
        assert needle in text, needle
