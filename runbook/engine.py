"""The walker: runs the flow's nodes in order, asks at each branch, and guarantees the exits.

Whatever ends a run (a failed step, an exception, Ctrl-C, SIGTERM, a lost SSH
session), the walker leaves the target either verified or as it was before,
and the application out of maintenance mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runbook import exitcodes, flow
from runbook.config import Config
from runbook.db import Target
from runbook.journal import RUN_END, RUN_START, Journal
from runbook.prompter import Option, Prompter, Question
from runbook.signals import Interrupted, Signals


class StepFailed(Exception):
    """A step could not do its work; ``evidence`` is shown at the decision that follows."""

    def __init__(
        self, message: str, evidence: list[str] | None = None, exit_code: int | None = None
    ):
        super().__init__(message)
        self.evidence = evidence or []
        self.exit_code = exit_code


@dataclass
class Event:
    kind: str  # step_start | step_end | output | progress | statement | decision | run_end | would
    node: str | None
    data: dict[str, Any]


@dataclass
class Options:
    dry_run: bool = False
    no_maintenance: bool = False
    skip_backup: bool = False
    yes: bool = False
    resume: bool = False


@dataclass
class StepResult:
    ok: bool
    summary: str = ""
    evidence: list[str] = field(default_factory=list)
    skipped: bool = False
    exit_code: int | None = None
    goto: str | None = None  # skip to this node: the rest is moot (already applied, refused)
    # The answer the step's evidence points to, used as the safe answer of the decision
    # that follows (e.g. the monitor's severity: minor -> continue, major -> rollback).
    suggest: str | None = None


@dataclass
class Context:
    """What every step can see. ``state`` holds what the run has learned and done so far."""

    config: Config
    target: Target
    journal: Journal
    prompter: Prompter
    options: Options
    sink: Callable[[Event], None]
    state: dict[str, Any] = field(default_factory=dict)
    current: str | None = None

    @property
    def dry_run(self) -> bool:
        return self.options.dry_run

    def emit(self, kind: str, **data: Any) -> None:
        journaled = {k: v for k, v in data.items() if not k.startswith("_")}
        self.journal.write(kind, node=self.current, **journaled)
        self.sink(Event(kind, self.current, data))

    def output(self, text: str, level: str = "info") -> None:
        self.emit("output", text=text, level=level)

    def progress(self, done: float, total: float | None, unit: str = "") -> None:
        # Progress is rendered, not journaled: it would drown the journal in noise.
        self.sink(Event("progress", self.current, {"done": done, "total": total, "unit": unit}))

    def would(self, action: str, detail: str = "") -> None:
        """Dry-run: say what would be written instead of writing it."""
        self.emit("would", action=action, detail=detail)

    def ask(self, question: Question) -> str:
        answer = self.prompter.ask(question)
        self.emit(
            "decision",
            question=question.id,
            text=question.text,
            answer=answer,
            safe=question.safe,
            evidence=list(question.evidence),
        )
        return answer


StepAction = Callable[[Context], StepResult]

# Node ids whose success means the decision after them takes this branch.
_SUCCESS_BRANCH = {
    "tests_failed": "proceed",
    "migration_failed": "no",
    "verification_failed": "no",
    "issues_detected": "none",
    "checkpoint_failed": "no",
}

_OUTCOME_EXIT = {
    "success": exitcodes.OK,
    "stopped": exitcodes.FAILED,
    "failed": exitcodes.FAILED,
    "rolled_back": exitcodes.FAILED,
    "needs_person": exitcodes.NEEDS_PERSON,
}


@dataclass
class RunOutcome:
    outcome: str
    exit_code: int
    visited: list[str]
    results: dict[str, StepResult]
    durations: dict[str, float]


class Walker:
    def __init__(
        self,
        ctx: Context,
        actions: dict[str, StepAction],
        *,
        on_abort: Callable[[Context, str], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.actions = actions
        self.on_abort = on_abort

    def walk(self, start: str, until: str | None = None) -> RunOutcome:
        """Walk from ``start`` to an end; reaching ``until`` ends the walk as a success
        (the test suite on its own ends where the deployment would begin)."""
        ctx = self.ctx
        visited: list[str] = []
        results: dict[str, StepResult] = {}
        durations: dict[str, float] = ctx.state.setdefault("durations", {})
        last: StepResult | None = None
        exit_override: int | None = None
        node_id: str | None = start
        ctx.emit(
            RUN_START,
            start=start,
            target=ctx.config.database.where,
            dry_run=ctx.dry_run,
            options=vars(ctx.options),
        )
        with Signals().installed() as signals:
            try:
                while node_id is not None:
                    node = flow.NODES[node_id]
                    if node_id == until:  # ends the walk before the node, as a success
                        ctx.current = None
                        code = exit_override if exit_override is not None else exitcodes.OK
                        title = f"done; {node.title.lower()} would come next"
                        self._end("success", code, title, durations)
                        return RunOutcome("success", code, visited, results, durations)
                    visited.append(node_id)
                    ctx.current = node_id
                    if isinstance(node, flow.End):
                        outcome = node.outcome
                        code = (
                            exit_override if exit_override is not None else _OUTCOME_EXIT[outcome]
                        )
                        self._end(outcome, code, node.title, durations)
                        return RunOutcome(outcome, code, visited, results, durations)
                    if isinstance(node, flow.Decision):
                        node_id = node.branches[self._decide(node, last)]
                        continue
                    result = self._run_step(node, durations)
                    results[node_id] = result
                    last = result
                    if result.exit_code is not None:
                        exit_override = result.exit_code
                    if result.ok:
                        node_id = result.goto or node.next
                    else:  # a refusal that touched nothing may name its own end
                        node_id = result.goto or node.on_fail or "failed"
            except BaseException as exc:
                reason = exc.signame if isinstance(exc, Interrupted) else type(exc).__name__
                if isinstance(exc, KeyboardInterrupt):
                    reason = "SIGINT"
                signals.shielded = True
                ctx.emit("aborted", reason=reason, message=str(exc))
                outcome = "failed"
                code = exitcodes.FAILED
                if self.on_abort is not None:
                    try:
                        self.on_abort(ctx, reason)
                    except BaseException as cleanup_exc:  # the person must hear about it
                        ctx.emit(
                            "output",
                            text=f"cleanup after {reason} failed: {cleanup_exc}",
                            level="error",
                        )
                        outcome, code = "needs_person", exitcodes.NEEDS_PERSON
                if ctx.state.get("abort_outcome") == "success":
                    outcome, code = "success", exitcodes.OK
                if ctx.state.get("needs_person"):
                    outcome, code = "needs_person", exitcodes.NEEDS_PERSON
                if signals.ignored:
                    ctx.emit(
                        "output",
                        text=f"ignored {', '.join(signals.ignored)} while cleaning up",
                        level="warning",
                    )
                self._end(outcome, code, f"aborted by {reason}", durations)
                if isinstance(exc, (KeyboardInterrupt, Interrupted)):
                    return RunOutcome(outcome, code, visited, results, durations)
                raise

    def _end(self, outcome: str, code: int, title: str, durations: dict[str, float]) -> None:
        """Every end of a walk: the outcome recorded, notification and archive, run_end."""
        self.ctx.state["outcome"] = outcome
        self._finally(durations)
        self.ctx.emit(RUN_END, outcome=outcome, exit_code=code, title=title)

    def _finally(self, durations: dict[str, float]) -> None:
        """Notification and archive: after every end; their failure never changes the outcome."""
        for node in flow.FINALLY:
            if node.id not in self.actions:
                continue
            self.ctx.current = node.id
            try:
                self._run_step(node, durations)
            except Exception as exc:  # a report that cannot be sent must not mask the run
                self.ctx.emit("output", text=f"{node.title} failed: {exc}", level="error")

    def _run_step(self, node: flow.Step, durations: dict[str, float]) -> StepResult:
        ctx = self.ctx
        action = self.actions.get(node.id)
        ctx.emit("step_start", title=node.title, estimate_s=node.estimate_s)
        started = time.monotonic()
        if action is None:
            result = StepResult(ok=True, skipped=True, summary="not part of this command")
        else:
            try:
                result = action(ctx)
            except StepFailed as exc:
                result = StepResult(
                    ok=False, summary=str(exc), evidence=exc.evidence, exit_code=exc.exit_code
                )
        elapsed = time.monotonic() - started
        durations[node.id] = elapsed
        ctx.emit(
            "step_end",
            title=node.title,
            ok=result.ok,
            skipped=result.skipped,
            summary=result.summary,
            evidence=result.evidence,
            elapsed_s=round(elapsed, 3),
        )
        return result

    def _decide(self, node: flow.Decision, last: StepResult | None) -> str:
        ctx = self.ctx
        success = _SUCCESS_BRANCH.get(node.id)
        if last is not None and last.ok and success is not None:
            answer = success
            ctx.emit(
                "decision",
                question=node.id,
                text=node.title,
                answer=answer,
                safe=node.safe,
                automatic=True,
            )
            return answer
        if node.automatic:
            ctx.emit(
                "decision",
                question=node.id,
                text=node.title,
                answer=node.safe,
                safe=node.safe,
                automatic=True,
                evidence=last.evidence if last else [],
            )
            return node.safe
        safe = last.suggest if last and last.suggest in node.branches else node.safe
        options = tuple(
            Option(key, node.labels.get(key, key))
            for key in sorted(node.branches, key=lambda k: k != safe)
            if key != success
        )
        question = Question(
            id=node.id,
            text=node.title,
            options=options,
            safe=safe,
            evidence=tuple((last.evidence if last else []) or ([last.summary] if last else [])),
        )
        return ctx.ask(question)
