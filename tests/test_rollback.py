"""The rollback procedure against the real sandbox: Option A, Option B, and every refusal.

Every test deploys for real first (the deployment's own backup and journal), then
rolls back from a fresh context, as an incident responder on another machine
would: only the config and the backup file. Each ends by proving the database is
exactly the expected state (fingerprints with CHECKSUM) and the app answers 200.
"""

from __future__ import annotations

import argparse
import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import SIX, app_answers_200, snapshot, tables

from runbook import config as config_mod
from runbook import fingerprint, journal, restore, rollback
from runbook.cli import main
from runbook.db import Target
from runbook.engine import Event, Options
from runbook.prompter import SafeDefaultPrompter
from runbook.sandbox import Sandbox


def sql(sandbox: Sandbox, *statements: str, admin: bool = False) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    with sandbox.connect(admin=admin) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
            rows = list(cur.fetchall())
    return rows


def scratch_schemas(sandbox: Sandbox) -> list[str]:
    rows = sql(
        sandbox,
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
        "WHERE SCHEMA_NAME LIKE 'runbook\\_scratch\\_%'",
        admin=True,
    )
    return [r[0] for r in rows]


def assert_refused_cleanly(
    cfg_path: Path, sandbox: Sandbox, before: fingerprint.Fingerprint
) -> None:
    """A refusal touched nothing: the target as before, no scratch schema, the app up."""
    assert snapshot(cfg_path).diff(before) == []
    assert scratch_schemas(sandbox) == []
    assert app_answers_200(cfg_path)


def deploy(cfg_path: Path) -> Path:
    """A real deployment; returns its backup."""
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 0
    (backup,) = (cfg_path.parent / "backups").glob("askproai_db_pre_*.sql.gz")
    return backup


def run(
    cfg_path: Path,
    *,
    migrations: bool = False,
    restore_file: Path | None = None,
    yes: bool = True,
) -> int:
    """`runbook rollback` as the CLI calls it (cmd_rollback with its Namespace)."""
    args = argparse.Namespace(
        command="rollback",
        config=str(cfg_path),
        migrations=migrations,
        restore=restore_file,
        yes=yes,
        sql_dir=None,
    )
    return rollback.cmd_rollback(args)


def last_run(cfg_path: Path) -> list[dict[str, Any]]:
    paths = sorted((cfg_path.parent / "journal").glob("*_rollback_*.jsonl"))
    return journal.read(paths[-1])


def in_process(
    cfg_path: Path, sink: Callable[[Event], None], option: str, restore_file: Path | None = None
) -> tuple[int, Any]:
    cfg = config_mod.load(cfg_path)
    ctx = rollback.rollback_context(
        cfg, Options(yes=True), SafeDefaultPrompter(), sink, restore_file=restore_file
    )
    outcome = rollback.walk_rollback(ctx, option)
    return rollback.exit_code(outcome), ctx


def rewrite(src: Path, dst: Path, edit: Callable[[bytes], bytes] = lambda b: b) -> Path:
    dst.write_bytes(gzip.compress(edit(gzip.decompress(src.read_bytes())), compresslevel=9))
    dst.chmod(0o600)
    return dst


def add_after_backup(sandbox: Sandbox) -> None:
    """What production does after the backup: a new tenant, callbacks, a new table."""
    sql(
        sandbox,
        "INSERT INTO companies (name, slug, created_at) VALUES ('Neu GmbH', 'neu-gmbh', NOW())",
        "INSERT INTO callback_requests (company_id, branch_id, phone_number, customer_name, "
        "expires_at, created_at) SELECT company_id, id, '+49 30 1234567', 'Jürgen Groß', "
        "NOW() + INTERVAL 1 DAY, NOW() FROM branches ORDER BY id LIMIT 3",
        "CREATE TABLE audit_notes (id bigint unsigned PRIMARY KEY, company_id bigint unsigned "
        "NOT NULL, CONSTRAINT audit_notes_company FOREIGN KEY (company_id) REFERENCES "
        "companies (id))",
        "INSERT INTO audit_notes VALUES (1, 1)",
    )


# -- Option A ---------------------------------------------------------------------------


def test_option_a_returns_to_the_pre_deployment_fingerprint(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(cfg_path)
    deploy(cfg_path)
    sql(
        clean_sandbox,
        "INSERT INTO notification_configurations (company_id, configurable_type, "
        "configurable_id, event_type, channel, created_at) "
        "VALUES (1, 'company', '1', 'booking', 'email', NOW())",
    )
    clean_sandbox.artisan("down", "--retry=60")  # left down by whoever saw the incident
    capsys.readouterr()
    assert run(cfg_path, migrations=True) == 0
    out = capsys.readouterr().out
    assert "notification_configurations: 1 rows lost" in out
    assert "outcome: rolled back (exit 0)" in out
    assert snapshot(cfg_path).diff(before) == []
    assert app_answers_200(cfg_path)
    events = last_run(cfg_path)
    undone = [e["table"] for e in events if e["event"] == "statement" and e.get("undo")]
    assert undone == list(reversed(SIX)), "newest first"
    (post,) = [e for e in events if e["event"] == "post_rollback"]
    assert post["option"] == "A" and post["app_ok"] and post["note"] == "(none given)"
    assert "runbook deploy" in post["redeploy"]
    assert events[-1]["event"] == "run_end" and events[-1]["outcome"] == "rolled_back"
    # a second run finds nothing to do, and says so
    assert run(cfg_path, migrations=True) == 0
    assert "nothing to roll back" in capsys.readouterr().out


def test_option_a_refuses_when_another_table_references_the_six(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(cfg_path)
    sql(
        clean_sandbox,
        "CREATE TABLE callback_notes (id bigint unsigned PRIMARY KEY, callback_id bigint "
        "unsigned, CONSTRAINT callback_notes_cb FOREIGN KEY (callback_id) REFERENCES "
        "callback_requests (id))",
        "CREATE VIEW open_callbacks AS SELECT id FROM callback_escalations",
    )
    before = snapshot(cfg_path)
    capsys.readouterr()
    assert run(cfg_path, migrations=True) == 1
    out = capsys.readouterr().out
    assert "callback_notes references callback_requests (foreign key callback_notes_cb)" in out
    assert "view open_callbacks uses callback_escalations" in out
    assert snapshot(cfg_path).diff(before) == []
    assert last_run(cfg_path)[-1]["outcome"] == "failed"


def test_option_a_refuses_a_later_migration_and_a_partial_record(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(cfg_path)
    sql(
        clean_sandbox,
        "INSERT INTO migrations (migration, batch) VALUES ('2025_11_02_090000_add_x_table', 5)",
    )
    before = snapshot(cfg_path)
    capsys.readouterr()
    assert run(cfg_path, migrations=True) == 1
    assert "2025_11_02_090000_add_x_table (batch 5)" in capsys.readouterr().out
    assert snapshot(cfg_path).diff(before) == []

    sql(
        clean_sandbox,
        "DELETE FROM migrations WHERE migration LIKE '2025_11_02%' "
        "OR migration LIKE '%create_callback_escalations_table'",
    )
    before = snapshot(cfg_path)
    assert run(cfg_path, migrations=True) == 1
    out = capsys.readouterr().out
    assert "partly recorded: 5 of 6" in out and "callback_escalations_table" in out
    assert snapshot(cfg_path).diff(before) == []


def test_without_yes_and_without_a_tty_nothing_is_touched(
    cfg_path: Path,
    clean_sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backup = deploy(cfg_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # cron, CI: no terminal
    before = snapshot(cfg_path)
    capsys.readouterr()
    assert run(cfg_path, migrations=True, yes=False) == 1
    err = capsys.readouterr().err
    assert "this needs an answer: Drop the 6 Phase 2 tables" in err and "--yes" in err
    assert run(cfg_path, restore_file=backup, yes=False) == 1
    assert "this needs an answer: Restore" in capsys.readouterr().err
    assert_refused_cleanly(cfg_path, clean_sandbox, before)


def test_lock_held_by_another_session_exits_3(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = deploy(cfg_path)
    before = snapshot(cfg_path)
    with clean_sandbox.connect() as holder, holder.cursor() as cur:
        cur.execute("SELECT GET_LOCK('runbook:askproai_db', 0)")
        assert run(cfg_path, migrations=True) == 3
        assert run(cfg_path, restore_file=backup) == 3
    assert "another run holds the deployment lock" in capsys.readouterr().out
    assert snapshot(cfg_path).diff(before) == []


# -- Option B ---------------------------------------------------------------------------


def test_option_b_restores_exactly_the_backup(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(cfg_path)
    backup = deploy(cfg_path)
    add_after_backup(clean_sandbox)
    capsys.readouterr()
    assert run(cfg_path, restore_file=backup) == 0
    out = capsys.readouterr().out
    assert "audit_notes: 1 rows now; not in the backup: DROPPED" in out
    assert "companies: 6 rows now -> 5 in the backup (-1)" in out
    assert "callback_requests: 3 rows now; not in the backup: DROPPED" in out
    assert "sha256 matches the one recorded" in out
    # the backup was the pre-deployment state: everything after it is gone
    assert snapshot(cfg_path).diff(before) == []
    assert "audit_notes" not in tables(clean_sandbox)
    assert sql(clean_sandbox, "SELECT COUNT(*) FROM companies WHERE slug = 'neu-gmbh'") == [(0,)]
    assert scratch_schemas(clean_sandbox) == []
    assert app_answers_200(cfg_path)
    events = last_run(cfg_path)
    assert [e["on"] for e in events if e["event"] == "maintenance"] == [True, False]
    (verified,) = [e for e in events if e["event"] == "restore_verified"]
    assert "CHECKSUM equals the backup's" in verified["proof"]
    (post,) = [e for e in events if e["event"] == "post_rollback"]
    assert post["option"] == "B" and post["app_ok"]


def test_damaged_or_foreign_backups_are_refused_untouched(
    cfg_path: Path, clean_sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = deploy(cfg_path)
    add_after_backup(clean_sandbox)
    before = snapshot(cfg_path)
    data = backup.read_bytes()
    cut = tmp_path / "askproai_db_pre_cut.sql.gz"
    cut.write_bytes(data[: len(data) // 2])
    other = rewrite(
        backup,
        tmp_path / "other_db_pre.sql.gz",
        lambda b: b.replace(b"Database: askproai_db", b"Database: billing_db", 1),
    )
    switching = rewrite(
        backup,
        tmp_path / "askproai_db_pre_use.sql.gz",
        lambda b: b.replace(b"\nDROP TABLE IF EXISTS `companies`;", b"\nUSE `billing_db`;", 1),
    )
    capsys.readouterr()
    assert run(cfg_path, restore_file=cut) == 1
    assert "truncated" in capsys.readouterr().out
    assert run(cfg_path, restore_file=other) == 1
    assert "is a backup of database 'billing_db', not of 'askproai_db'" in capsys.readouterr().out
    assert run(cfg_path, restore_file=switching) == 1
    out = capsys.readouterr().out
    assert "USE `billing_db`;" in out and "never switches database" in out
    assert_refused_cleanly(cfg_path, clean_sandbox, before)


def test_a_backup_whose_sha256_differs_from_the_journal_is_refused(
    cfg_path: Path, clean_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = deploy(cfg_path)
    # same dump, valid gzip, other bytes: only the journal's sha256 can tell
    rewrite(backup, backup)
    before = snapshot(cfg_path)
    capsys.readouterr()
    assert run(cfg_path, restore_file=backup) == 1
    out = capsys.readouterr().out
    assert "recorded when the backup was verified: the file changed since" in out
    assert snapshot(cfg_path).diff(before) == []
    (choice,) = rollback.list_backups(config_mod.load(cfg_path))
    assert choice.verified and choice.sha256 is not None
    assert choice.sha256 != restore.backup.inspect(backup).sha256


def test_ctrl_c_while_loading_leaves_the_database_untouched(
    cfg_path: Path, clean_sandbox: Sandbox
) -> None:
    backup = deploy(cfg_path)
    add_after_backup(clean_sandbox)
    before = snapshot(cfg_path)
    seen = {"loading": False}

    def interrupt(event: Event) -> None:
        if event.kind == "output" and "loading the backup into" in event.data["text"]:
            seen["loading"] = True
        elif event.kind == "progress" and seen["loading"]:
            raise KeyboardInterrupt

    code, ctx = in_process(cfg_path, interrupt, "B", backup)
    assert code == 1
    assert "was not touched" in ctx.state["rollback_state"]
    assert_refused_cleanly(cfg_path, clean_sandbox, before)
    events = last_run(cfg_path)
    assert [e["state"] for e in events if e["event"] == "restore_state"] == ["untouched"]
    assert events[-1]["event"] == "run_end" and events[-1]["exit_code"] == 1


def test_ctrl_c_after_the_swap_exits_4_and_keeps_the_replaced_tables(
    cfg_path: Path, clean_sandbox: Sandbox
) -> None:
    before = snapshot(cfg_path)
    backup = deploy(cfg_path)
    add_after_backup(clean_sandbox)

    def interrupt(event: Event) -> None:
        if event.kind == "output" and event.data["text"].startswith("swapped:"):
            raise KeyboardInterrupt

    code, ctx = in_process(cfg_path, interrupt, "B", backup)
    assert code == 4
    state = ctx.state["rollback_state"]
    assert "holds the backup's tables (the swap completed) but was not verified" in state
    (kept,) = scratch_schemas(clean_sandbox)
    assert kept.endswith("_prev") and kept in state
    assert ("audit_notes",) in sql(clean_sandbox, f"SHOW TABLES FROM `{kept}`")
    # the swap is one statement: the target is wholly the backup, nothing half way
    assert snapshot(cfg_path).diff(before) == []
    assert app_answers_200(cfg_path)
    assert last_run(cfg_path)[-1]["outcome"] == "needs_person"


def test_in_place_restore_ctrl_c_exits_4_then_a_rerun_finishes(
    cfg_path: Path, clean_sandbox: Sandbox
) -> None:
    """A trigger cannot be moved by RENAME TABLE: the restore goes in place, where an
    interruption is the one case that leaves the database neither before nor after."""
    before = snapshot(cfg_path)
    backup = deploy(cfg_path)
    add_after_backup(clean_sandbox)
    sql(
        clean_sandbox,
        "CREATE TRIGGER companies_touch BEFORE UPDATE ON companies FOR EACH ROW "
        "SET NEW.updated_at = NOW()",
        "CREATE PROCEDURE open_callbacks() SELECT COUNT(*) FROM callback_requests",
    )
    seen = {"in_place": False, "maintenance": False}

    def interrupt(event: Event) -> None:
        if event.kind == "output" and "restoring in place" in event.data["text"]:
            seen["in_place"] = True
        if event.kind == "maintenance" and event.data["on"]:
            seen["maintenance"] = True
        elif event.kind == "progress" and seen["maintenance"]:
            raise KeyboardInterrupt

    code, ctx = in_process(cfg_path, interrupt, "B", backup)
    assert seen["in_place"]
    assert code == 4
    assert "HALF RESTORED" in ctx.state["rollback_state"]
    assert f"rollback --restore {backup}" in ctx.state["rollback_state"]
    assert app_answers_200(cfg_path), "out of maintenance mode whatever happened"
    events = last_run(cfg_path)
    assert [e["state"] for e in events if e["event"] == "restore_state"] == ["half_restored"]
    assert events[-1]["outcome"] == "needs_person"

    assert run(cfg_path, restore_file=backup) == 0
    assert snapshot(cfg_path).diff(before) == []
    assert sql(clean_sandbox, "SHOW TRIGGERS") == []
    assert sql(clean_sandbox, "SHOW PROCEDURE STATUS WHERE Db = 'askproai_db'") == []
    assert scratch_schemas(clean_sandbox) == []


@pytest.fixture
def no_scratch_grant(clean_sandbox: Sandbox) -> Iterator[None]:
    grants = [
        f"ALL PRIVILEGES ON `runbook\\_scratch\\_%`.* TO 'askproai_user'@'{host}'"
        for host in ("127.0.0.1", "localhost")
    ]
    sql(clean_sandbox, *(f"REVOKE {g.replace(' TO ', ' FROM ')}" for g in grants), admin=True)
    try:
        yield
    finally:
        sql(clean_sandbox, *(f"GRANT {g}" for g in grants), admin=True)


def test_without_scratch_privilege_the_restore_goes_in_place_and_is_exact(
    cfg_path: Path,
    clean_sandbox: Sandbox,
    no_scratch_grant: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = snapshot(cfg_path)
    backup = deploy(cfg_path)
    add_after_backup(clean_sandbox)
    capsys.readouterr()
    assert run(cfg_path, restore_file=backup) == 0
    out = capsys.readouterr().out
    assert "no privilege to create a scratch schema" in out
    assert "dropping what the backup does not hold" in out and "audit_notes" in out
    assert snapshot(cfg_path).diff(before) == []
    assert app_answers_200(cfg_path)


# -- the API the TUI uses, and the command line -----------------------------------------


def test_plans_side_by_side_and_the_backup_picker(
    cfg_path: Path, clean_sandbox: Sandbox, tmp_path: Path
) -> None:
    backup = deploy(cfg_path)
    cfg = config_mod.load(cfg_path)
    copied = cfg.backup_dir / "askproai_db_pre_by_hand.sql.gz"
    copied.write_bytes(backup.read_bytes())
    choices = {c.path.name: c for c in rollback.list_backups(cfg)}
    assert choices[backup.name].verified and choices[backup.name].sha256
    assert not choices[copied.name].verified and choices[copied.name].sha256 is None
    from runbook.validator import validate

    s = Target(cfg.database).connect()
    try:
        a = rollback.plan_option_a(s, "askproai_db", validate())
        b = rollback.plan_option_b(s, "askproai_db", backup, journal_dir=cfg.journal_dir)
    finally:
        s.close()
    assert a.refusals == [] and a.drop_order == list(reversed(SIX)) and a.batch is not None
    assert b.ok and b.recorded_sha256 == choices[backup.name].sha256
    assert set(b.dropped) == set(SIX)
    assert b.rows_lost is None  # exact only once the backup is loaded beside the target


def test_command_line(cfg_path: Path, clean_sandbox: Sandbox, tmp_path: Path) -> None:
    assert main(["rollback", "--config", str(cfg_path), "--migrations", "--yes"]) == 0
    assert run(cfg_path, migrations=True, restore_file=tmp_path / "x.sql.gz") == 2
    assert run(cfg_path, restore_file=tmp_path / "missing.sql.gz") == 2
    assert main(["rollback", "--config", str(cfg_path)]) == 2


@pytest.mark.parametrize("chunk", [7, 1000, 1 << 16])
def test_the_stream_check_finds_a_statement_wherever_a_piece_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """No database: the scanner alone. Pieces end anywhere, even inside a keyword."""
    monkeypatch.setattr(restore, "CHUNK", chunk)
    head = b"-- Host: x    Database: askproai_db\nCREATE TABLE `t` (\n  `id` int\n);\n"
    values = b",".join(b"(%d,'use %d')" % (i, i) for i in range(3000))
    body = head + b"INSERT INTO `t` VALUES " + values + b";\n"
    tail = b"INSERT INTO `t` VALUES (1,'x');\n-- Dump completed on x\n"
    clean = tmp_path / "clean.sql.gz"
    clean.write_bytes(gzip.compress(body + tail))
    sent = bytearray()
    done = restore.stream(clean, sent.extend, total=None, progress=None)
    assert bytes(sent) == body + tail and done.tables == ["t"]
    for bad in (b"USE `billing_db`;\n", b"\\! rm -rf /tmp/x\n", b"CREATE DATABASE x;\n"):
        doctored = tmp_path / "bad.sql.gz"
        doctored.write_bytes(gzip.compress(body + bad + tail))
        sent = bytearray()
        with pytest.raises(restore.RestoreError, match=r"line 6: .* never switches database"):
            restore.stream(doctored, sent.extend, total=None, progress=None)
        assert bad.strip() not in bytes(sent), "not one byte of it reaches the client"
