"""Rehearsal drills against the real sandbox: each fault is real and forces its branch.

Every drill test runs the real deployment (and, for app-errors, the real
monitoring window) against the shared sandbox with a scripted trainee, then
proves: the branch the drill exists for was taken, the target ended verified or
as it was before, the application answers 200, and the fault was undone (lock
released, transaction ended, account unlocked, table unlocked, index back).
Only ``test_start_and_stop_leave_no_process_behind`` builds sandboxes of its own.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from helpers import SIX_SET, snapshot, tables
from rich.console import Console

from runbook import config as config_mod
from runbook import drills, fingerprint, journal, runs
from runbook.db import Target
from runbook.drills import (
    AppErrors,
    DrillError,
    LockHeld,
    ScriptedPrompter,
    UnknownDrill,
)
from runbook.engine import Event, Options, RunOutcome
from runbook.laravel import probe
from runbook.prompter import NeedsOperator, Option, Question
from runbook.rehearsal import Rehearsal, build_debrief, run_headless
from runbook.sandbox import Sandbox
from runbook.verify import verify

# -- helpers ----------------------------------------------------------------------------


@pytest.fixture
def rehearse(clean_sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[..., Rehearsal]]:
    """Rehearsal.attach on the shared sandbox, with this test's own journal and backups."""
    made: list[Rehearsal] = []

    def make(drill: str | drills.Drill | None, minutes: float = 0.1) -> Rehearsal:
        r = Rehearsal.attach(clean_sandbox, drill, minutes, workdir=tmp_path / f"r{len(made)}")
        made.append(r)
        return r

    try:
        yield make
    finally:
        for r in made:
            r.stop()


def app_ok(sandbox: Sandbox) -> bool:
    return (
        probe(sandbox.app_url).status == 200 and probe(sandbox.app_url + "api/health").status == 200
    )


def events_of(r: Rehearsal, kind: str = "deploy") -> list[dict[str, Any]]:
    """The events of this rehearsal's runs of one kind (deploy, dryrun, monitor)."""
    return [e for p in r.journals() if f"_{kind}_" in p.name for e in journal.read(p)]


def step_ends(r: Rehearsal, node: str) -> list[dict[str, Any]]:
    return [e for e in events_of(r) if e["event"] == "step_end" and e["node"] == node]


def walk(r: Rehearsal, prompter: ScriptedPrompter) -> list[RunOutcome]:
    seen: list[Event] = []
    return [outcome for outcome, _ctx in r.run(prompter, seen.append)]


def assert_as_before(sandbox: Sandbox, before: fingerprint.Fingerprint) -> None:
    assert snapshot(sandbox.config_path).diff(before) == []
    assert not (SIX_SET & tables(sandbox))
    assert app_ok(sandbox)


# -- each drill forces its branch --------------------------------------------------------


def test_migration_failure_rolls_back_on_its_own(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    before = snapshot(clean_sandbox.config_path)
    r = rehearse("migration-failure")
    # a dry-run first: it rehearses the plan, and the fault waits for the real run
    dry = runs.new_context(
        r.config, Options(dry_run=True), ScriptedPrompter(), r.wrap_sink(lambda _e: None), "dryrun"
    )
    assert runs.walk(dry, "preflight").exit_code == 0
    assert r.drill is not None and not r.drill.fired
    assert snapshot(clean_sandbox.config_path).diff(before) == []
    prompter = ScriptedPrompter(otherwise="refuse")  # nothing may be asked: it is automatic
    [outcome] = walk(r, prompter)
    assert (outcome.outcome, outcome.exit_code) == ("failed", 1)
    assert outcome.visited[outcome.visited.index("migrate") :] == [
        "migrate",
        "migration_failed",
        "auto_rollback",
        "restore_after_failure",
        "failed",
    ]
    events = events_of(r)
    applied = [e["table"] for e in events if e["event"] == "statement" and not e.get("undo")]
    assert applied == ["notification_configurations", "policy_configurations", "callback_requests"]
    undone = [e["table"] for e in events if e["event"] == "statement" and e.get("undo")]
    assert undone == list(reversed(applied))
    [failed] = step_ends(r, "migrate")
    assert "1050" in failed["summary"] and "appointment_modifications" in failed["summary"]
    decision = next(e for e in events if e["event"] == "decision")
    assert decision["question"] == "migration_failed" and decision["automatic"] is True
    assert prompter.asked == []
    assert r.drill is not None and r.drill.fired and r.drill.error is None
    debrief = r.debrief()
    assert debrief.outcome.right is True and debrief.score.right == debrief.score.total == 1
    r.stop()  # drops the conflicting table: the target equals the pre-run fingerprint
    assert_as_before(clean_sandbox, before)


def test_verification_failure_right_answer_rolls_back(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    before = snapshot(clean_sandbox.config_path)
    r = rehearse("verification-failure")
    prompter = ScriptedPrompter({"verification_failed": "rollback"}, otherwise="refuse")
    [outcome] = walk(r, prompter)
    assert (outcome.outcome, outcome.exit_code) == ("failed", 1)
    assert "verification_failed" in outcome.visited and "auto_rollback" in outcome.visited
    [(question, answer)] = prompter.asked
    assert question.id == "verification_failed" and answer == "rollback"
    assert question.safe == "rollback"
    assert any(
        "callback_requests_company_id_created_at_index" in line for line in question.evidence
    )
    debrief = r.debrief()
    [row] = debrief.decisions
    assert (row.question, row.answer, row.right) == ("verification_failed", "rollback", True)
    assert row.seconds is not None and row.seconds >= 0
    assert debrief.outcome.right is True
    assert (debrief.score.right, debrief.score.total) == (2, 2)
    r.stop()
    assert_as_before(clean_sandbox, before)


def test_verification_failure_wrong_answer_is_marked_wrong_and_the_index_comes_back(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse("verification-failure")
    prompter = ScriptedPrompter({"verification_failed": "keep"}, otherwise="refuse")
    [outcome] = walk(r, prompter)
    assert (outcome.outcome, outcome.exit_code) == ("needs_person", 4)
    assert "keep_unverified" in outcome.visited
    debrief = r.debrief()
    [row] = debrief.decisions
    assert (row.answer, row.expected, row.right) == ("keep", ("rollback",), False)
    assert row.seconds is not None
    assert debrief.outcome.right is False and "needs_person (exit 4)" in str(debrief.outcome.answer)
    assert (debrief.score.right, debrief.score.total) == (0, 2)
    md = debrief.as_markdown()
    assert "✗ wrong" in md and "`verification_failed`" in md and " s |" in md
    assert r.drill is not None and r.drill.lesson in md
    r.stop()
    # the fault is undone: the kept schema now verifies, and the app answers
    cfg = config_mod.load(clean_sandbox.config_path)
    s = Target(cfg.database).connect()
    try:
        from runbook.validator import validate

        assert verify(s, cfg.database.database, validate()).problems == []
    finally:
        s.close()
    assert app_ok(clean_sandbox)


@pytest.fixture
def monitor_available() -> None:
    from runbook import runs

    if "monitor" not in runs.actions():
        pytest.fail("runbook.monitor has no `monitor` action: the app-errors drill needs it")


def app_log_errors(sandbox: Sandbox) -> int:
    return sum(
        1
        for line in sandbox.app_log.read_text(errors="replace").splitlines()
        if ".ERROR: Health check failed" in line
    )


def test_app_errors_flood_is_major_and_rolls_back(
    monitor_available: None, rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    before = snapshot(clean_sandbox.config_path)
    r = rehearse("app-errors", minutes=0.1)
    prompter = ScriptedPrompter(
        {"issues_detected": "rollback", "rollback_choice": "migrations", "rollback_a": "drop"},
        texts={"rollback_note": "app-errors drill"},
    )
    deploy, monitor = walk(r, prompter)
    assert (deploy.outcome, deploy.exit_code) == ("success", 0)
    assert (monitor.outcome, monitor.exit_code) == ("rolled_back", 1)
    assert monitor.visited[:4] == ["monitor", "issues_detected", "rollback_choice", "rollback_a"]
    question = next(q for q, _a in prompter.asked if q.id == "issues_detected")
    assert question.safe == "rollback", "the monitor judged the flood major"
    assert any("Health check failed" in line for line in question.evidence)
    assert app_log_errors(clean_sandbox) >= AppErrors.flood()
    debrief = r.debrief()
    by_id = {row.question: row for row in debrief.decisions}
    assert by_id["issues_detected"].right is True and by_id["rollback_choice"].right is True
    assert by_id["rollback_a"].right is True
    assert debrief.outcome.right is True
    r.stop()
    assert_as_before(clean_sandbox, before)  # health answers 200 again: account unlocked


def test_app_errors_few_are_minor_and_monitoring_continues(
    monitor_available: None, rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    drill = AppErrors(requests=3)
    assert drill.expected["issues_detected"] == "continue"
    r = rehearse(drill, minutes=0.06)
    prompter = ScriptedPrompter({"issues_detected": "continue"})
    deploy, monitor = walk(r, prompter)
    assert deploy.exit_code == 0
    assert (monitor.outcome, monitor.exit_code) == ("success", 0)
    assert monitor.visited[-1] == "monitoring_complete"
    assert monitor.visited[:4] == ["monitor", "issues_detected", "monitor", "issues_detected"]
    question = next(q for q, _a in prompter.asked if q.id == "issues_detected")
    assert question.safe == "continue", "a few errors are minor"
    assert app_log_errors(clean_sandbox) == 3
    debrief = r.debrief()
    assert [row.right for row in debrief.decisions if row.question == "issues_detected"] == [True]
    assert debrief.outcome.right is True
    r.stop()
    assert tables(clean_sandbox) >= SIX_SET and app_ok(clean_sandbox)


def test_lock_held_stops_with_exit_3_naming_the_holder(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    before = snapshot(clean_sandbox.config_path)
    r = rehearse("lock-held")
    [outcome] = walk(r, ScriptedPrompter(otherwise="refuse"))
    assert (outcome.outcome, outcome.exit_code) == ("stopped", 3)
    assert outcome.visited[:2] == ["preflight", "stopped"]
    [end] = step_ends(r, "preflight")
    assert any("runbook:askproai_db is held by connection" in e for e in end["evidence"])
    assert list((r.workdir / "backups").iterdir()) == []
    assert r.debrief().outcome.right is True
    r.stop()
    with clean_sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT IS_USED_LOCK('runbook:askproai_db')")
        assert cur.fetchone()[0] is None, "the drill released the lock"
    assert_as_before(clean_sandbox, before)


def test_long_transaction_stops_preflight_with_nothing_touched(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    before = snapshot(clean_sandbox.config_path)
    r = rehearse("long-transaction")
    [outcome] = walk(r, ScriptedPrompter(otherwise="refuse"))
    assert (outcome.outcome, outcome.exit_code) == ("stopped", 1)
    assert outcome.visited[:2] == ["preflight", "stopped"]
    [end] = step_ends(r, "preflight")
    assert any("open transactions" in e and "1 row lock(s)" in e for e in end["evidence"])
    r.stop()
    # (not INNODB_TRX: the server serves it from a cache up to 0.1 s old)
    with clean_sandbox.connect(autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM companies ORDER BY id LIMIT 1 FOR UPDATE NOWAIT")
        assert cur.fetchall(), "the drill ended its transaction: the row lock is free"
        conn.rollback()
    assert_as_before(clean_sandbox, before)


def test_backup_failure_stops_before_anything_is_touched(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    before = snapshot(clean_sandbox.config_path)
    r = rehearse("backup-failure")
    [outcome] = walk(r, ScriptedPrompter(otherwise="refuse"))
    assert (outcome.outcome, outcome.exit_code) == ("stopped", 1)
    assert outcome.visited[:4] == ["preflight", "lock", "backup", "stopped"]
    [end] = step_ends(r, "backup")
    assert "Lost connection" in end["summary"]
    assert not any(e["event"] == "maintenance" for e in events_of(r))
    assert list((r.workdir / "backups").iterdir()) == [], "the partial dump was removed"
    assert r.drill is not None and any("killed the dump" in x for x in r.drill.injected)
    r.stop()
    with clean_sandbox.connect(admin=True) as conn, conn.cursor() as cur:
        cur.execute("SHOW OPEN TABLES FROM askproai_db WHERE In_use > 0")
        assert cur.fetchall() == (), "the drill released its table lock"
    assert_as_before(clean_sandbox, before)


def test_backup_failure_waits_for_a_run_that_takes_a_backup(
    rehearse: Callable[..., Rehearsal], clean_sandbox: Sandbox
) -> None:
    r = rehearse("backup-failure")
    ctx = runs.new_context(
        r.config,
        Options(yes=True, skip_backup=True),
        ScriptedPrompter(),
        r.wrap_sink(lambda _e: None),
        "deploy",
    )
    outcome = runs.walk(ctx, "preflight")
    assert (outcome.outcome, outcome.exit_code) == ("success", 0), "no lock blocked the migration"
    assert r.drill is not None and not r.drill.fired
    assert "never reached the moment of the fault" in r.debrief().fault


# -- the machinery ----------------------------------------------------------------------


def test_a_fault_that_cannot_be_armed_leaves_nothing_behind(clean_sandbox: Sandbox) -> None:
    first = LockHeld()
    first.arm(clean_sandbox)
    try:
        second = LockHeld()
        with pytest.raises(DrillError, match="already held"):
            second.arm(clean_sandbox)
        second.disarm()  # idempotent after a failed arm
    finally:
        first.disarm()
        first.disarm()
    with clean_sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT IS_USED_LOCK('runbook:askproai_db')")
        assert cur.fetchone()[0] is None


def test_drill_registry_and_briefings_do_not_give_the_answer_away() -> None:
    assert set(drills.names()) == {
        "migration-failure",
        "verification-failure",
        "app-errors",
        "lock-held",
        "long-transaction",
        "backup-failure",
        "random",
    }
    with pytest.raises(UnknownDrill, match="choose one of: migration-failure"):
        drills.get("typo")
    assert drills.get("random").hidden
    for name in drills.DRILLS:
        d = drills.get(name)
        assert d.expected.get(drills.OUTCOME), name
        for answers in d.expected.values():
            for answer in (answers,) if isinstance(answers, str) else answers:
                assert answer not in d.briefing.lower().split(), (name, answer)


def _question() -> Question:
    return Question(
        "verification_failed",
        "Verification failed?",
        (Option("rollback", "roll back"), Option("keep", "keep")),
        safe="rollback",
    )


def test_scripted_prompter() -> None:
    p = ScriptedPrompter({"verification_failed": ["keep", "rollback"]})
    assert [p.ask(_question()) for _ in range(3)] == ["keep", "rollback", "rollback"]
    assert p.answered("verification_failed") == ["keep", "rollback", "rollback"]
    assert ScriptedPrompter().ask(_question()) == "rollback"  # unscripted: the safe answer
    with pytest.raises(NeedsOperator):
        ScriptedPrompter(otherwise="refuse").ask(_question())
    with pytest.raises(ValueError, match=r"'nope' to 'verification_failed'.*rollback, keep"):
        ScriptedPrompter({"verification_failed": "nope"}).ask(_question())


def test_debrief_of_a_run_that_never_reached_the_decision(tmp_path: Path) -> None:
    path = tmp_path / "askproai_db_deploy_x.jsonl"
    jr = journal.Journal(path, "x")
    jr._open()
    jr.write("run_start", node=None, start="preflight")
    jr.close()
    debrief = build_debrief(drills.get("verification-failure"), [path])
    [row] = debrief.decisions
    assert (row.question, row.answer, row.right, row.note) == (
        "verification_failed",
        None,
        False,
        "never reached",
    )
    assert debrief.outcome.right is False and debrief.outcome.note == "the run did not end"
    assert "never reached the moment of the fault" in debrief.fault


def test_run_headless_clean_rehearsal_deploys(clean_sandbox: Sandbox) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, highlight=False)
    code = run_headless(None, clean_sandbox.dir, True, console)
    text = out.getvalue()
    assert code == 0, text
    assert f"REHEARSAL — sandbox {clean_sandbox.dir} — no drill" in text
    assert "DEBRIEF: Clean run" in text and "score: 1/1" in text
    assert tables(clean_sandbox) >= SIX_SET
    # someone else's sandbox (already up) stays up after the rehearsal
    assert clean_sandbox.status()["state"] == "up"


def test_run_headless_refuses_an_unknown_drill_before_starting_anything() -> None:
    out = io.StringIO()
    assert run_headless("nope", None, True, Console(file=out)) == 2
    assert "no drill named 'nope'" in out.getvalue()


# -- no server left behind ---------------------------------------------------------------


_CHILD = """
import sys, time
from pathlib import Path
from runbook.rehearsal import Rehearsal
with Rehearsal.start(None, "lock-held") as r:
    print(r.directory, flush=True)
    time.sleep(300)
"""


def test_start_and_stop_leave_no_process_behind(
    short_tmp: Path, sandbox_processes: Callable[[Path], list[psutil.Process]]
) -> None:
    # 1. an exception inside the with: the sandbox is stopped, the fault undone
    with (
        pytest.raises(RuntimeError, match="trainee crashed"),
        Rehearsal.start(short_tmp, "lock-held") as r,
    ):
        assert r.sandbox.status()["state"] == "up"
        assert sandbox_processes(short_tmp), "mariadbd and php -S run"
        assert r.config.monitor_minutes == 0.1 and r.config.journal_dir.parent == r.workdir
        raise RuntimeError("trainee crashed")
    assert sandbox_processes(short_tmp) == []
    assert not r.workdir.exists(), "the config holding the password is gone"
    r.stop()  # idempotent
    assert r.debrief().outcome.note == "the run did not end", "taken at stop, kept after"

    # 2. SIGTERM to a process in the middle of a rehearsal (its own new directory)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    directory: Path | None = None
    try:
        assert child.stdout is not None
        directory = Path(child.stdout.readline().strip())
        assert directory.name.startswith("rb-rehearse-"), (
            child.stderr.read() if child.stderr else ""
        )
        assert sandbox_processes(directory)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=120)
        assert child.returncode != 0
        assert sandbox_processes(directory) == []
        assert not directory.exists(), "a directory the rehearsal created is removed"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if directory is not None and (directory / "sandbox.json").exists():
            Sandbox.open(directory).down()
            shutil.rmtree(directory, ignore_errors=True)
    assert os.path.isdir(short_tmp)
