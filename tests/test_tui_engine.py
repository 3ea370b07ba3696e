"""The guided runbook driven key by key (App.run_test) against the real sandbox.

Every branch of the seed is taken through the screens: the happy path to the
30-minute checkpoint, failed tests (stop), a failed verification (roll back, and
keep), a failed migration (automatic rollback), issues while monitoring (major:
rollback with Option A; minor: continue), the rollback screen opened directly
(Option B), a held lock, an abort and a quit in the middle of a run, dry-run, resume
and the test suite alone. Faults are the drills' real ones (runbook.drills), or a
real change to the sandbox, made at the moment they force the branch. Each test ends
by checking the target itself, not only what the screen says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import SIX_SET, app_answers_200, break_parent_collation, tables
from runbook.screens.app import RunbookApp
from runbook.screens.decision import context_lines
from runbook.screens.model import RunModel

from runbook import config as config_mod
from runbook import journal
from runbook.drills import AppErrors
from runbook.engine import Options
from runbook.prompter import SafeDefaultPrompter
from runbook.rehearsal import Rehearsal
from runbook.sandbox import Sandbox

pytestmark = [pytest.mark.mariadb, pytest.mark.php]


@pytest.fixture
def rehearse(clean_sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[..., Rehearsal]]:
    """A rehearsal on the session's sandbox: its own config, journal and backups, the drill."""
    made: list[Rehearsal] = []

    def start(drill: Any = None, minutes: float = 0.05) -> Rehearsal:
        r = Rehearsal.attach(
            clean_sandbox, drill, minutes=minutes, workdir=tmp_path / f"w{len(made)}"
        )
        made.append(r)
        return r

    yield start
    for r in made:
        r.stop()


def events_of(path: Path) -> list[dict[str, Any]]:
    return journal.read(path)


def app_for(r: Rehearsal, **kw: Any) -> RunbookApp:
    return RunbookApp(config_mod.load(r.config_path), rehearsal=r, **kw)


def on(app: RunbookApp, name: str) -> bool:
    return type(app.screen).__name__ == name


async def until(pilot: Any, cond: Callable[[], Any], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            screen = pilot.app.screen
            asked = getattr(getattr(screen, "question", None), "id", "")
            raise AssertionError(f"timed out waiting for {what}; screen: {screen!r} {asked}")
        await pilot.pause(0.05)


async def start_deploy(pilot: Any, option_keys: tuple[str, ...] = ()) -> None:
    app = pilot.app
    await until(pilot, lambda: app.validation is not None, "validation")
    await pilot.press("d")
    await until(pilot, lambda: on(app, "DocsReviewScreen"), "the documentation review")
    for _ in app.screen.items:
        await pilot.press("space", "down")
    await pilot.press("c")
    await until(pilot, lambda: on(app, "DeployOptionsScreen"), "the deployment options")
    await pilot.press(*option_keys)
    await pilot.press("s")
    await until(pilot, lambda: app.model.runs, "the run to start")


async def question(pilot: Any, qid: str) -> Any:
    app = pilot.app
    await until(
        pilot,
        lambda: on(app, "DecisionModal") and app.screen.question.id == qid,
        f"the question {qid}",
    )
    await pilot.pause(0.1)
    return app.screen


async def answer(pilot: Any, modal: Any, key: str) -> None:
    """Press the number of the option with this key (the modal lists the safe one first)."""
    keys = [o.key for o in modal.options]
    await pilot.press(str(keys.index(key) + 1))


async def finished(pilot: Any, timeout: float = 120.0) -> None:
    app = pilot.app
    await until(
        pilot, lambda: not app.running and app.walk_result is not None, "the run end", timeout
    )
    await pilot.pause(0.2)


def why(app: RunbookApp) -> str:
    """What failed, for an assertion message."""
    failed = [s for s in app.model.steps.values() if s.status == "failed"]
    return "; ".join(f"{s.id}: {s.summary} {s.evidence}" for s in failed) or "nothing failed"


def decisions(path: Path) -> dict[str, dict[str, Any]]:
    return {e["question"]: e for e in events_of(path) if e["event"] == "decision"}


# -- the happy path ----------------------------------------------------------------------


async def test_deploy_then_monitoring_to_the_checkpoint(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse()
    app = app_for(r)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_deploy(pilot)
        await finished(pilot)
        assert app.walk_result.outcome == "success" and app.exit_code == 0, why(app)
        assert tables(clean_sandbox) >= SIX_SET
        deploy_journal = app.journals[-1]
        # the walk's first step journals the review the screen collected, with who and when
        events = events_of(deploy_journal)
        review = next(e for e in events if e["event"] == "docs_review")
        assert review["node"] == "docs" and len(review["items"]) == review["total"] >= 3
        assert review["operator"] and review["ts"]
        docs_end = next(e for e in events if e["event"] == "step_end" and e["node"] == "docs")
        assert docs_end["ok"] and events.index(docs_end) < next(
            i for i, e in enumerate(events) if e.get("node") == "test_suite"
        )
        assert on(app, "RunScreen")
        assert app.model.steps["migrate"].status == "passed"
        assert all(i.status == "passed" for i in app.model.steps["migrate"].items)

        await pilot.press("m")  # the seed's 30 minutes, compressed by the rehearsal
        await until(pilot, lambda: on(app, "MonitorScreen"), "the monitor")
        modal = await question(pilot, "user_reports")
        assert modal.options[0].key == modal.question.safe  # the safe answer first
        await pilot.press("2")  # "No user reports"
        await finished(pilot)
        assert app.walk_result.kind == "monitor" and app.exit_code == 0
        await until(pilot, lambda: on(app, "ReportScreen"), "the report")
        assert app.model.monitor.samples, "the monitor drew no sample"
        assert {c["status"] for c in app.model.monitor.checks} <= {"pass", "unconfirmed"}
        answered = decisions(app.journals[-1])["user_reports"]
        assert answered["answer"] == "none" and answered["operator"] and answered["ts"]

    # what the screens folded live is what the journals say
    replay = RunModel.from_journal(app.journals)
    for step_id, step in app.model.steps.items():
        assert replay.steps[step_id].status == step.status, step_id
    assert [d["answer"] for d in replay.decisions] == [d["answer"] for d in app.model.decisions]


# -- verification failed: both answers ---------------------------------------------------


async def test_verification_failed_rollback_is_the_safe_first_answer(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse("verification-failure")
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_deploy(pilot)
        modal = await question(pilot, "verification_failed")
        assert modal.options[0].key == "rollback"
        assert any(
            "callback_requests_company_id_created_at_index" in e for e in modal.question.evidence
        )
        await pilot.press("1")
        await finished(pilot)
        assert app.walk_result.outcome == "failed" and app.exit_code == 1
        assert app.model.steps["auto_rollback"].status == "passed"
    assert not SIX_SET & tables(clean_sandbox)
    assert app_answers_200(r.config_path)
    assert decisions(app.journals[-1])["verification_failed"]["answer"] == "rollback"
    assert r.debrief(app.journals).score.right == r.debrief(app.journals).score.total


async def test_verification_failed_keep_needs_a_person(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse("verification-failure")
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_deploy(pilot)
        await question(pilot, "verification_failed")
        await pilot.press("2")
        await finished(pilot)
        assert app.walk_result.outcome == "needs_person" and app.exit_code == 4
        assert app.model.steps["keep_unverified"].status == "passed"
    assert tables(clean_sandbox) >= SIX_SET  # kept, as answered
    assert app_answers_200(r.config_path)


# -- migration failed: the automatic rollback ---------------------------------------------


async def test_migration_failure_rolls_back_by_itself(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse("migration-failure")
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_deploy(pilot)
        await finished(pilot)
        assert app.walk_result.outcome == "failed" and app.exit_code == 1
        steps = app.model.steps
        assert steps["migrate"].status == "failed"
        assert any(i.status == "failed" for i in steps["migrate"].items)
        assert steps["auto_rollback"].status == "passed"
        assert steps["restore_after_failure"].status == "passed"
        auto = app.model.last_decision("migration_failed")
        assert auto is not None and auto["answer"] == "yes" and auto.get("automatic")
    # only the drill's conflicting table is left; the run's own are gone
    assert SIX_SET & tables(clean_sandbox) == {"appointment_modifications"}


# -- issues while monitoring -------------------------------------------------------------


async def test_major_issue_rolls_back_with_option_a(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse("app-errors")
    app = app_for(r)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_deploy(pilot)
        await finished(pilot)
        await pilot.press("m")
        modal = await question(pilot, "issues_detected")
        assert modal.options[0].key == "rollback"
        assert app.model.monitor.counts, "no detector hit was counted"
        await pilot.press("1")
        await until(pilot, lambda: on(app, "RollbackScreen"), "the rollback choice")
        await until(pilot, lambda: app.screen.plan_a is not None, "Option A's plan")
        assert app.screen.plan_a.tables and not app.screen.plan_a.refusals
        await pilot.press("a")
        await question(pilot, "rollback_a")
        await pilot.press("1")  # drop
        await until(pilot, lambda: on(app, "TextModal"), "the post-rollback note")
        await pilot.press(*"health check lost the db", "enter")
        await finished(pilot)
        assert app.walk_result.outcome == "rolled_back"
        assert app.model.steps["post_rollback"].status == "passed"
        assert app.model.rollback and app.model.rollback["note"] == "health check lost the db"
    assert not SIX_SET & tables(clean_sandbox)
    answered = decisions(app.journals[-1])
    assert answered["issues_detected"]["answer"] == "rollback"
    assert answered["rollback_choice"]["answer"] == "migrations"


async def test_minor_issue_and_one_raised_by_hand_continue_monitoring(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse(AppErrors(requests=2), minutes=0.1)
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_deploy(pilot, ("down", "enter"))  # zero downtime, for once
        await finished(pilot)
        assert app.model.steps["maintenance"].status == "skipped"
        await pilot.press("m")
        await until(pilot, lambda: on(app, "MonitorScreen"), "the monitor")
        await until(pilot, lambda: app.model.monitor.samples, "a first sample")
        await pilot.press("i")
        await until(pilot, lambda: app.screen.query_one("#issue-bar").visible, "the issue form")
        await pilot.press(*"slow bookings page", "enter", "enter")  # text, then "minor"
        await until(pilot, lambda: app.model.monitor.counts.get("operator"), "the raised issue")
        modal = await question(pilot, "issues_detected")
        assert modal.question.safe == "continue" and modal.options[0].key == "continue"
        await pilot.press("1")
        reports = await question(pilot, "user_reports")  # window 2 was clean
        assert reports.question.safe == "unknown"
        await pilot.press("2")
        await until(pilot, lambda: not app.running or on(app, "DecisionModal"), "the end")
        if app.running:
            # window 1's errors still fail the checkpoint's first check: the operator
            # decides (the safe answer first), and accepts the minor issues
            failed = await question(pilot, "checkpoint_failed")
            assert failed.options[0].key == failed.question.safe
            shown = [t.plain for t in context_lines(failed.question, app.model)]
            assert any("application logs" in line for line in shown), shown
            await answer(pilot, failed, "accept")
        await finished(pilot)
        assert app.walk_result.outcome == "success", why(app)
    first = next(e for e in events_of(app.journals[-1]) if e.get("question") == "issues_detected")
    assert first["answer"] == "continue"
    verdicts = [e for e in events_of(app.journals[-1]) if e["event"] == "monitor_verdict"]
    assert [v["severity"] for v in verdicts][:2] == ["minor", "none"]
    raised = verdicts[0]
    assert any("operator" in reason.lower() for reason in raised["reasons"]), raised["reasons"]


# -- the rollback screen, opened directly ------------------------------------------------


async def test_rollback_screen_restores_the_picked_backup(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    from runbook.commands import run_deploy

    r = rehearse()
    cfg = config_mod.load(r.config_path)
    outcome, _ctx = run_deploy(cfg, Options(yes=True), SafeDefaultPrompter(), lambda _e: None)
    assert outcome.outcome == "success" and tables(clean_sandbox) >= SIX_SET
    app = app_for(r, start="rollback")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: on(app, "RollbackScreen") and app.screen.backups, "backups")
        screen = app.screen
        assert screen.backups[0].verified
        await until(pilot, lambda: screen.plan_a is not None, "Option A's plan")
        await pilot.press("b")  # not checked yet: checks it first, runs nothing
        await until(pilot, lambda: screen.plan_b is not None, "Option B's plan")
        assert not app.running and screen.plan_b.ok
        await pilot.press("b")
        await question(pilot, "rollback_b")
        await pilot.press("1")
        await until(pilot, lambda: on(app, "TextModal"), "the post-rollback note")
        await pilot.press("escape")
        await finished(pilot)
        assert app.walk_result.outcome == "rolled_back" and app.exit_code == 0
        await until(pilot, lambda: on(app, "ReportScreen"), "the report")
    assert not SIX_SET & tables(clean_sandbox)
    assert app_answers_200(r.config_path)


# -- refusals and ways out -------------------------------------------------------------


async def test_failed_tests_stop_the_deployment_before_it_touches_anything(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    """The seed's "Tests failed? YES: STOP DEPLOYMENT". A parent key whose collation no
    longer matches breaks the migrations on the scratch copy; the target is never touched."""
    break_parent_collation(clean_sandbox)
    r = rehearse()
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_deploy(pilot)
        await finished(pilot)
        assert app.walk_result.outcome == "stopped" and app.exit_code == 1, why(app)
        steps = app.model.steps
        assert steps["test_suite"].status == "failed"
        assert any("callback_requests_staff_id_foreign" in e for e in steps["test_suite"].evidence)
        assert steps["preflight"].status == "pending" and steps["backup"].status == "pending"
        stop = app.model.last_decision("tests_failed")
        assert stop is not None and stop["answer"] == "stop"
    assert decisions(app.journals[-1])["tests_failed"]["answer"] == "stop"
    assert not SIX_SET & tables(clean_sandbox)
    assert list(config_mod.load(r.config_path).backup_dir.iterdir()) == []


async def test_held_lock_stops_before_anything(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse("lock-held")
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_deploy(pilot)
        await finished(pilot)
        assert app.exit_code == 3 and app.walk_result.outcome == "stopped"
        failed = [s for s in app.model.steps.values() if s.status == "failed"]
        assert [s.id for s in failed] in (["preflight"], ["lock"])
        assert app.model.steps["backup"].status == "pending"
    assert not SIX_SET & tables(clean_sandbox)


async def test_ctrl_c_twice_aborts_the_run_and_cleans_up(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse("verification-failure")
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_deploy(pilot)
        await question(pilot, "verification_failed")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: on(app, "ConfirmModal"), "the abort confirmation")
        await pilot.press("ctrl+c")
        await finished(pilot)
        said = [e.get("text") for e in events_of(app.journals[-1]) if e["event"] == "output"]
        assert app.walk_result.outcome == "failed" and app.exit_code == 1, said[-5:]
        assert app.model.run is not None and app.model.run.aborted
    kinds = [e["event"] for e in events_of(app.journals[-1])]
    assert "aborted" in kinds and kinds[-1] == "run_end"
    assert not SIX_SET & tables(clean_sandbox)
    assert app_answers_200(r.config_path)


async def test_quitting_during_a_run_aborts_it_first(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse("verification-failure")
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_deploy(pilot)
        await question(pilot, "verification_failed")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: on(app, "ConfirmModal"), "the quit confirmation")
        await pilot.press("down", "enter")  # "Abort the run and quit"
        await until(pilot, lambda: app.walk_result is not None, "the aborted run")
    assert app.walk_thread is not None
    app.walk_thread.join(timeout=30)
    assert app.walk_result.outcome == "failed"
    assert not SIX_SET & tables(clean_sandbox)


async def test_dry_run_shows_every_write_and_makes_none(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse()
    app = app_for(r, dry_run=True)
    async with app.run_test(size=(80, 24)) as pilot:
        banner = str(app.screen.query_one("#banner").render())
        assert "DRY-RUN" in banner and "REHEARSAL" in banner
        await start_deploy(pilot)
        await finished(pilot)
        assert app.walk_result.outcome == "success"
        assert "DRY-RUN" in str(app.screen.query_one("#banner").render())
        assert {w["action"] for w in app.model.would} >= {"backup", "artisan", "sql"}
        assert app.model.run is not None and app.model.run.kind == "dryrun"
    assert not SIX_SET & tables(clean_sandbox)


async def test_resume_is_offered_first_and_returns_the_target_to_before(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse()
    cfg = config_mod.load(r.config_path)
    dead = journal.Journal.create(cfg.journal_dir, cfg.database.database, "deploy")
    dead.write("run_start", start="preflight", target=cfg.database.where, dry_run=False)
    dead.close()  # a run that died before its end
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.unfinished is not None, "the unfinished run")
        await pilot.pause(0.2)
        assert app.screen.query_one("#actions").highlighted_option.id == "resume"
        await pilot.press("u")
        await until(pilot, lambda: on(app, "SessionLogScreen"), "the resume log")
        await finished(pilot)
        assert app.walk_result.kind == "resume"
    assert events_of(dead.path)[-1]["event"] == "run_end"
    assert not SIX_SET & tables(clean_sandbox)


async def test_test_migrations_alone(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse()
    app = app_for(r)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.validation is not None, "validation")
        await pilot.press("t")
        await finished(pilot)
        assert app.walk_result.outcome == "success", app.model.steps["test_suite"].evidence
        assert [i.status for i in app.model.steps["test_suite"].items] == ["passed"] * 9
        # a walk of its own, journaled like every run
        events = events_of(app.journals[-1])
        assert events[0]["event"] == "run_start" and events[0]["start"] == "test_suite"
        assert events[-1]["event"] == "run_end" and events[-1]["outcome"] == "success"
    assert not SIX_SET & tables(clean_sandbox)
    with clean_sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'runbook\\_scratch\\_%'")
        assert cur.fetchall() == ()


async def test_rehearse_from_home_switches_to_a_sandbox_of_its_own(
    clean_sandbox: Sandbox, tmp_path: Path, sandbox_processes: Callable[[Path], list[Any]]
) -> None:
    """Home's Rehearse: a drill is picked, a new sandbox comes up, the session moves to it."""
    cfg = config_mod.load(clean_sandbox.config_path)
    app = RunbookApp(cfg)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.validation is not None, "validation")
            await pilot.press("h")
            await until(pilot, lambda: on(app, "DrillPicker"), "the drill picker")
            await pilot.press("enter")  # no drill: a clean run
            await until(pilot, lambda: on(app, "SessionLogScreen"), "the start-up log")
            await finished(pilot, timeout=120)
            r = app.owned_rehearsal
            assert r is not None and app.rehearsal is r
            assert app.config is not None and app.config.path == r.config_path
            assert Path(r.directory) != clean_sandbox.dir
            await pilot.press("escape")
            await until(pilot, lambda: on(app, "HomeScreen"), "home")
            assert "REHEARSAL" in str(app.screen.query_one("#banner").render())
            offered = [o.id for o in app.screen.query_one("#actions").options]
            assert "rehearse" not in offered and offered[0] == "deploy"
    finally:
        if app.owned_rehearsal is not None:
            directory = Path(app.owned_rehearsal.directory)
            app.owned_rehearsal.stop()
            assert not [p for p in sandbox_processes(directory) if "mariadbd" in p.name()]
