"""Snapshots of every screen at 80×24 and 120×40, from a recorded run.

Each app is static: its state is folded from a fixed list of engine events (the
same fold a live run and a journal read-back use), with a frozen clock, a fixed
config, operator and paths, so a snapshot changes only when a screen does.
Nothing runs, nothing connects. The rehearsal banner uses a stand-in object with
the real ``Rehearsal``'s display attributes (a real one needs a sandbox up).

Update after reviewing the change: ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from runbook.screens.app import RunbookApp
from runbook.screens.model import RunModel

from runbook import flow
from runbook.backup import BackupInfo
from runbook.config import AppConfig, Config, DatabaseConfig
from runbook.journal import Unfinished
from runbook.restore import BackupChoice, PlanB
from runbook.rollback import PlanA
from runbook.validator import validate

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
T0 = datetime(2025, 10, 1, 2, 0, 0, tzinfo=UTC)
RUN = "20251001_020000-1a2b3c4d"
BACKUP_DIR = Path("/tmp/runbook-snapshot-backups")
BACKUP = BACKUP_DIR / "askproai_db_pre_20251001_020003.sql.gz"
SHA = "3560f682a15fe783339ccf183c520fbb375ca882e67ace736bee2eae320cfc67"

CFG = Config(
    path=Path("/etc/runbook/runbook.toml"),
    database=DatabaseConfig(host="db1.internal", port=3306, database="askproai_db"),
    app=AppConfig(
        path=Path("/var/www/api-gateway"),
        url="http://127.0.0.1:8000/",
        log=Path("/var/www/api-gateway/storage/logs/laravel.log"),
    ),
    backup_dir=BACKUP_DIR,
)
VALIDATION = validate()
TESTS = flow.NODES["test_suite"].checklist  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def _utc() -> Iterator[None]:
    # dates on screen are local time: pin the zone so the snapshots are the same anywhere
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


class Recorder:
    """Engine events as the journal holds them, on a fixed clock."""

    def __init__(self, run: str = RUN) -> None:
        self.t = T0
        self.run = run
        self.events: list[tuple[str, str | None, dict[str, Any], dict[str, Any]]] = []

    def __call__(self, kind: str, node: str | None = None, dt: float = 0.0, **data: Any) -> None:
        self.t += timedelta(seconds=dt)
        meta = {"ts": self.t.isoformat(), "operator": "alice", "host": "db-admin-1"}
        meta["run"] = self.run
        self.events.append((kind, node, data, meta))

    def step(self, node: str, title: str, estimate: float, seconds: float, **end: Any) -> None:
        self("step_start", node, title=title, estimate_s=estimate)
        self("step_end", node, dt=seconds, title=title, elapsed_s=seconds, **end)

    def model(self, kind: str = "deploy", clock_dt: float = 0.0) -> RunModel:
        frozen = (self.t + timedelta(seconds=clock_dt)).timestamp()
        model = RunModel(clock=lambda: frozen)
        model.begin(kind, Path(f"/var/lib/runbook/journal/askproai_db_{kind}_{self.run}.jsonl"))
        for kind_, node, data, meta in self.events:
            model.apply(kind_, node, data, meta=meta)
        return model


def ok(summary: str) -> dict[str, Any]:
    return {"ok": True, "skipped": False, "summary": summary, "evidence": []}


def deploy_until(rec: Recorder, stop: str | None = None, fail_verify: bool = False) -> None:
    """A real deployment's events (taken from a sandbox journal), up to ``stop``."""
    items = [
        "Deployment plan read",
        "Deployment checklist read",
        "Readiness summary read",
        "Change window agreed and announced to support",
    ]
    rec(
        "run_start",
        None,
        start="docs",
        target=CFG.database.where,
        dry_run=False,
        options={"dry_run": False, "no_maintenance": False, "skip_backup": False},
    )
    rec("step_start", "docs", title="Review documentation", estimate_s=900)
    rec("docs_review", "docs", items=items, total=len(items), seconds=312.4)
    rec(
        "step_end",
        "docs",
        title="",
        elapsed_s=0.001,
        **ok(f"all {len(items)} items ticked by alice in 5:12"),
    )
    rec("step_start", "test_suite", title="Run automated test suite", estimate_s=450)
    for name in TESTS:
        rec("test_start", "test_suite", dt=0.001, name=name)
        rec("test_end", "test_suite", dt=0.08, name=name, ok=True, evidence=[], elapsed_s=0.08)
    rec(
        "step_end",
        "test_suite",
        title="",
        elapsed_s=0.73,
        **ok("all 9 tests passed on runbook_scratch_5f0c2a91d4e7 (dropped)"),
    )
    rec(
        "decision",
        "tests_failed",
        question="tests_failed",
        text="Tests failed?",
        answer="proceed",
        safe="stop",
        automatic=True,
    )
    rec("step_start", "preflight", title="Pre-deployment checks", estimate_s=5)
    for name, detail in (
        ("migration set", "6 migrations validate"),
        ("connectivity", "MariaDB 10.11.19"),
        ("parent tables", "6 parents match: appointments, branches, companies, …"),
        ("phase 2 tables", "none of the 6 exist yet"),
        ("backup directory", f"{BACKUP_DIR} writable, 80263 MiB free for about 1 MiB"),
        ("lock", "runbook:askproai_db is free"),
        ("laravel app", "/var/www/api-gateway uses askproai_db; HTTP 200"),
    ):
        rec("check", "preflight", dt=0.005, name=name, status="pass", detail=detail, fix="")
    rec("step_end", "preflight", dt=0.01, title="", elapsed_s=0.055, **ok("11 checks passed"))
    rec.step("lock", "Take the deployment lock", 1, 0.001, **ok("holding runbook:askproai_db"))
    rec("step_start", "backup", title="Phase 1: Database backup", estimate_s=120)
    rec("output", "backup", dt=0.06, text=f"wrote {BACKUP} (94226 bytes); verifying", level="info")
    rec("backup_verified", "backup", dt=0.01, path=str(BACKUP), size=94226, sha256=SHA, tables=7)
    rec("step_end", "backup", title="", elapsed_s=0.071, **ok(f"{BACKUP} (94226 bytes)"))
    rec("step_start", "maintenance", title="Phase 2: Maintenance mode", estimate_s=5)
    rec("maintenance", "maintenance", dt=0.14, on=True)
    rec(
        "step_end",
        "maintenance",
        dt=0.025,
        title="",
        elapsed_s=0.165,
        **ok("http://127.0.0.1:8000/: HTTP 503, Retry-After: 60"),
    )
    rec("step_start", "cache", title="Phase 3: Cache clearing", estimate_s=5)
    rec("output", "cache", dt=0.15, text="php artisan config:clear: ok", level="info")
    rec("output", "cache", dt=0.15, text="php artisan cache:clear: ok", level="info")
    rec("step_end", "cache", title="", elapsed_s=0.303, **ok("caches cleared"))
    rec("step_start", "migrate", title="Phase 4: Migration execution", estimate_s=1)
    rec("batch", "migrate", batch=4)
    for i, m in enumerate(VALIDATION.migrations):
        table = m.name.split("_create_")[1].removesuffix("_table")
        rec("migration_start", "migrate", dt=0.001, migration=m.name, table=table)
        if stop == "migrate" and i == 3:
            return
        rec(
            "statement",
            "migrate",
            dt=0.004,
            migration=m.name,
            table=table,
            sql=m.up_sql,
            elapsed_ms=round(3.5 + i * 0.4, 2),
            warnings=[],
        )
    rec("step_end", "migrate", title="", elapsed_s=0.037, **ok("6 tables created in 35 ms"))
    rec(
        "decision",
        "migration_failed",
        question="migration_failed",
        text="Migration failed?",
        answer="no",
        safe="yes",
        automatic=True,
    )
    rec("step_start", "verify", title="Phase 5: Post-deployment verification", estimate_s=10)
    rec("output", "verify", dt=0.08, text="ok: 0 orphaned rows across 17 foreign keys")
    if fail_verify:
        problem = (
            "callback_requests: index callback_requests_staff_id_index is missing "
            "(expected on staff_id)"
        )
        rec(
            "step_end",
            "verify",
            dt=0.01,
            title="",
            elapsed_s=0.09,
            ok=False,
            skipped=False,
            summary="1 difference(s) from sql/",
            evidence=[problem],
        )
        return
    rec(
        "step_end",
        "verify",
        dt=0.01,
        title="",
        elapsed_s=0.09,
        **ok("6 tables; 17 foreign keys; 34 indexes; 3 unique; 0 orphans"),
    )
    rec(
        "decision",
        "verification_failed",
        question="verification_failed",
        text="Verification failed?",
        answer="no",
        safe="rollback",
        automatic=True,
    )
    rec("step_start", "restore", title="Phase 6: Application restore", estimate_s=5)
    for command in ("config:clear", "cache:clear", "route:clear", "view:clear"):
        rec("output", "restore", dt=0.13, text=f"php artisan {command}: ok")
    rec("maintenance", "restore", dt=0.1, on=False, downtime_s=1.211)
    rec(
        "step_end",
        "restore",
        dt=0.01,
        title="",
        elapsed_s=0.619,
        **ok("http://127.0.0.1:8000/: HTTP 200"),
    )
    archive = f"/var/lib/runbook/journal/archive/askproai_db_deploy_{RUN}.tar.gz"
    rec("step_start", "archive", title="Archive deployment logs", estimate_s=5)
    rec("archived", "archive", path=archive, members=["report.md", "journal.jsonl"])
    rec("step_end", "archive", dt=0.003, title="", elapsed_s=0.003, **ok(archive))
    rec("step_start", "notify", title="Post-deployment notification", estimate_s=5)
    rec(
        "step_end",
        "notify",
        title="",
        elapsed_s=0.0,
        ok=True,
        skipped=True,
        summary="no [notify] webhook or command set",
        evidence=[],
    )
    rec("run_end", "notify", outcome="success", exit_code=0, title="Deployment successful")


def monitor_events(rec: Recorder, done: bool = False) -> None:
    rec.run = "20251001_020010-5e6f7a8b"
    rec(
        "run_start",
        None,
        dt=6,
        start="monitor",
        target=CFG.database.where,
        dry_run=False,
        options={},
    )
    rec("step_start", "monitor", title="Post-deployment monitoring", estimate_s=1800)
    app_lines = [
        "[2025-10-01 02:00:11] production.INFO: GET /api/bookings 200 12ms",
        "[2025-10-01 02:00:12] production.INFO: POST /api/callbacks 201 31ms",
        "[2025-10-01 02:00:13] production.ERROR: SQLSTATE[23000]: Integrity constraint "
        "violation: 1452 Cannot add or update a child row: a foreign key constraint fails",
        "[2025-10-01 02:00:14] production.INFO: GET /api/bookings 200 11ms",
    ]
    error_lines = [
        "2025-10-01  2:00:12 0 [Note] InnoDB: Buffer pool(s) load completed",
        "2025-10-01  2:00:13 42 [ERROR] mariadbd: Deadlock found when trying to get lock",
    ]
    for i in range(24):
        shown_app = app_lines if i == 20 else [app_lines[i % 2]]
        shown_err = error_lines if i == 20 else []
        rec(
            "monitor_sample",
            "monitor",
            dt=1.0,
            window=1,
            remaining_s=1800 - 60 * (i + 1),
            severity="major" if i >= 20 else "none",
            new_hits=0,
            elapsed_s=float(i + 1),
            cpu=12.0 + (i * 7) % 30,
            mem=41.0 + (i % 5),
            disk=25.0,
            read_bps=0,
            write_bps=4096,
            mysqld_cpu=3.0 + (i * 3) % 9,
            mysqld_rss=155_000_000,
            db_ok=True,
            qps=8.0 + (i * 5) % 11,
            conns=4,
            deadlocks=1 if i == 20 else 0,
            lock_waits=0,
            aborted_connects=0,
            app_status=200,
            app_ms=11.0 + (i * 13) % 17,
            _update=SimpleNamespace(app_lines=shown_app, error_lines=shown_err),
        )
    rec(
        "detector_hit",
        "monitor",
        detector="constraint_violation",
        source="app_log",
        at="2025-10-01T02:00:13",
        line=app_lines[2][:120],
        severity="major",
    )
    rec(
        "detector_hit",
        "monitor",
        detector="deadlock",
        source="mysql_log",
        at="2025-10-01T02:00:13",
        line=error_lines[1],
        severity="major",
    )
    if not done:
        return
    checks = [
        {
            "name": "No errors in application logs",
            "status": "fail",
            "detail": "1 constraint_violation in laravel.log in window 1",
        },
        {"name": "No database constraint violations", "status": "fail", "detail": "1 in window 1"},
        {
            "name": "Application performance normal",
            "status": "pass",
            "detail": "median 12 ms against a baseline of 11 ms; 24/24 probes answered 200",
        },
        {
            "name": "No user-reported issues",
            "status": "unconfirmed",
            "detail": "not confirmed (the operator had not checked)",
        },
    ]
    rec(
        "monitor_verdict",
        "monitor",
        window=1,
        severity="major",
        reason="major: 1 constraint violation (SQLSTATE 23000)",
        checks=checks,
        checkpoint_passed=False,
        caveats=[],
    )


def monitor_major(rec: Recorder) -> None:
    """A whole monitoring window that ends with a major issue."""
    monitor_events(rec, done=True)
    rec(
        "step_end",
        "monitor",
        title="",
        elapsed_s=24.0,
        ok=False,
        skipped=False,
        summary="window 1: major issues",
        evidence=["major: 1 constraint violation"],
    )


def make_app(model: RunModel, start: str = "home", **kw: Any) -> RunbookApp:
    return RunbookApp(
        CFG, operator="alice", model=model, validation=VALIDATION, static=True, start=start, **kw
    )


def rehearsal_stand_in() -> Any:
    return SimpleNamespace(
        banner="REHEARSAL — sandbox /tmp/rb-rehearse-x — drill: migration-failure "
        "(The migration fails half way)",
        briefing="Deploy Phase 2 to the sandbox as you would in production.",
    )


# -- the screens -------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_home(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(RunModel()), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_home_dry_run_with_unfinished_run(snap_compare: Any, size: tuple[int, int]) -> None:
    started = {"ts": "2025-09-30T23:14:02.118+00:00", "operator": "bob", "host": "db-admin-2"}
    unfinished = Unfinished(
        Path(f"/var/lib/runbook/journal/askproai_db_deploy_{RUN}.jsonl"), [started]
    )
    app = make_app(RunModel(), dry_run=True, unfinished=unfinished)
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_home_rehearsal(snap_compare: Any, size: tuple[int, int]) -> None:
    app = make_app(RunModel(), rehearsal=rehearsal_stand_in())
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_docs_review(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(
        make_app(RunModel()), press=["d", "space", "down", "space"], terminal_size=size
    )


@pytest.mark.parametrize("size", SIZES)
def test_options_skip_backup_warning(snap_compare: Any, size: tuple[int, int]) -> None:
    from runbook.screens.options import DeployOptionsScreen

    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(DeployOptionsScreen())
        await pilot.pause()
        await pilot.press("down", "down", "enter")

    assert snap_compare(make_app(RunModel()), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_run_migration_running(snap_compare: Any, size: tuple[int, int]) -> None:
    rec = Recorder()
    deploy_until(rec, stop="migrate")
    assert snap_compare(make_app(rec.model(clock_dt=0.02), start="run"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_run_success(snap_compare: Any, size: tuple[int, int]) -> None:
    rec = Recorder()
    deploy_until(rec)
    assert snap_compare(make_app(rec.model(), start="run"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_run_success_no_color(snap_compare: Any, size: tuple[int, int], monkeypatch: Any) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    rec = Recorder()
    deploy_until(rec)
    app = make_app(rec.model(), start="run")
    assert app.no_color
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_decision_verification_failed(snap_compare: Any, size: tuple[int, int]) -> None:
    from runbook.screens.decision import DecisionModal

    from runbook.prompter import Option, Question

    rec = Recorder()
    deploy_until(rec, fail_verify=True)
    model = rec.model()
    step = model.steps["verify"]
    question = Question(
        "verification_failed",
        "Verification failed?",
        (
            Option("rollback", "Roll back the migrations (safe)"),
            Option("keep", "Keep the schema, check by hand (exit 4)"),
        ),
        safe="rollback",
        evidence=tuple(step.evidence),
    )

    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(DecisionModal(question, model))
        await pilot.pause()

    assert snap_compare(make_app(model, start="run"), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_with_hits(snap_compare: Any, size: tuple[int, int]) -> None:
    rec = Recorder()
    deploy_until(rec)
    monitor_events(rec)
    assert snap_compare(make_app(rec.model("monitor"), start="monitor"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_checkpoint(snap_compare: Any, size: tuple[int, int]) -> None:
    rec = Recorder()
    deploy_until(rec)
    monitor_major(rec)
    rec("run_end", "monitor", outcome="stopped", exit_code=1, title="cut short")
    assert snap_compare(make_app(rec.model("monitor"), start="monitor"), terminal_size=size)


def _backup_file() -> None:
    BACKUP_DIR.mkdir(exist_ok=True)
    BACKUP.write_bytes(b"")
    stamp = T0.timestamp() + 3
    os.utime(BACKUP, (stamp, stamp))


@pytest.mark.parametrize("size", SIZES)
def test_rollback(snap_compare: Any, size: tuple[int, int]) -> None:
    _backup_file()
    tables = [m.name.split("_create_")[1].removesuffix("_table") for m in VALIDATION.migrations]
    plan_a = PlanA(
        "askproai_db",
        [m.name for m in VALIDATION.migrations],
        tables,
        batch=4,
        rows={t: n for t, n in zip(tables, (3, 0, 12, 40, 1, 0), strict=True)},
    )
    info = BackupInfo(
        BACKUP,
        94226,
        SHA,
        tables=[
            "appointments",
            "branches",
            "companies",
            "customers",
            "migrations",
            "services",
            "staff",
        ],
        database="askproai_db",
    )
    plan_b = PlanB(
        BACKUP,
        "askproai_db",
        info=info,
        recorded_sha256=SHA,
        notes=["sha256 matches the one recorded when the backup was verified"],
        current_rows={"appointments": 2000, "companies": 20, **dict.fromkeys(tables, 1)},
    )
    choices = [
        BackupChoice(BACKUP, 94226, datetime.fromtimestamp(T0.timestamp()), 720.0, SHA, True),
        BackupChoice(
            BACKUP_DIR / "askproai_db_pre_20250915_221000.sql.gz",
            90112,
            datetime(2025, 9, 15, 22, 10),
            1_324_000.0,
            None,
            False,
        ),
    ]

    async def run_before(pilot: Any) -> None:
        screen = pilot.app.screen
        screen.show_backups(choices)
        screen.show_plan_a(plan_a, None)
        screen.show_plan_b(BACKUP, plan_b, None)
        await pilot.pause()

    app = make_app(RunModel(), start="rollback")
    assert snap_compare(app, run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_report_success(snap_compare: Any, size: tuple[int, int]) -> None:
    rec = Recorder()
    deploy_until(rec)
    assert snap_compare(make_app(rec.model(), start="report"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_report_after_rollback(snap_compare: Any, size: tuple[int, int]) -> None:
    rec = Recorder()
    deploy_until(rec)
    monitor_major(rec)
    rec(
        "decision",
        "issues_detected",
        question="issues_detected",
        text="Issues detected?",
        answer="rollback",
        safe="rollback",
        evidence=["major: 1 constraint violation"],
    )
    rec(
        "decision",
        "rollback_choice",
        dt=4.2,
        question="rollback_choice",
        text="Which rollback?",
        answer="migrations",
        safe="migrations",
    )
    rec.step(
        "rollback_a",
        "Option A: migration rollback",
        5,
        0.21,
        **ok("dropped 6 tables (56 rows); schema equals the pre-deployment fingerprint"),
    )
    rec("step_start", "post_rollback", title="Post-rollback", estimate_s=60)
    rec(
        "post_rollback",
        "post_rollback",
        dt=9.0,
        option="A",
        app="http://127.0.0.1:8000/: HTTP 200",
        app_ok=True,
        note="FK errors from the callbacks worker: it writes callback rows before the company",
        redeploy="pending: find and fix the cause, run `runbook test-migrations`, then deploy",
        state="askproai_db holds no Phase 2 table nor migrations row",
    )
    rec(
        "step_end",
        "post_rollback",
        title="",
        elapsed_s=9.0,
        **ok("HTTP 200; note recorded; re-deploy scheduled"),
    )
    rec("run_end", "post_rollback", outcome="rolled_back", exit_code=1, title="Rolled back")
    assert snap_compare(make_app(rec.model("deploy"), start="report"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_drill_picker(snap_compare: Any, size: tuple[int, int]) -> None:
    from runbook.screens.rehearse import DrillPicker

    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(DrillPicker())
        await pilot.pause()

    assert snap_compare(make_app(RunModel()), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_session_log_resume(snap_compare: Any, size: tuple[int, int]) -> None:
    from runbook.screens.session_log import SessionLogScreen

    rec = Recorder()
    rec("output", None, text="unfinished deploy 20251001_020000-1a2b3c4d: stopped in migrate")
    rec("output", None, text="dropping 2 table(s) the run created", level="warning")
    rec("output", None, text="schema is as before the run; application is up")
    model = rec.model()

    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(SessionLogScreen("Resume the unfinished run"))
        await pilot.pause()

    assert snap_compare(make_app(model), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_confirm_quit_during_a_run(snap_compare: Any, size: tuple[int, int]) -> None:
    from runbook.screens.decision import quit_during_a_run

    rec = Recorder()
    deploy_until(rec, stop="migrate")
    model = rec.model()

    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(quit_during_a_run())
        await pilot.pause()

    assert snap_compare(make_app(model, start="run"), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_text_modal_post_rollback_note(snap_compare: Any, size: tuple[int, int]) -> None:
    from runbook.screens.decision import TextModal

    from runbook.prompter import Option, Question

    question = Question(
        "rollback_note",
        "What happened (one line for the record)?",
        (Option("none", "no note"),),
        safe="(no note)",
    )

    async def run_before(pilot: Any) -> None:
        pilot.app.push_screen(TextModal(question))
        await pilot.pause()
        await pilot.press(*"verification found orphans")

    assert snap_compare(make_app(RunModel()), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_raising_an_issue(snap_compare: Any, size: tuple[int, int]) -> None:
    rec = Recorder()
    deploy_until(rec)
    monitor_events(rec)

    async def run_before(pilot: Any) -> None:
        # a static app has no monitoring session to raise it in: the form, as i shows it
        screen = pilot.app.screen
        screen.query_one("#issue-bar").visible = True
        screen.query_one("#issue-text").focus()
        await pilot.pause()
        await pilot.press(*"bookings page blank")

    app = make_app(rec.model("monitor"), start="monitor")
    assert snap_compare(app, run_before=run_before, terminal_size=size)
