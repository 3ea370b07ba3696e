"""Monitoring against the real sandbox: its MariaDB, its Laravel app, their real logs.

Every issue here is produced by the real thing where the sandbox can produce it:
Laravel logs a real ERROR when its database account is locked (``/api/health``,
``artisan migrate:status`` with a stack trace), Laravel's own ``report()``
logs a real foreign-key violation from MariaDB, MariaDB writes a real
``[ERROR]`` with a foreign-key violation from a failing event, real deadlocks
raise ``Innodb_deadlocks`` and (with ``innodb_print_all_deadlocks``) write
InnoDB's note, and a wrong password writes a real ``Access denied`` warning.
Where a test appends lines itself (a steady stream of minor errors for the
"continue monitoring" loop), it says so.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from runbook import config as config_mod
from runbook import journal
from runbook.config import Config, DatabaseConfig
from runbook.db import DryRunViolation, Target
from runbook.engine import Context, Event, Options, Walker
from runbook.monitor import ACTIONS, MonitorSession
from runbook.monitor import baseline as bl
from runbook.monitor import checkpoint as cp
from runbook.monitor.command import cmd_monitor
from runbook.monitor.detectors import MAJOR, MINOR, NONE
from runbook.monitor.sampler import ProcessSampler, StatusSampler, SystemSampler
from runbook.prompter import Question, SafeDefaultPrompter
from runbook.sandbox import Sandbox
from runbook.sandbox import laravel as sandbox_laravel

pytestmark = [pytest.mark.mariadb, pytest.mark.php]

# Bootstraps the sandbox app the way artisan does and lets Laravel itself report
# a real QueryException from MariaDB: what an uncaught one in a request logs.
FK_PHP = r"""<?php
$root = $argv[1];
require $root.'/bootstrap/autoload.php';
$app = require $root.'/bootstrap/app.php';
$app->make(Illuminate\Contracts\Console\Kernel::class)->bootstrap();
try {
    Illuminate\Support\Facades\DB::table('appointments')
        ->insert(['company_id' => 987654321, 'customer_id' => 987654321]);
} catch (Throwable $e) {
    report($e);
}
"""


@pytest.fixture
def cfg_path(clean_sandbox: Sandbox, tmp_path: Path) -> Path:
    """The sandbox's config with this test's own journal and a 3-second window."""
    text = clean_sandbox.config_path.read_text()
    text = text.replace(str(clean_sandbox.dir / "journal"), str(tmp_path / "journal"))
    text = text.replace("minutes = 0.5", "minutes = 0.05")
    assert "minutes = 0.05" in text
    path = tmp_path / "runbook.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def cfg(cfg_path: Path) -> Config:
    return config_mod.load(cfg_path)


def admin(sandbox: Sandbox, sql: str, args: Any = None) -> None:
    with sandbox.connect(admin=True) as conn, conn.cursor() as cur:
        cur.execute(sql, args)


def lock_app_user(sandbox: Sandbox) -> None:
    """New logins of the app's account fail (clean_sandbox unlocks it again)."""
    for host in ("127.0.0.1", "localhost"):
        admin(sandbox, "ALTER USER %s@%s ACCOUNT LOCK", (sandbox.user, host))


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def laravel_reports_fk_violation(sandbox: Sandbox, tmp_path: Path) -> None:
    script = tmp_path / "fk.php"
    script.write_text(FK_PHP)
    import subprocess

    done = subprocess.run(
        [sandbox.tools.php, str(script), str(sandbox.app_path)],
        cwd=sandbox.app_path,
        env=sandbox_laravel.php_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def tick_until(session: MonitorSession, done: Callable[[], bool], timeout: float = 15) -> list[Any]:
    """Tick (as a driver would) until ``done()``; the updates seen."""
    updates = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        updates.append(session.tick())
        if done():
            return updates
        time.sleep(0.1)
    raise AssertionError(f"not seen within {timeout} s: {session.detectors.counts()}")


@pytest.fixture
def session_factory(cfg: Config) -> Iterator[Callable[..., MonitorSession]]:
    made: list[MonitorSession] = []

    def make(**kwargs: Any) -> MonitorSession:
        kwargs.setdefault("minutes", 5)
        s = MonitorSession(cfg, **kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# -- samplers -----------------------------------------------------------------------------


def test_sampler_finds_the_sandbox_server_and_reads_its_status(sandbox: Sandbox) -> None:
    cfg = config_mod.load(sandbox.config_path)
    assert sandbox.mariadbd is not None
    by_socket = ProcessSampler(cfg.database)
    time.sleep(0.2)
    sample = by_socket.sample()
    assert sample.pid == sandbox.mariadbd.pid
    assert sample.name == "mariadbd"
    assert "socket" in sample.found_by
    assert sample.rss and sample.rss > 10 << 20
    assert sample.cpu_percent is not None and sample.cpu_percent >= 0

    tcp_only = DatabaseConfig(**{**vars(cfg.database), "socket": ""})
    by_port = ProcessSampler(tcp_only).sample()
    assert by_port.pid == sandbox.mariadbd.pid
    assert f"port {sandbox.port}" in by_port.found_by

    remote = DatabaseConfig(**{**vars(cfg.database), "socket": "", "host": "192.0.2.1"})
    elsewhere = ProcessSampler(remote).sample()
    assert elsewhere.pid is None and "not on this host" in elsewhere.found_by

    status = StatusSampler(Target(cfg.database, dry_run=True))
    try:
        first = status.sample()
        time.sleep(0.2)
        second = status.sample()
    finally:
        status.close()
    assert first.ok and second.ok
    assert first.qps is None  # no previous sample to compare with
    assert second.qps is not None and second.qps >= 0
    assert second.threads_connected and second.threads_connected >= 1
    assert status.deadlock_source == "SHOW GLOBAL STATUS Innodb_deadlocks"
    assert Path(status.datadir or "").resolve() == sandbox.datadir.resolve()
    assert status.version.startswith("10.11")

    system = SystemSampler("/")
    time.sleep(0.2)
    machine = system.sample()
    assert machine.cpu_percent is not None and 0 <= machine.cpu_percent <= 100
    assert 0 < machine.mem_percent < 100
    assert machine.disk_percent is not None


def test_qps_counts_the_load_and_not_the_monitor_itself(sandbox: Sandbox) -> None:
    cfg = config_mod.load(sandbox.config_path)
    status = StatusSampler(Target(cfg.database, dry_run=True))
    load = sandbox.connect()
    try:
        status.sample()
        idle = [status.sample() for _ in range(5)]  # 5 statements of our own, back to back
        with load.cursor() as cur:
            for _ in range(200):
                cur.execute("SELECT 1")
        busy = status.sample()
    finally:
        load.close()
        status.close()
    assert all(s.qps == 0 for s in idle)  # a sampler counting itself would say ~1/sample
    assert busy.qps is not None and busy.span_s is not None
    assert round(busy.qps * busy.span_s) == 200  # exactly the load's statements


def test_status_session_is_read_only(session_factory: Callable[..., MonitorSession]) -> None:
    session = session_factory()
    session.tick()
    assert session.status.session is not None
    with pytest.raises(DryRunViolation):
        session.status.session.execute("CREATE TABLE nope (id int)")


def test_a_stopped_server_is_an_outage_not_a_crash(sandbox: Sandbox) -> None:
    cfg = config_mod.load(sandbox.config_path)
    nowhere = DatabaseConfig(**{**vars(cfg.database), "socket": "", "port": 1})
    sampler = StatusSampler(Target(nowhere, dry_run=True), connect_timeout=2)
    sample = sampler.sample()
    assert not sample.ok and "cannot connect" in sample.error
    assert cfg.database.password.reveal() not in sample.error
    assert sampler.session is None  # the next sample tries to connect again


# -- detectors on what the real servers write -----------------------------------------------


def test_real_laravel_errors_are_counted_once_per_entry(
    clean_sandbox: Sandbox, session_factory: Callable[..., MonitorSession]
) -> None:
    session = session_factory()
    session.tick()  # the monitor's own status session is open before the lock
    lock_app_user(clean_sandbox)
    assert get(clean_sandbox.app_url + "api/health") == 500  # a one-line ERROR with context
    migrate = clean_sandbox.artisan("migrate:status")  # an uncaught QueryException: stack trace
    assert migrate.returncode != 0
    det = session.detectors
    updates = tick_until(session, lambda: det.states["app_error"].count >= 2)
    lines = [line for u in updates for line in u.app_lines]
    assert len(lines) > 10  # the stack trace was read ...
    assert det.states["app_error"].count == 2  # ... and still counts as one entry
    assert det.states["database_error"].count == 2  # SQLSTATE[HY000] [4151] account locked
    assert det.states["constraint_violation"].count == 0
    assert "Health check failed" in (det.states["app_error"].example or "")
    assert updates[-1].severity == MINOR
    assert session.app_tail[-1] == lines[-1]


def test_a_real_foreign_key_violation_logged_by_laravel_is_major(
    clean_sandbox: Sandbox, session_factory: Callable[..., MonitorSession], tmp_path: Path
) -> None:
    session = session_factory()
    session.tick()
    laravel_reports_fk_violation(clean_sandbox, tmp_path)
    det = session.detectors
    tick_until(session, lambda: det.states["constraint_violation"].count >= 1)
    session.tick()
    assert det.states["constraint_violation"].count == 1
    assert det.states["constraint_violation"].sources == {"app_log": 1}
    assert det.states["app_error"].count == 1
    assert "appointments_company_id_foreign" in (det.states["constraint_violation"].example or "")
    verdict = session.verdict()
    assert verdict.severity == MAJOR
    checks = {c.name: c for c in verdict.checks}
    assert checks[cp.APP_LOGS].status == cp.FAIL
    assert checks[cp.CONSTRAINTS].status == cp.FAIL


def test_a_real_mariadb_error_line_with_a_fk_violation(
    clean_sandbox: Sandbox, session_factory: Callable[..., MonitorSession]
) -> None:
    session = session_factory()
    session.tick()
    # A scheduled event whose INSERT breaks a foreign key: the server itself logs [ERROR].
    admin(clean_sandbox, "SET GLOBAL event_scheduler = ON")
    try:
        admin(
            clean_sandbox,
            "CREATE EVENT rb_monitor_fk ON SCHEDULE AT CURRENT_TIMESTAMP ON COMPLETION NOT "
            "PRESERVE DO INSERT INTO appointments (company_id, customer_id) "
            "VALUES (987654321, 987654321)",
        )
        det = session.detectors
        tick_until(session, lambda: det.states["mysql_error"].count >= 1)
    finally:
        admin(clean_sandbox, "SET GLOBAL event_scheduler = OFF")
        admin(clean_sandbox, "DROP EVENT IF EXISTS rb_monitor_fk")
    assert det.states["constraint_violation"].sources == {"mysql_log": 1}
    assert "[ERROR] Event Scheduler" in (det.states["mysql_error"].example or "")
    assert session.verdict().severity == MAJOR


def test_real_deadlocks_are_seen_in_the_status_and_the_error_log(
    clean_sandbox: Sandbox, session_factory: Callable[..., MonitorSession]
) -> None:
    session = session_factory()
    session.tick()
    admin(clean_sandbox, "SET GLOBAL innodb_print_all_deadlocks = ON")
    try:
        deadlock(clean_sandbox)
        det = session.detectors
        tick_until(
            session,
            lambda: det.states["server_deadlocks"].count >= 1 and det.states["deadlock"].count,
        )
    finally:
        admin(clean_sandbox, "SET GLOBAL innodb_print_all_deadlocks = OFF")
    assert det.states["server_deadlocks"].count == 1
    assert det.states["deadlock"].sources == {"mysql_log": 1}
    assert "deadlock detected" in (det.states["deadlock"].example or "")
    assert session.verdict().severity == MAJOR
    assert sum(s.status.deadlocks for s in session.samples()) == 1


def deadlock(sandbox: Sandbox) -> None:
    """Two transactions that each wait for the other's row: InnoDB kills one."""
    a = sandbox.connect(admin=True, autocommit=False)
    b = sandbox.connect(admin=True, autocommit=False)
    try:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("CREATE TABLE rb_monitor_dl (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
            ca.execute("INSERT INTO rb_monitor_dl VALUES (1, 0), (2, 0)")
            a.commit()
            ca.execute("UPDATE rb_monitor_dl SET v = 1 WHERE id = 1")
            cb.execute("UPDATE rb_monitor_dl SET v = 1 WHERE id = 2")
            errors: list[Exception] = []

            def second() -> None:
                try:
                    ca.execute("UPDATE rb_monitor_dl SET v = 2 WHERE id = 2")
                except pymysql.MySQLError as exc:
                    errors.append(exc)

            t = threading.Thread(target=second)
            t.start()
            time.sleep(0.3)  # let it queue behind b's lock
            try:
                cb.execute("UPDATE rb_monitor_dl SET v = 2 WHERE id = 1")
            except pymysql.MySQLError as exc:
                errors.append(exc)
            t.join(30)
            assert [e.args[0] for e in errors] == [1213]
            a.rollback()
            b.rollback()
            ca.execute("DROP TABLE rb_monitor_dl")
    finally:
        a.close()
        b.close()


def test_server_noise_and_a_failed_login_are_not_issues(
    clean_sandbox: Sandbox, session_factory: Callable[..., MonitorSession]
) -> None:
    session = session_factory()
    session.tick()
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(
            unix_socket=str(clean_sandbox.socket), user=clean_sandbox.user, password="wrong"
        )
    updates = tick_until(
        session, lambda: any("Access denied" in line for line in session.error_tail)
    )
    assert any("[Warning] Access denied" in line for u in updates for line in u.error_lines)
    assert session.detectors.counts() == dict.fromkeys(session.detectors.counts(), 0)


def test_a_clean_window_has_no_issues_and_passes_the_checks(
    clean_sandbox: Sandbox, session_factory: Callable[..., MonitorSession]
) -> None:
    session = session_factory(minutes=0.04, interval=0.2)
    updates: list[Any] = []
    session.run(updates.append)
    assert session.completed and updates[-1].done
    assert len(updates) >= bl.FIRST_SAMPLES + 1
    assert all(u.sample.app and u.sample.app.status == 200 for u in updates)
    verdict = session.verdict()
    assert verdict.severity == NONE, verdict.reasons
    checks = {c.name: c.status for c in verdict.checks}
    assert checks == {
        cp.APP_LOGS: cp.PASS,
        cp.CONSTRAINTS: cp.PASS,
        cp.PERFORMANCE: cp.PASS,
        cp.USER_REPORTS: cp.UNCONFIRMED,
    }
    assert session.baseline is not None and "first 5 samples" in session.baseline.source
    assert any("baseline: first" in c for c in verdict.caveats)


def test_the_app_in_maintenance_is_an_outage(
    clean_sandbox: Sandbox, session_factory: Callable[..., MonitorSession]
) -> None:
    session = session_factory()
    session.tick()
    assert clean_sandbox.artisan("down").returncode == 0
    det = session.detectors
    updates = tick_until(session, lambda: det.states["app_down"].count >= 1)
    assert updates[-1].sample.app.status == 503
    assert det.states["app_probe_failed"].count == 1
    verdict = session.verdict()
    assert verdict.severity == MAJOR
    assert {c.name: c.status for c in verdict.checks}[cp.PERFORMANCE] == cp.FAIL


def test_the_operator_can_raise_an_issue_from_another_thread(
    session_factory: Callable[..., MonitorSession],
) -> None:
    session = session_factory()
    session.tick()
    t = threading.Thread(target=session.raise_issue, args=("bookings page blank", MAJOR))
    t.start()
    t.join()
    # the next update carries it, once, for the driver to journal
    raised = [h for h in session.tick().hits if h.detector == "operator"]
    assert [h.line for h in raised] == ["bookings page blank"]
    assert not any(h.detector == "operator" for h in session.tick().hits)
    assert [h.detector for h in session.hits].count("operator") == 1
    verdict = session.verdict("none")
    assert verdict.severity == MAJOR
    assert "bookings page blank" in verdict.reason
    assert {c.name: c.status for c in verdict.checks}[cp.USER_REPORTS] == cp.PASS


# -- the baseline -----------------------------------------------------------------------------


def test_a_baseline_recorded_by_a_deploy_is_found_by_the_monitor(cfg: Config) -> None:
    jr = journal.Journal.create(cfg.journal_dir, cfg.database.database, "deploy")
    ctx = Context(cfg, Target(cfg.database), jr, SafeDefaultPrompter(), Options(), lambda e: None)
    try:
        taken = bl.record_baseline(ctx, seconds=0.5)
    finally:
        jr.close()
    assert taken.app_ms is not None and taken.app_ms > 0
    assert taken.app_ok == 1.0
    assert taken.qps is not None
    found = bl.recorded_baseline(cfg)
    assert found is not None
    assert found.app_ms == taken.app_ms
    assert found.source.startswith("before the deployment (journal ")
    assert bl.recorded_baseline(cfg, now=time.time() + bl.RECORDED_MAX_AGE_S + 60) is None


def test_performance_is_judged_against_the_baseline_given(
    clean_sandbox: Sandbox, session_factory: Callable[..., MonitorSession]
) -> None:
    def base(qps: float) -> bl.Baseline:
        return bl.from_samples([10.0], 1.0, [qps], [2.0], 5.0, "before the deployment (test)")

    normal = session_factory(minutes=0.02, interval=0.2, baseline=base(0.0))
    normal.run()
    check = {c.name: c for c in normal.verdict().checks}[cp.PERFORMANCE]
    assert check.status == cp.PASS, check.detail
    assert "[baseline: before the deployment (test)]" in check.detail
    assert not any("baseline" in c for c in normal.verdict().caveats)

    # A baseline of 1000 queries/s against an idle sandbox: the app "stopped querying".
    stopped = session_factory(minutes=0.02, interval=0.2, baseline=base(1000.0))
    stopped.run()
    verdict = stopped.verdict()
    check = {c.name: c for c in verdict.checks}[cp.PERFORMANCE]
    assert check.status == cp.FAIL and "QUERIES STOPPED" in check.detail
    assert verdict.severity == MINOR
    assert any("Application performance normal" in r for r in verdict.reasons)


# -- runbook monitor ----------------------------------------------------------------------------


def monitor_args(cfg_path: Path, **kw: Any) -> argparse.Namespace:
    base = {"config": str(cfg_path), "minutes": None, "json": True, "yes": True}
    return argparse.Namespace(**{**base, **kw})


def test_monitor_json_on_a_quiet_sandbox(
    sandbox: Sandbox, cfg_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cmd_monitor(monitor_args(cfg_path, minutes=0.05))
    out = capsys.readouterr().out
    doc = json.loads(out)  # ONE document, nothing else on stdout
    assert code == 0 and doc["exit_code"] == 0
    assert doc["window"]["completed"] is True
    assert doc["window"]["minutes"] == 0.05
    assert doc["window"]["samples"] >= 3
    assert doc["verdict"]["severity"] == "none"
    assert [c["name"] for c in doc["verdict"]["checks"]] == [
        cp.APP_LOGS,
        cp.CONSTRAINTS,
        cp.PERFORMANCE,
        cp.USER_REPORTS,
    ]
    assert doc["verdict"]["checks"][3]["detail"] == "not confirmed (unattended: --yes)"
    assert set(doc["detectors"]) >= {"constraint_violation", "deadlock", "app_error", "app_down"}
    assert all(d["count"] == 0 for d in doc["detectors"].values())
    assert set(doc["resources"]["cpu_percent"]) == {"min", "median", "max"}
    assert doc["resources"]["app_ms"]["median"] > 0
    assert doc["server"]["pid"] == sandbox.mariadbd.pid
    assert doc["logs"]["app"]["state"] == "following"
    events = [e["event"] for e in journal.read(Path(doc["journal"]))]
    assert events[0] == journal.RUN_START and events[-1] == journal.RUN_END
    assert "monitor_verdict" in events


def test_monitor_reports_a_violation_during_the_window_and_exits_1(
    clean_sandbox: Sandbox, cfg_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    during = threading.Timer(0.5, laravel_reports_fk_violation, (clean_sandbox, tmp_path))
    during.start()
    try:
        code = cmd_monitor(monitor_args(cfg_path, minutes=0.05))
    finally:
        during.join()
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["verdict"]["severity"] == "major"
    assert doc["detectors"]["constraint_violation"]["count"] == 1
    assert "foreign key constraint fails" in doc["detectors"]["constraint_violation"]["example"]
    assert doc["hits"][0]["detector"] in ("app_error", "constraint_violation")
    events = journal.read(Path(doc["journal"]))
    assert {e["detector"] for e in events if e["event"] == "detector_hit"} == {
        "app_error",
        "constraint_violation",
    }


def test_monitor_plain_output_has_a_line_per_interval(
    sandbox: Sandbox, cfg_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cmd_monitor(monitor_args(cfg_path, minutes=0.05, json=False))
    out = capsys.readouterr().out
    assert code == 0
    status = [line for line in out.splitlines() if line.startswith("0:0")]
    assert len(status) >= 3
    assert all("/0:03 qps" in line and "mariadbd" in line for line in status)
    assert "issues: none" in out
    assert "? No user-reported issues: not confirmed (unattended: --yes)" in out
    assert "\x1b[" not in out  # not a terminal: no colour codes


def test_monitor_config_errors_exit_2(tmp_path: Path, cfg_path: Path) -> None:
    assert cmd_monitor(monitor_args(tmp_path / "missing.toml")) == 2
    assert cmd_monitor(monitor_args(cfg_path, minutes=0)) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[monitor]\nminutes = -1\n")
    assert cmd_monitor(monitor_args(bad)) == 2


# -- the flow's steps ---------------------------------------------------------------------------


class Answers:
    """A person answering from a script; remembers what was asked."""

    def __init__(self, **answers: str) -> None:
        self.answers = answers
        self.asked: list[Question] = []

    def ask(self, question: Question) -> str:
        self.asked.append(question)
        return self.answers.get(question.id, question.safe)


def walk_monitoring(
    cfg: Config, prompter: Any, *, yes: bool, minutes: float = 0.02
) -> tuple[Any, Context, list[Event]]:
    cfg = Config(**{**vars(cfg), "monitor_minutes": minutes})
    jr = journal.Journal.create(cfg.journal_dir, cfg.database.database, "monitor")
    events: list[Event] = []
    ctx = Context(cfg, Target(cfg.database), jr, prompter, Options(yes=yes), events.append)
    ctx.state["monitor_interval"] = 0.2
    try:
        outcome = Walker(ctx, ACTIONS).walk("monitor")
    finally:
        jr.close()
    return outcome, ctx, events


def decisions(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.data["question"], e.data["answer"]) for e in events if e.kind == "decision"]


def test_flow_clean_window_then_checkpoint(sandbox: Sandbox, cfg: Config) -> None:
    outcome, ctx, events = walk_monitoring(cfg, SafeDefaultPrompter(), yes=True)
    assert outcome.visited == [
        "monitor",
        "issues_detected",
        "checkpoint",
        "checkpoint_failed",
        "monitoring_complete",
    ]
    assert outcome.exit_code == 0
    kinds = [e.kind for e in events]
    assert kinds.count("monitor_sample") >= 3
    assert "monitor_verdict" in kinds
    checks = {e.data["name"]: e.data["status"] for e in events if e.kind == "check"}
    assert checks[cp.USER_REPORTS] == cp.UNCONFIRMED
    assert ctx.state["monitor_verdict"]["severity"] == "none"
    journaled = journal.read(ctx.journal.path)
    sample = next(e for e in journaled if e["event"] == "monitor_sample")
    assert "_update" not in sample and "qps" in sample


def test_flow_minor_issues_twice_in_a_row_suggest_rollback(
    clean_sandbox: Sandbox, cfg: Config
) -> None:
    # Written by the test (a steady trickle of Laravel ERROR lines in Laravel's format),
    # because the minor case needs errors that keep coming across both windows.
    stop = threading.Event()

    def trickle() -> None:
        n = 0
        while not stop.is_set():
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            with open(cfg.app.log, "a") as fh:
                fh.write(f"[{stamp}] production.ERROR: Mail transport timed out #{n} {{}} \n")
            n += 1
            stop.wait(0.3)

    writer = threading.Thread(target=trickle)
    writer.start()
    try:
        outcome, ctx, events = walk_monitoring(cfg, SafeDefaultPrompter(), yes=True)
    finally:
        stop.set()
        writer.join()
    assert decisions(events) == [
        ("issues_detected", "continue"),
        ("issues_detected", "rollback"),
        ("rollback_choice", "migrations"),
    ]
    assert outcome.visited[:4] == ["monitor", "issues_detected", "monitor", "issues_detected"]
    # The rollback steps have no action in this walk: monitoring itself never rolls back.
    assert outcome.outcome == "rolled_back"
    assert outcome.results["rollback_a"].skipped
    first, second = outcome.results["monitor"], ctx.state["monitor_carry"]
    assert second.window == 2 and [w["severity"] for w in second.earlier] == [MINOR, MINOR]
    assert "minor issues in two windows in a row" in first.summary


def test_flow_major_issue_suggests_rollback_at_once(
    clean_sandbox: Sandbox, cfg: Config, tmp_path: Path
) -> None:
    timer = threading.Timer(0.2, laravel_reports_fk_violation, (clean_sandbox, tmp_path))
    timer.start()
    try:
        outcome, _ctx, events = walk_monitoring(cfg, SafeDefaultPrompter(), yes=True)
    finally:
        timer.join()
    assert decisions(events)[0] == ("issues_detected", "rollback")
    assert outcome.visited.count("monitor") == 1
    result = outcome.results["monitor"]
    assert not result.ok and result.suggest == "rollback"
    assert any("Constraint violations" in line for line in result.evidence)


def test_a_screen_can_raise_an_issue_and_end_the_window_early(
    sandbox: Sandbox, cfg: Config
) -> None:
    """What the Textual screen does from its thread while the walker runs the window."""
    cfg = Config(**{**vars(cfg), "monitor_minutes": 5.0})
    jr = journal.Journal.create(cfg.journal_dir, cfg.database.database, "monitor")
    events: list[Event] = []
    ctx = Context(
        cfg, Target(cfg.database), jr, SafeDefaultPrompter(), Options(yes=True), events.append
    )
    stop = threading.Event()
    stop.set()  # left over from an earlier window: must not end this one at once
    ctx.state.update(monitor_interval=0.2, monitor_stop=stop)

    def operator() -> None:
        while "monitor_session" not in ctx.state:
            time.sleep(0.05)
        time.sleep(0.5)
        ctx.state["monitor_session"].raise_issue("tenant dashboards show no data", MAJOR)
        stop.set()

    screen = threading.Thread(target=operator)
    screen.start()
    try:
        outcome = Walker(ctx, ACTIONS).walk("monitor")
    finally:
        screen.join()
        jr.close()
    assert decisions(events)[0] == ("issues_detected", "rollback")
    # raised after the window's last sample, and journaled all the same
    raised = [e.data for e in events if e.kind == "detector_hit" and e.data["source"] == "operator"]
    assert [h["line"] for h in raised] == ["tenant dashboards show no data"]
    result = outcome.results["monitor"]
    assert "tenant dashboards show no data" in result.summary
    assert any("cut short" in line for line in result.evidence)
    assert sum(e.kind == "monitor_sample" for e in events) >= 2


def test_checkpoint_asks_a_person_about_user_reports(sandbox: Sandbox, cfg: Config) -> None:
    person = Answers(user_reports="none")
    outcome, _ctx, events = walk_monitoring(cfg, person, yes=False)
    assert [q.id for q in person.asked] == ["user_reports"]
    assert outcome.results["checkpoint"].ok
    checks = {e.data["name"]: e.data["status"] for e in events if e.kind == "check"}
    assert checks[cp.USER_REPORTS] == cp.PASS

    unhappy = Answers(user_reports="major")
    outcome, ctx, _events = walk_monitoring(cfg, unhappy, yes=False)
    result = outcome.results["checkpoint"]
    assert not result.ok and result.suggest == "rollback"
    assert ctx.state["monitor_verdict"]["checkpoint_passed"] is False


def test_checkpoint_without_a_window_says_so(sandbox: Sandbox, cfg: Config) -> None:
    jr = journal.Journal.create(cfg.journal_dir, cfg.database.database, "monitor")
    ctx = Context(cfg, Target(cfg.database), jr, SafeDefaultPrompter(), Options(yes=True), print)
    try:
        result = ACTIONS["checkpoint"](ctx)
    finally:
        jr.close()
    assert not result.ok and "no monitoring window" in result.summary
