"""The flow graph, the journal and the prompters: the engine's plain parts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runbook import flow, journal
from runbook.prompter import (
    NeedsOperator,
    Option,
    Question,
    RefusingPrompter,
    SafeDefaultPrompter,
)
from runbook.secret import MASK, Secret


def test_every_edge_of_the_flow_points_at_a_node() -> None:
    assert flow.check_graph() == []


def test_the_happy_path_follows_the_seed() -> None:
    assert flow.path_from("preflight") == [
        "preflight", "lock", "backup", "maintenance", "cache", "migrate",
        "migration_failed", "verify", "verification_failed", "restore", "deployed",
    ]


def test_failure_branches_follow_the_seed() -> None:
    # "Migration failed? YES -> AUTO ROLLBACK", then the app comes back, then exit 1
    assert flow.path_from("migrate", {"migration_failed": "yes"})[-4:] == [
        "migration_failed", "auto_rollback", "restore_after_failure", "failed",
    ]
    # "Tests failed? YES -> STOP DEPLOYMENT"
    assert flow.path_from("test_suite", {"tests_failed": "stop"}) == [
        "test_suite", "tests_failed", "stopped",
    ]
    # "Verification failed?" keep -> exit 4 after bringing the app up
    assert flow.path_from("verify", {"verification_failed": "keep"})[-2:] == [
        "keep_unverified", "needs_person",
    ]


def test_decisions_offer_the_safe_answer_and_it_is_a_branch() -> None:
    decisions = [n for n in flow.NODES.values() if isinstance(n, flow.Decision)]
    assert {d.id for d in decisions} >= {"tests_failed", "migration_failed", "verification_failed"}
    for d in decisions:
        assert d.safe in d.branches


def test_journal_events_carry_who_where_when_and_are_fsynced_lines(tmp_path: Path) -> None:
    jr = journal.Journal.create(tmp_path / "j", "askproai_db", "deploy")
    jr.write(journal.RUN_START, start="preflight")
    jr.write("step_start", node="backup")
    assert oct(jr.path.stat().st_mode & 0o777) == "0o600"
    events = journal.read(jr.path)
    assert [e["event"] for e in events] == [journal.RUN_START, "step_start"]
    for e in events:
        assert {"ts", "run", "operator", "host", "event"} <= set(e)
        assert e["run"] == jr.run_id
    assert journal.unfinished_deploy(tmp_path / "j", "askproai_db") is not None
    jr.write(journal.RUN_END, outcome="success")
    jr.close()
    assert journal.unfinished_deploy(tmp_path / "j", "askproai_db") is None


def test_a_torn_last_line_is_ignored_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "askproai_db_deploy_x.jsonl"
    good = json.dumps({"event": "run_start", "run": "x", "ts": "t"})
    path.write_text(good + "\n" + '{"event": "step_st')
    assert [e["event"] for e in journal.read(path)] == ["run_start"]
    found = journal.unfinished_deploy(tmp_path, "askproai_db")
    assert found is not None and found.path == path


def test_operator_is_the_human_behind_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "alice")
    assert journal.operator_name() == "alice"
    monkeypatch.delenv("SUDO_USER")
    assert journal.operator_name() == os.environ.get("USER", journal.operator_name())


def test_journal_dir_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(journal.JournalError, match="cannot create the journal directory"):
        journal.Journal.create(blocker / "j", "db", "deploy")


QUESTION = Question(
    "verification_failed",
    "Verification failed?",
    (Option("rollback", "Roll back"), Option("keep", "Keep")),
    safe="rollback",
    evidence=("table x missing",),
)


def test_yes_takes_the_safe_answer() -> None:
    assert SafeDefaultPrompter().ask(QUESTION) == "rollback"


def test_no_terminal_and_no_yes_refuses_and_says_what_it_would_ask() -> None:
    with pytest.raises(NeedsOperator) as err:
        RefusingPrompter().ask(QUESTION)
    assert "Verification failed?" in str(err.value)
    assert "--yes" in str(err.value) and "rollback" in str(err.value)


def test_secret_never_prints() -> None:
    s = Secret("hunter2")
    assert "hunter2" not in f"{s} {s!r} {[s]} {json.dumps(str(s))}"
    assert s.mask("Access denied for hunter2") == f"Access denied for {MASK}"
    assert s.reveal() == "hunter2"
