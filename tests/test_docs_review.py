"""The documentation review as the walk's first step: the ticks a screen collected are
journaled with who and when; an incomplete review, a "stop" and ``--yes`` all stop the
deployment before anything is touched. No database: the step reads only the shipped docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook import docs, flow, journal, runs
from runbook.config import Config, DatabaseConfig
from runbook.engine import Event, Options
from runbook.prompter import Question, SafeDefaultPrompter


class Answering:
    """A person who answers every question with ``key`` (and records what was asked)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.asked: list[Question] = []

    def ask(self, question: Question) -> str:
        self.asked.append(question)
        return self.key

    def ask_text(self, question: Question) -> str:
        return question.safe


def walk_docs(tmp_path: Path, prompter: Any, extra: dict[str, Any] | None = None) -> Any:
    """Only the review runs: the rest of the walk is "not part of this command"."""
    cfg = Config(path=None, database=DatabaseConfig(host="db1"), journal_dir=tmp_path / "j")
    seen: list[Event] = []
    ctx = runs.new_context(cfg, Options(), prompter, seen.append, "deploy")
    outcome = runs.walk(ctx, "docs", only={"docs"}, extra=extra)
    return outcome, journal.read(ctx.journal.path)


def step_end(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in events if e["event"] == "step_end" and e["node"] == "docs")


def test_the_items_are_the_seeds_three_then_the_checklists_boxes() -> None:
    items = docs.tick_items()
    node = flow.NODES["docs"]
    assert isinstance(node, flow.Step)
    assert items[:3] == list(node.checklist)
    assert len(items) > 3 and all("[" not in i and "*" not in i for i in items)
    for _id, _title, name in docs.DOCUMENTS:
        assert docs.read_doc(name).startswith("#")


def test_ticks_from_a_screen_are_journaled_with_who_and_when(tmp_path: Path) -> None:
    items = docs.tick_items()
    prompter = Answering("stop")
    outcome, events = walk_docs(
        tmp_path, prompter, {"docs_reviewed": items, "docs_review_s": 312.4}
    )
    assert prompter.asked == []  # the screen asked already
    review = next(e for e in events if e["event"] == "docs_review")
    assert review["node"] == "docs" and review["items"] == items
    assert review["total"] == len(items) and review["seconds"] == 312.4
    assert review["operator"] and review["ts"]
    end = step_end(events)
    assert end["ok"] and "5:12" in end["summary"]
    assert outcome.visited[:2] == ["docs", "test_suite"]


def test_an_incomplete_review_stops_before_anything_is_touched(tmp_path: Path) -> None:
    items = docs.tick_items()
    outcome, events = walk_docs(tmp_path, Answering("reviewed"), {"docs_reviewed": items[:-2]})
    assert outcome.outcome == "stopped" and outcome.exit_code == 1
    assert outcome.visited == ["docs", "stopped"]
    end = step_end(events)
    assert not end["ok"] and "2 of" in end["summary"]
    assert end["evidence"] == [f"not ticked: {item}" for item in items[-2:]]


def test_without_a_screen_the_prompter_is_asked_and_names_the_documents(tmp_path: Path) -> None:
    prompter = Answering("reviewed")
    outcome, events = walk_docs(tmp_path, prompter)
    (asked,) = prompter.asked
    assert asked.safe == "stop" and asked.options[0].key == "stop"  # the safe answer first
    assert any("deployment-plan.md" in line for line in asked.evidence)
    assert step_end(events)["ok"]
    decision = next(e for e in events if e["event"] == "decision")
    assert decision["question"] == "docs_reviewed" and decision["answer"] == "reviewed"
    assert outcome.visited[:2] == ["docs", "test_suite"]


def test_yes_never_claims_a_person_read_the_plan(tmp_path: Path) -> None:
    outcome, events = walk_docs(tmp_path, SafeDefaultPrompter())
    assert outcome.outcome == "stopped" and outcome.exit_code == 1
    decision = next(e for e in events if e["event"] == "decision")
    assert decision["answer"] == "stop"
    assert not step_end(events)["ok"]
