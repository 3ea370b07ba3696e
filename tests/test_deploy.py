"""The headless deployment against the real sandbox: the happy path and every way out.

Each failure test ends by proving the target is either verified or identical to
its pre-deployment fingerprint, and that the application answers 200.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from helpers import SIX, app_answers_200, break_parent_collation, snapshot, tables

from runbook import config as config_mod
from runbook import journal
from runbook.cli import main
from runbook.commands import run_deploy
from runbook.db import Target
from runbook.engine import Event, Options
from runbook.laravel import probe
from runbook.prompter import SafeDefaultPrompter
from runbook.resources import sql_dir
from runbook.sandbox import Sandbox


def last_run(cfg_path: Path) -> list[dict[str, Any]]:
    paths = sorted((cfg_path.parent / "journal").glob("*.jsonl"), key=os.path.getmtime)
    return journal.read(paths[-1])


def deploy_in_process(
    cfg_path: Path, sink: Callable[[Event], None], **options: Any
) -> tuple[Any, Any]:
    cfg = config_mod.load(cfg_path)
    return run_deploy(cfg, Options(yes=True, **options), SafeDefaultPrompter(), sink)


# -- the happy path ---------------------------------------------------------------------


def test_full_deployment_then_rerun_changes_nothing(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "outcome: success (exit 0)" in out
    assert set(SIX) <= tables(clean_sandbox)
    backups = list((cfg_path.parent / "backups").glob("askproai_db_pre_*.sql.gz"))
    assert len(backups) == 1
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    assert app_answers_200(cfg_path)
    events = last_run(cfg_path)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    assert events[-1]["outcome"] == "success"
    assert sum(1 for e in events if e["event"] == "statement") == 6
    maint = [e for e in events if e["event"] == "maintenance"]
    assert [m["on"] for m in maint] == [True, False] and maint[1]["downtime_s"] > 0
    verified = [e for e in events if e["event"] == "step_end" and e["node"] == "verify"]
    assert verified[0]["ok"] is True

    after_first = snapshot(cfg_path)
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 0
    assert "already applied and verified" in capsys.readouterr().out
    assert snapshot(cfg_path).diff(after_first) == []
    assert len(list((cfg_path.parent / "backups").glob("*.sql.gz"))) == 1, "no second backup"
    assert last_run(cfg_path)[-1]["outcome"] == "success"


def test_dry_run_leaves_everything_identical(cfg_path: Path, clean_sandbox: Sandbox) -> None:
    before = snapshot(cfg_path)
    seen: list[str] = []

    def watch(event: Event) -> None:
        if event.kind == "would":
            seen.append(event.data["action"])
        # the app must never go into maintenance during a dry-run
        assert probe(config_mod.load(cfg_path).app.url).status == 200

    outcome, _ = deploy_in_process(cfg_path, watch, dry_run=True)
    assert outcome.exit_code == 0
    assert snapshot(cfg_path).diff(before) == []
    assert list((cfg_path.parent / "backups").iterdir()) == []
    assert {"backup", "artisan", "sql"} <= set(seen)


def test_dry_run_database_layer_refuses_writes(cfg_path: Path) -> None:
    from runbook.db import DryRunViolation

    cfg = config_mod.load(cfg_path)
    s = Target(cfg.database, dry_run=True).connect()
    try:
        with pytest.raises(DryRunViolation):
            s.execute("CREATE TABLE t_should_not_exist (id int)")
    finally:
        s.close()


# -- refusals before anything changes ---------------------------------------------------


def test_unwritable_backup_directory_stops_before_anything(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = cfg_path.parent / "not-a-dir"
    blocker.write_text("")
    text = cfg_path.read_text().replace(str(cfg_path.parent / "backups"), str(blocker))
    cfg_path.write_text(text)
    before = snapshot(cfg_path)
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 1
    assert f"{blocker} does not exist" in capsys.readouterr().out
    assert snapshot(cfg_path).diff(before) == []
    assert app_answers_200(cfg_path)


def test_table_that_exists_unrecorded_stops_the_run(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    with clean_sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE callback_requests (id bigint unsigned PRIMARY KEY)")
    before = snapshot(cfg_path)
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 1
    out = capsys.readouterr().out
    assert "callback_requests exists but" in out and "not recorded" in out
    assert snapshot(cfg_path).diff(before) == []


def test_applied_but_different_schema_is_named_column_by_column(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 0
    with clean_sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE callback_escalations MODIFY resolution_notes varchar(10) NULL")
    capsys.readouterr()
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 1
    out = capsys.readouterr().out
    assert "callback_escalations.resolution_notes: type varchar(10), expected text" in out
    assert main(["verify", "--config", str(cfg_path)]) == 4


def test_parent_key_collation_mismatch_is_caught_before_create(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    break_parent_collation(clean_sandbox)
    before = snapshot(cfg_path)
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 1
    out = capsys.readouterr().out
    assert "staff.id is utf8mb4_bin" in out and "errno 150" in out
    assert snapshot(cfg_path).diff(before) == []
    assert app_answers_200(cfg_path)


def test_lock_held_by_another_session_exits_3_naming_it(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    with clean_sandbox.connect() as holder, holder.cursor() as cur:
        cur.execute("SELECT GET_LOCK('runbook:askproai_db', 0), CONNECTION_ID()")
        _, conn_id = cur.fetchone()
        before = snapshot(cfg_path)
        assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 3
        out = capsys.readouterr().out
        assert f"connection {conn_id} (askproai_user@" in out
        assert main(["preflight", "--config", str(cfg_path)]) == 3
    assert snapshot(cfg_path).diff(before) == []


def test_transaction_holding_parent_locks_is_listed_and_stops(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    with clean_sandbox.connect(autocommit=False) as other, other.cursor() as cur:
        cur.execute("UPDATE companies SET name = name WHERE id = 1")
        cur.execute("SELECT CONNECTION_ID()")
        (conn_id,) = cur.fetchone()
        assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 1
        out = capsys.readouterr().out
        assert f"connection {conn_id} (askproai_user@" in out and "row lock" in out
        other.rollback()
    assert app_answers_200(cfg_path)
    assert not set(SIX) & tables(clean_sandbox)


# -- failures during the migration: automatic rollback ----------------------------------


def broken_sql_dir(tmp_path: Path, migration_index: int, old: str, new: str) -> Path:
    d = tmp_path / "sql"
    d.mkdir()
    for entry in sql_dir().iterdir():
        if entry.name.endswith(".sql"):
            (d / entry.name).write_text(entry.read_text())
    ups = sorted(d.glob("*.up.sql"))
    text = ups[migration_index].read_text()
    assert old in text
    ups[migration_index].write_text(text.replace(old, new))
    return d


def test_migration_rejected_half_way_rolls_back_to_the_fingerprint(
    cfg_path: Path, clean_sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A default the server refuses (1067) but that no static rule forbids: the fourth
    # migration fails after three tables exist.
    bad = broken_sql_dir(tmp_path, 3, "DEFAULT 0.00", "DEFAULT 'abc'")
    assert main(["validate", "--sql-dir", str(bad)]) == 0, "the bad default must pass statically"
    before = snapshot(cfg_path)
    code = main(["deploy", "--config", str(cfg_path), "--sql-dir", str(bad), "--yes"])
    out = capsys.readouterr().out
    assert code == 1
    assert "1067" in out and "appointment_modifications" in out
    assert "schema equals the pre-deployment fingerprint" in out
    assert snapshot(cfg_path).diff(before) == []
    assert app_answers_200(cfg_path)
    events = last_run(cfg_path)
    undone = [e["table"] for e in events if e["event"] == "statement" and e.get("undo")]
    assert undone == ["callback_requests", "policy_configurations", "notification_configurations"]


def test_verification_failure_takes_the_safe_answer_and_rolls_back(
    cfg_path: Path, clean_sandbox: Sandbox
) -> None:
    """A schema change behind the runbook's back, right after migration, fails verification."""

    def sabotage(event: Event) -> None:
        if event.kind == "step_start" and event.node == "verify":
            with clean_sandbox.connect() as conn, conn.cursor() as cur:
                cur.execute(
                    "ALTER TABLE callback_requests "
                    "DROP INDEX callback_requests_company_id_created_at_index"
                )

    before = snapshot(cfg_path)
    outcome, _ = deploy_in_process(cfg_path, sabotage)
    assert outcome.exit_code == 1
    assert "auto_rollback" in outcome.visited
    assert snapshot(cfg_path).diff(before) == []
    assert app_answers_200(cfg_path)


# -- interruptions ----------------------------------------------------------------------


@pytest.mark.parametrize("node", ["backup", "maintenance", "cache", "migrate", "verify", "restore"])
def test_ctrl_c_in_each_phase_leaves_the_target_as_before_or_verified(
    cfg_path: Path, clean_sandbox: Sandbox, node: str
) -> None:
    before = snapshot(cfg_path)
    count = {"n": 0}

    def interrupt(event: Event) -> None:
        # Ctrl-C lands in the main thread in the middle of the phase: after its first event.
        if event.node == node and event.kind != "step_start":
            count["n"] += 1
            if count["n"] == 1:
                raise KeyboardInterrupt

    outcome, _ = deploy_in_process(cfg_path, interrupt)
    assert outcome.exit_code in (0, 1)
    assert app_answers_200(cfg_path)
    after = snapshot(cfg_path)
    if outcome.exit_code == 1:
        assert after.diff(before) == [], f"interrupted in {node}: not as before"
    else:
        assert main(["verify", "--config", str(cfg_path)]) == 0
    assert last_run(cfg_path)[-1]["event"] == "run_end"


def test_sigterm_rolls_back_and_a_second_one_cannot_stop_the_rollback(
    cfg_path: Path, clean_sandbox: Sandbox
) -> None:
    before = snapshot(cfg_path)

    def terminate(event: Event) -> None:
        # once when the table is created, and again when the rollback drops it
        if event.kind == "statement" and event.data.get("table") == "callback_requests":
            os.kill(os.getpid(), signal.SIGTERM)

    outcome, _ = deploy_in_process(cfg_path, terminate)
    assert outcome.exit_code == 1
    assert snapshot(cfg_path).diff(before) == []
    assert app_answers_200(cfg_path)
    events = last_run(cfg_path)
    aborted = [e for e in events if e["event"] == "aborted"]
    assert aborted and aborted[0]["reason"] == "SIGTERM"
    assert any("ignored SIGTERM while cleaning up" in e.get("text", "") for e in events)


def runbook_argv() -> list[str]:
    exe = shutil.which("runbook", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "runbook"]


@pytest.mark.parametrize(
    ("event", "nth"),
    [
        ("maintenance", 1),
        ("migration_start", 1),
        ("migration_start", 4),
        ("statement", 6),
        ("step_start", 7),
        ("step_start", 8),
    ],
)
def test_kill_9_then_resume_finishes_or_returns_to_before(
    cfg_path: Path, clean_sandbox: Sandbox, event: str, nth: int
) -> None:
    before = snapshot(cfg_path)
    proc = subprocess.Popen(
        [*runbook_argv(), "deploy", "--config", str(cfg_path), "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal_dir = cfg_path.parent / "journal"
    deadline = time.monotonic() + 60
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        paths = list(journal_dir.glob("*.jsonl"))
        if paths:
            seen = [e for e in journal.read(paths[0]) if e["event"] == event]
            if len(seen) >= nth:
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
        time.sleep(0.002)
    proc.wait(timeout=30)
    if not killed:
        pytest.skip(f"the run finished before {event} #{nth} was journaled")
    code = main(["deploy", "--config", str(cfg_path), "--resume", "--yes"])
    assert code in (0, 1)
    assert app_answers_200(cfg_path)
    if code == 0:
        assert main(["verify", "--config", str(cfg_path)]) == 0
    else:
        assert snapshot(cfg_path).diff(before) == []
    # the journal now ends every run: a second resume has nothing to do
    assert main(["deploy", "--config", str(cfg_path), "--resume", "--yes"]) == 0


# -- secrets ----------------------------------------------------------------------------


def test_password_never_reaches_argv_journal_backup_or_output(
    cfg_path: Path, clean_sandbox: Sandbox
) -> None:
    password = config_mod.load(cfg_path).database.password.reveal()
    assert len(password) >= 12
    seen_argv: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for p in psutil.process_iter(["cmdline"]):
                try:
                    cmd = " ".join(p.info["cmdline"] or ())
                except psutil.Error:
                    continue
                if password in cmd:
                    seen_argv.append(cmd)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        done = subprocess.run(
            [*runbook_argv(), "deploy", "--config", str(cfg_path), "--yes"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop.set()
        watcher.join()
    assert done.returncode == 0, done.stdout + done.stderr
    assert seen_argv == []
    assert password not in done.stdout + done.stderr
    journals = list((cfg_path.parent / "journal").glob("*.jsonl"))
    archives = list((cfg_path.parent / "journal" / "archive").glob("*.tar.gz"))
    assert journals and archives
    for path in journals:
        assert password not in path.read_text()
    for path in archives:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                data = tar.extractfile(member)
                assert data is None or password.encode() not in data.read()
    # a wrong password must not echo anything secret either
    text = cfg_path.read_text().replace(password, password[::-1])
    cfg_path.write_text(text)
    bad = subprocess.run(
        [*runbook_argv(), "preflight", "--config", str(cfg_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "Access denied" in bad.stdout + bad.stderr
    assert password[::-1] not in bad.stdout + bad.stderr


def test_a_lock_that_appears_after_the_checks_is_waited_for_then_named(
    cfg_path: Path, clean_sandbox: Sandbox
) -> None:
    """A transaction that locks `migrations` after preflight: the INSERT that records a
    migration waits a bounded time, the wait is reported, and the blocker is named."""
    blocker: dict[str, Any] = {}

    def block_parent(event: Event) -> None:
        if event.kind == "step_start" and event.node == "migrate":
            conn = clean_sandbox.connect(autocommit=False)
            with conn.cursor() as cur:
                cur.execute("SELECT * FROM migrations FOR UPDATE")
                cur.execute("SELECT CONNECTION_ID()")
                blocker["id"] = cur.fetchone()[0]
            blocker["conn"] = conn

    before = snapshot(cfg_path)
    try:
        outcome, _ = deploy_in_process(cfg_path, block_parent)
    finally:
        blocker["conn"].rollback()
        blocker["conn"].close()
    assert outcome.exit_code == 1
    events = last_run(cfg_path)
    waits = [e for e in events if e["event"] == "output" and "waited" in e.get("text", "")]
    assert len(waits) == 2  # two retries, then it gives up
    failed = next(e for e in events if e["event"] == "step_end" and e["node"] == "migrate")
    assert f"connection {blocker['id']} (askproai_user@" in failed["summary"]
    assert snapshot(cfg_path).diff(before) == []
    assert app_answers_200(cfg_path)


def test_maintenance_left_on_is_refused_by_default_and_lifted_when_asked(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:

    clean_sandbox.artisan("down", "--retry=60")
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 1
    assert "in maintenance mode already" in capsys.readouterr().out
    assert not set(SIX) & tables(clean_sandbox)

    class Lift:
        def ask(self, question: Any) -> str:
            return "lift" if question.id == "lift_maintenance" else question.safe

    cfg = config_mod.load(cfg_path)
    outcome, _ = run_deploy(cfg, Options(yes=True), Lift(), lambda event: None)
    assert outcome.exit_code == 0
    assert app_answers_200(cfg_path)


def test_skip_backup_without_yes_and_without_a_terminal_stops_and_says_why(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(cfg_path)
    assert main(["deploy", "--config", str(cfg_path), "--skip-backup"]) == 1
    err = capsys.readouterr().err
    assert "this needs an answer: Skip the backup?" in err and "--yes" in err
    assert snapshot(cfg_path).diff(before) == []


def test_skip_backup_with_yes_is_marked_in_the_journal(
    cfg_path: Path, clean_sandbox: Sandbox
) -> None:
    assert main(["deploy", "--config", str(cfg_path), "--skip-backup", "--yes"]) == 0
    assert list((cfg_path.parent / "backups").iterdir()) == []
    events = last_run(cfg_path)
    assert any(e["event"] == "backup_skipped" for e in events)
    assert events[0]["options"]["skip_backup"] is True


def test_zero_downtime_never_enters_maintenance(cfg_path: Path, clean_sandbox: Sandbox) -> None:
    def watch(event: Event) -> None:
        assert probe(config_mod.load(cfg_path).app.url).status == 200

    outcome, _ = deploy_in_process(cfg_path, watch, no_maintenance=True)
    assert outcome.exit_code == 0
    assert not [e for e in last_run(cfg_path) if e["event"] == "maintenance"]


def test_an_app_whose_cached_config_points_elsewhere_is_refused(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cached config wins over .env: artisan would talk to another database."""
    env = clean_sandbox.app_path / ".env"
    original = env.read_text()
    try:
        env.write_text(original.replace("DB_DATABASE=askproai_db", "DB_DATABASE=other_db"))
        clean_sandbox.artisan("config:cache")
        env.write_text(original)  # .env looks right again; the cache still says other_db
        before = snapshot(cfg_path)
        assert main(["preflight", "--config", str(cfg_path)]) == 1
        out = capsys.readouterr().out
        assert "'other_db'" in out and "bootstrap/cache/config.php" in out
        assert snapshot(cfg_path).diff(before) == []
    finally:
        env.write_text(original)
        clean_sandbox.artisan("config:clear")
