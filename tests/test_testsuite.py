"""`runbook test-migrations`: the seed's nine tests on a scratch copy, against the real sandbox.

Every test ends by proving that no ``runbook_scratch_*`` database survived and that
the target's fingerprint (schema, migrations rows and data checksums) is unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
from helpers import break_parent_collation

from runbook import config as config_mod
from runbook import fingerprint, flow, journal
from runbook.db import Target
from runbook.engine import Context, Event, Options
from runbook.prompter import SafeDefaultPrompter
from runbook.resources import sql_dir
from runbook.sandbox import Sandbox
from runbook.testsuite import (
    CASCADE,
    CLONE,
    CREATE,
    FOREIGN_KEYS,
    INTEGRITY,
    ROLLBACK,
    SuiteReport,
    cmd_test_migrations,
    run_suite,
    signals_deferred,
    step_test_suite,
)
from runbook.validator import ValidationResult, validate

SCRATCH = re.compile(r"runbook_scratch_[0-9a-f]{12}")
MIGRATION = "Migration execution (6 tables)"

Events = list[tuple[str, dict[str, Any]]]


# -- helpers -------------------------------------------------------------------------------


def scratch_databases(sandbox: Sandbox) -> list[str]:
    with sandbox.connect(admin=True, database=None) as conn, conn.cursor() as cur:
        cur.execute(r"SHOW DATABASES LIKE 'runbook\_scratch\_%'")
        return [r[0] for r in cur.fetchall()]


def target_fingerprint(sandbox: Sandbox) -> fingerprint.Fingerprint:
    cfg = config_mod.load(sandbox.config_path)
    s = Target(cfg.database).connect()
    try:
        return fingerprint.take(s, cfg.database.database, data=True)
    finally:
        s.close()


def suite(
    sandbox: Sandbox,
    emit: Callable[[str, dict[str, Any]], None] | None = None,
    validation: ValidationResult | None = None,
) -> tuple[SuiteReport, Events]:
    events: Events = []

    def record(kind: str, data: dict[str, Any]) -> None:
        events.append((kind, data))
        if emit is not None:
            emit(kind, data)

    cfg = config_mod.load(sandbox.config_path)
    report = run_suite(Target(cfg.database), validation or validate(), record)
    return report, events


def result(report: SuiteReport, name: str) -> Any:
    return next(r for r in report.results if r.name == name)


def evidence(report: SuiteReport, name: str) -> str:
    return "\n".join(result(report, name).evidence)


def admin(sandbox: Sandbox, *statements: str) -> None:
    with sandbox.connect() as conn, conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


@pytest.fixture
def target_before(clean_sandbox: Sandbox) -> Iterator[fingerprint.Fingerprint]:
    """The target's fingerprint before the test; after it, no scratch database may remain."""
    yield target_fingerprint(clean_sandbox)
    assert scratch_databases(clean_sandbox) == []


# -- the happy path ------------------------------------------------------------------------


def test_all_nine_pass_with_evidence_and_leave_nothing_behind(
    clean_sandbox: Sandbox, target_before: fingerprint.Fingerprint
) -> None:
    validation = validate()
    report, events = suite(clean_sandbox, validation=validation)
    assert report.ok, report.as_json()
    # the nine tests are the seed's, in its order, named as the flow names them
    assert [r.name for r in report.results] == list(flow.NODES["test_suite"].checklist)
    assert all(r.ok and r.evidence and r.elapsed_s >= 0 for r in report.results)
    assert report.dropped and report.cleanup_error is None
    assert scratch_databases(clean_sandbox) == []
    assert target_fingerprint(clean_sandbox).diff(target_before) == []

    # live events: start and end of every test, in order, with what the report holds
    starts = [d["name"] for k, d in events if k == "test_start"]
    ends = [d for k, d in events if k == "test_end"]
    assert starts == [r.name for r in report.results] == [d["name"] for d in ends]
    assert [d["evidence"] for d in ends] == [r.evidence for r in report.results]
    outputs = [d["text"] for k, d in events if k == "output"]
    assert f"dropped {report.scratch}" in outputs

    # the evidence states numbers derived from the parsed model, not typed in
    expected = validation.expected
    fks = expected.fk_count
    rules = [fk.on_delete for t in expected.tables.values() for fk in t.foreign_keys]
    assert SCRATCH.fullmatch(report.scratch)
    assert report.scratch in evidence(report, CREATE)
    assert "identical to the target" in evidence(report, CLONE)
    assert f"{len(validation.migrations)} migrations applied as batch" in evidence(
        report, MIGRATION
    )
    assert f"{fks}/{fks} foreign keys read back" in evidence(report, FOREIGN_KEYS)
    assert f"CASCADE {rules.count('CASCADE')}" in evidence(report, FOREIGN_KEYS)
    assert f"{expected.index_count} indexes ({expected.unique_count} unique" in evidence(
        report, "Index verification"
    )
    cascade = evidence(report, CASCADE)
    assert f"CASCADE {rules.count('CASCADE')}/{rules.count('CASCADE')}: companies → 6 tables" in (
        cascade
    )
    assert f"SET NULL {rules.count('SET NULL')}/{rules.count('SET NULL')}" in cascade
    assert "staff → 4 columns" in cascade and "policy_configurations → 1 column" in cascade
    assert "newest first: appointment_modification_stats →" in evidence(report, ROLLBACK)
    assert "identical to the clone" in evidence(report, ROLLBACK)
    assert "identical to the first run" in evidence(report, "Re-migration testing")
    integrity = evidence(report, INTEGRITY)
    assert "0 orphaned rows" in integrity and "unchanged" in integrity

    # a second run works, on a scratch database of its own
    again, _ = suite(clean_sandbox, validation=validation)
    assert again.ok, again.as_json()
    assert again.scratch != report.scratch
    assert scratch_databases(clean_sandbox) == []
    assert target_fingerprint(clean_sandbox).diff(target_before) == []


# -- failures, each named ------------------------------------------------------------------


def test_parent_key_collation_breaks_a_foreign_key_and_the_suite_says_which(
    clean_sandbox: Sandbox,
) -> None:
    break_parent_collation(clean_sandbox)
    before = target_fingerprint(clean_sandbox)
    report, _ = suite(clean_sandbox)
    assert not report.ok
    migration = result(report, MIGRATION)
    assert not migration.ok
    text = evidence(report, MIGRATION)
    assert "create_callback_requests_table" in text and "errno: 150" in text
    assert "callback_requests_staff_id_foreign: callback_requests.staff_id" in text
    assert "staff.id (char(36) utf8mb4_bin): the collations differ" in text
    assert "2 of 6 applied before it" in text
    fks = evidence(report, FOREIGN_KEYS)
    assert not result(report, FOREIGN_KEYS).ok
    assert "callback_escalations_escalated_to_foreign" in fks  # not reached, still named
    for name in ("Index verification", CASCADE, ROLLBACK, "Re-migration testing"):
        assert not result(report, name).ok and "not run" in evidence(report, name)
    assert result(report, INTEGRITY).ok  # the clone's own data stayed intact
    assert report.dropped and scratch_databases(clean_sandbox) == []
    assert target_fingerprint(clean_sandbox).diff(before) == []


def test_a_ddl_the_server_rejects_fails_migration_execution_with_its_error(
    clean_sandbox: Sandbox, target_before: fingerprint.Fingerprint, tmp_path: Path
) -> None:
    broken = tmp_path / "sql"
    shutil.copytree(Path(str(sql_dir())), broken, ignore=shutil.ignore_patterns("__*"))
    up = broken / "2025_10_01_060203_create_callback_requests_table.up.sql"
    text = up.read_text()
    fixed = "(`customer_id`)"
    assert fixed in text
    up.write_text(text.replace(fixed, "(`customer_id`, `customer_id`)", 1))
    report, _ = suite(clean_sandbox, validation=validate(broken))
    assert not report.ok
    text = evidence(report, MIGRATION)
    assert "create_callback_requests_table: the server refused it: [1060]" in text
    assert "Duplicate column name 'customer_id'" in text
    assert report.dropped and scratch_databases(clean_sandbox) == []
    assert target_fingerprint(clean_sandbox).diff(target_before) == []


def test_a_parent_fk_that_restricts_deletes_fails_the_cascade_test(
    clean_sandbox: Sandbox,
) -> None:
    # Production's own branches -> companies FK without ON DELETE CASCADE: deleting a
    # company can no longer cascade into the Phase 2 tables that hang off its branches.
    admin(
        clean_sandbox,
        "ALTER TABLE branches DROP FOREIGN KEY branches_company_id_foreign",
        "ALTER TABLE branches ADD CONSTRAINT branches_company_id_foreign "
        "FOREIGN KEY (company_id) REFERENCES companies (id)",
    )
    before = target_fingerprint(clean_sandbox)
    report, _ = suite(clean_sandbox)
    failed = [r.name for r in report.results if not r.ok]
    assert failed == [CASCADE]
    text = evidence(report, CASCADE)
    assert "deleting a row of companies was refused: [1451]" in text
    assert "branches_company_id_foreign" in text
    assert scratch_databases(clean_sandbox) == []
    assert target_fingerprint(clean_sandbox).diff(before) == []


# -- the scratch database never survives ------------------------------------------------------


class Interrupt:
    """An emit callback that raises (Ctrl-C, or a driver's own bug) at a chosen event."""

    def __init__(self, kind: str, starts: str, error: type[BaseException]) -> None:
        self.kind, self.starts, self.error = kind, starts, error
        self.scratch: str | None = None
        self.fired = False

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        for line in data.get("evidence") or []:
            found = SCRATCH.search(line)
            if found and self.scratch is None:
                self.scratch = found.group(0)
        text = data.get("name") or data.get("text") or ""
        if not self.fired and kind == self.kind and text.startswith(self.starts):
            self.fired = True
            raise self.error("raised by the test's emit callback")


@pytest.mark.parametrize(
    ("kind", "starts", "error"),
    [
        ("test_start", CLONE, KeyboardInterrupt),  # right after the database was created
        ("output", "deleting a row of", KeyboardInterrupt),  # in a cascade's open transaction
        ("output", "down: dropped", KeyboardInterrupt),  # half way through the rollback
        ("output", "applied ", RuntimeError),  # a driver's bug: raised as is, not a failed test
    ],
)
def test_ctrl_c_or_an_error_in_the_middle_drops_the_scratch_database(
    clean_sandbox: Sandbox,
    target_before: fingerprint.Fingerprint,
    kind: str,
    starts: str,
    error: type[BaseException],
) -> None:
    interrupt = Interrupt(kind, starts, error)
    with pytest.raises(error, match="raised by the test's emit callback"):
        suite(clean_sandbox, emit=interrupt)
    assert interrupt.fired and interrupt.scratch
    assert scratch_databases(clean_sandbox) == []
    assert target_fingerprint(clean_sandbox).diff(target_before) == []
    report, _ = suite(clean_sandbox)  # and the next run works
    assert report.ok, report.as_json()


class CtrlCWhileWaiting(threading.Thread):
    """Holds ``blocker`` (a connection with a metadata lock on the scratch database) until
    the server shows a statement LIKE ``pattern`` waiting for it; then sends a real
    SIGINT to the main thread, and only afterwards releases the lock."""

    def __init__(
        self, sandbox: Sandbox, pattern: str, blocker: pymysql.connections.Connection, release: str
    ) -> None:
        super().__init__(daemon=True)
        self.sandbox, self.pattern, self.blocker, self.release = sandbox, pattern, blocker, release
        self.main = threading.main_thread().ident
        self.sent = False

    def run(self) -> None:
        try:
            with self.sandbox.connect(admin=True, database=None) as watch:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not self.sent:
                    with watch.cursor() as cur:
                        cur.execute(
                            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                            "WHERE INFO LIKE %s AND STATE LIKE '%%metadata lock%%'",
                            [self.pattern],
                        )
                        waiting = cur.fetchone()[0]
                    if waiting:
                        assert self.main is not None
                        signal.pthread_kill(self.main, signal.SIGINT)
                        self.sent = True
                        time.sleep(0.3)  # the statement still waits while Ctrl-C lands
                    time.sleep(0.01)
        finally:
            with self.blocker.cursor() as cur:
                cur.execute(self.release)
            self.blocker.close()


def run_with(sandbox: Sandbox, emit: Callable[[str, dict[str, Any]], None]) -> Events:
    events: Events = []

    def record(kind: str, data: dict[str, Any]) -> None:
        events.append((kind, data))
        emit(kind, data)

    cfg = config_mod.load(sandbox.config_path)
    with pytest.raises(KeyboardInterrupt):
        run_suite(Target(cfg.database), validate(), record)
    return events


def scratch_of(data: dict[str, Any]) -> str:
    found = SCRATCH.search(data["evidence"][0])
    assert found
    return found.group(0)


def test_a_second_ctrl_c_while_dropping_does_not_skip_the_drop(
    clean_sandbox: Sandbox, target_before: fingerprint.Fingerprint
) -> None:
    """The first Ctrl-C comes mid-test; the second while the DROP waits for a lock."""
    state: dict[str, Any] = {}

    def emit(kind: str, data: dict[str, Any]) -> None:
        if kind == "test_end" and data["name"] == CREATE:
            state["scratch"] = scratch_of(data)
        if kind == "output" and data["text"].startswith("deleting a row of") and "t" not in state:
            blocker = clean_sandbox.connect(database=state["scratch"])
            blocker.begin()
            with blocker.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM migrations")  # a metadata lock until rollback
            state["t"] = CtrlCWhileWaiting(clean_sandbox, "DROP DATABASE %", blocker, "ROLLBACK")
            state["t"].start()
            raise KeyboardInterrupt  # the first Ctrl-C

    try:
        events = run_with(clean_sandbox, emit)
    finally:
        if "t" in state:
            state["t"].join(30)
    assert state["t"].sent, "the DROP was never seen waiting"
    texts = [d.get("text") for k, d in events if k == "output"]
    assert f"dropped {state['scratch']}" in texts  # the drop finished before Ctrl-C acted
    assert scratch_databases(clean_sandbox) == []
    assert target_fingerprint(clean_sandbox).diff(target_before) == []


def test_ctrl_c_while_the_server_runs_a_migration_drops_the_scratch_database(
    clean_sandbox: Sandbox, target_before: fingerprint.Fingerprint
) -> None:
    """Ctrl-C lands while the server holds one of the migration test's statements (it
    waits for a lock on the migrations table): the working connection is left mid-reply,
    so the cleanup must end it from a new session before dropping."""
    state: dict[str, Any] = {}

    def emit(kind: str, data: dict[str, Any]) -> None:
        if kind == "test_end" and data["name"] == CREATE:
            state["scratch"] = scratch_of(data)
        if kind == "test_start" and data["name"] == MIGRATION:
            blocker = clean_sandbox.connect(database=state["scratch"])
            with blocker.cursor() as cur:
                cur.execute("LOCK TABLES migrations WRITE")
            state["t"] = CtrlCWhileWaiting(clean_sandbox, "%.migrations%", blocker, "UNLOCK TABLES")
            state["t"].start()

    try:
        events = run_with(clean_sandbox, emit)
    finally:
        if "t" in state:
            state["t"].join(30)
    assert state["t"].sent, "no statement was seen waiting"
    assert [d["name"] for k, d in events if k == "test_end"] == [CREATE, CLONE]
    texts = [d.get("text") for k, d in events if k == "output"]
    assert f"dropped {state['scratch']}" in texts
    assert scratch_databases(clean_sandbox) == []
    assert target_fingerprint(clean_sandbox).diff(target_before) == []


def test_signals_are_held_while_dropping_then_delivered() -> None:
    reached: list[str] = []
    with pytest.raises(KeyboardInterrupt), signals_deferred() as pending:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # without the deferral, KeyboardInterrupt would be raised here
        reached.append("end of block")
        assert pending == [signal.SIGINT]
    assert reached == ["end of block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_leftover_of_a_killed_run_is_dropped_but_one_in_use_is_not(
    clean_sandbox: Sandbox, target_before: fingerprint.Fingerprint
) -> None:
    dead, busy = "runbook_scratch_dead00000000", "runbook_scratch_b05e00000000"
    admin(clean_sandbox, f"CREATE DATABASE {dead}", f"CREATE TABLE {dead}.t (id int)")
    admin(clean_sandbox, f"CREATE DATABASE {busy}")
    holder = clean_sandbox.connect(database=None)  # a live run that owns `busy`
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0)", [f"runbook:scratch:{busy}"])
        report, _ = suite(clean_sandbox)
        assert report.ok, report.as_json()
        assert f"dropped 1 leftover scratch database(s) of interrupted runs: {dead}" in (
            evidence(report, CREATE)
        )
        assert scratch_databases(clean_sandbox) == [busy]
    finally:
        holder.close()
        admin(clean_sandbox, f"DROP DATABASE IF EXISTS {busy}")


def test_scratch_data_of_other_tools_is_never_swept(
    clean_sandbox: Sandbox, target_before: fingerprint.Fingerprint
) -> None:
    """A restore keeps the replaced production tables under the same prefix: not debris."""
    kept = "runbook_scratch_restore_1a2b_prev"
    admin(clean_sandbox, f"CREATE DATABASE {kept}", f"CREATE TABLE {kept}.companies (id int)")
    try:
        report, _ = suite(clean_sandbox)
        assert report.ok, report.as_json()
        assert kept in scratch_databases(clean_sandbox)
    finally:
        admin(clean_sandbox, f"DROP DATABASE IF EXISTS {kept}")


# -- the drivers ---------------------------------------------------------------------------


def run_cli(argv: list[str]) -> int:
    """Through runbook.cli once the lead wires `test-migrations`; the function until then."""
    from runbook import cli

    if "test-migrations" in getattr(cli, "_COMMANDS", {}):
        return cli.main(argv)
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("--config")
    parser.add_argument("--sql-dir", type=Path)
    parser.add_argument("--json", action="store_true")
    return cmd_test_migrations(parser.parse_args(argv))


def test_command_prints_the_nine_results_and_exits_0(
    clean_sandbox: Sandbox,
    target_before: fingerprint.Fingerprint,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = str(clean_sandbox.config_path)
    assert run_cli(["test-migrations", "--config", config]) == 0
    out = capsys.readouterr().out
    for name in flow.NODES["test_suite"].checklist:
        assert name in out
    assert "ALL 9 TESTS PASS ✓" in out
    # journaled like any run: who ran the suite, when, and what it found
    jdir = config_mod.load(clean_sandbox.config_path).journal_dir
    events = journal.read(max(jdir.glob("*_test_*.jsonl"), key=lambda p: p.stat().st_mtime))
    assert events[0]["start"] == "test_suite" and events[0]["operator"]
    assert sum(e["event"] == "test_end" and e["ok"] for e in events) == 9
    assert events[-1]["event"] == "run_end" and events[-1]["outcome"] == "success"
    assert run_cli(["test-migrations", "--config", config, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["dropped"] is True
    assert [t["name"] for t in doc["tests"]] == list(flow.NODES["test_suite"].checklist)
    assert all(t["ok"] and t["evidence"] for t in doc["tests"])


def test_command_exits_1_when_a_test_fails_and_2_on_a_config_error(
    clean_sandbox: Sandbox,
    target_before: fingerprint.Fingerprint,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = tmp_path / "sql"
    shutil.copytree(Path(str(sql_dir())), broken, ignore=shutil.ignore_patterns("__*"))
    up = broken / "2025_10_01_060100_create_notification_configurations_table.up.sql"
    up.write_text(up.read_text().replace("`event_type` varchar(100)", "`event_type` varchar(-1)"))
    config = str(clean_sandbox.config_path)
    code = run_cli(["test-migrations", "--config", config, "--sql-dir", str(broken), "--json"])
    assert code == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["dropped"] is True
    failed = [t["name"] for t in doc["tests"] if not t["ok"]]
    assert failed[0] == MIGRATION

    missing = tmp_path / "nope.toml"
    assert run_cli(["test-migrations", "--config", str(missing)]) == 2
    assert f"{missing}: no such config file" in capsys.readouterr().err


def _context(sandbox: Sandbox, tmp_path: Path, validation: ValidationResult, **opts: Any) -> Any:
    cfg = config_mod.load(sandbox.config_path)
    options = Options(yes=True, **opts)
    jr = journal.Journal.create(tmp_path / "journal", cfg.database.database, "test")
    seen: list[Event] = []
    ctx = Context(
        cfg,
        Target(cfg.database, dry_run=options.dry_run),
        jr,
        SafeDefaultPrompter(),
        options,
        seen.append,
    )
    ctx.state["validation"] = validation
    ctx.current = "test_suite"
    return ctx, seen


def test_flow_step_passes_or_hands_the_failures_to_the_decision(
    clean_sandbox: Sandbox, target_before: fingerprint.Fingerprint, tmp_path: Path
) -> None:
    ctx, seen = _context(clean_sandbox, tmp_path, validate())
    done = step_test_suite(ctx)
    assert done.ok and "all 9 tests passed" in done.summary
    kinds = [e.kind for e in seen]
    assert kinds.count("test_start") == kinds.count("test_end") == 9
    ctx.journal.close()
    journaled = [e for e in journal.read(ctx.journal.path) if e["event"] == "test_end"]
    assert len(journaled) == 9 and all(e["node"] == "test_suite" for e in journaled)

    break_parent_collation(clean_sandbox)
    ctx, _ = _context(clean_sandbox, tmp_path, validate())
    failed = step_test_suite(ctx)
    ctx.journal.close()
    assert not failed.ok and failed.summary == "6 of 9 tests failed"
    assert any(
        line.startswith(f"{MIGRATION}: ") and "callback_requests_staff_id_foreign" in line
        for line in failed.evidence
    )


def test_flow_step_in_dry_run_creates_nothing(
    clean_sandbox: Sandbox, target_before: fingerprint.Fingerprint, tmp_path: Path
) -> None:
    ctx, seen = _context(clean_sandbox, tmp_path, validate(), dry_run=True)
    done = step_test_suite(ctx)
    ctx.journal.close()
    assert done.ok and done.skipped
    assert [e.kind for e in seen] == ["would"]


def test_sample_rows_are_copied_exactly_whatever_the_server_time_zone(
    clean_sandbox: Sandbox, target_before: fingerprint.Fingerprint
) -> None:
    # A server (or my.cnf) away from UTC: every new session starts in +05:00.
    with clean_sandbox.connect(admin=True, database=None) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.time_zone")
        zone = cur.fetchone()[0]
        cur.execute("SET GLOBAL time_zone = '+05:00'")
    try:
        report, _ = suite(clean_sandbox)
    finally:
        with clean_sandbox.connect(admin=True, database=None) as conn, conn.cursor() as cur:
            cur.execute("SET GLOBAL time_zone = %s", [zone])
    assert report.ok, report.as_json()
    assert "read back identical" in evidence(report, CLONE)


def test_failed_tests_stop_the_deployment_before_it_touches_anything(
    clean_sandbox: Sandbox, cfg_path: Path
) -> None:
    from runbook.commands import run_deploy

    break_parent_collation(clean_sandbox)
    before = target_fingerprint(clean_sandbox)
    cfg = config_mod.load(cfg_path)
    outcome, _ = run_deploy(
        cfg, Options(yes=True), SafeDefaultPrompter(), lambda e: None, start="test_suite"
    )
    assert outcome.outcome == "stopped" and outcome.exit_code == 1
    assert outcome.visited[:3] == ["test_suite", "tests_failed", "stopped"]
    assert "preflight" not in outcome.visited and "backup" not in outcome.visited
    events = journal.read(sorted((cfg_path.parent / "journal").glob("*.jsonl"))[-1])
    decision = next(e for e in events if e["event"] == "decision")
    assert decision["question"] == "tests_failed" and decision["answer"] == "stop"
    assert any("callback_requests_staff_id_foreign" in line for line in decision["evidence"])
    assert list((cfg_path.parent / "backups").iterdir()) == []
    assert scratch_databases(clean_sandbox) == []
    assert target_fingerprint(clean_sandbox).diff(before) == []


def test_the_suite_alone_ends_where_the_deployment_would_begin(
    clean_sandbox: Sandbox, cfg_path: Path
) -> None:
    """What the guided runbook's "Test migrations" walks: the flow's own step and decision,
    then the run ends before the pre-deployment checks, with nothing notified or archived."""
    from runbook import runs

    before = target_fingerprint(clean_sandbox)
    cfg = config_mod.load(cfg_path)
    ctx = runs.new_context(cfg, Options(), SafeDefaultPrompter(), lambda e: None, "test")
    outcome = runs.walk(ctx, "test_suite", only={"test_suite"}, until="preflight")
    assert outcome.outcome == "success" and outcome.exit_code == 0
    assert outcome.visited == ["test_suite", "tests_failed"]
    events = journal.read(ctx.journal.path)
    assert [e["event"] for e in events if e["event"].startswith("run_")] == ["run_start", "run_end"]
    assert "pre-deployment checks would come next" in events[-1]["title"]
    assert not {"preflight", "notify", "archive"} & {e.get("node") for e in events}
    assert target_fingerprint(clean_sandbox).diff(before) == []

    break_parent_collation(clean_sandbox)
    ctx = runs.new_context(cfg, Options(), SafeDefaultPrompter(), lambda e: None, "test")
    failed = runs.walk(ctx, "test_suite", only={"test_suite"}, until="preflight")
    assert failed.outcome == "stopped" and failed.exit_code == 1
    assert failed.visited == ["test_suite", "tests_failed", "stopped"]
    assert scratch_databases(clean_sandbox) == []
