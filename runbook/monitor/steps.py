"""The flow's ``monitor`` and ``checkpoint`` steps.

``monitor`` runs one window of ``[monitor] minutes``. Its result feeds the
"Issues detected?" decision: ok when there were none; otherwise ``suggest`` is
the safe answer: ``rollback`` for a major issue, ``continue`` for a minor one,
and ``rollback`` again when a window with issues follows another one with
issues (the "continue monitoring" loop is bounded: one extra window, then the
safe answer is to roll back; the operator may still answer ``continue``).

A driver may put a ``threading.Event`` in ``ctx.state["monitor_stop"]`` to end
the window early, and finds the running :class:`MonitorSession` in
``ctx.state["monitor_session"]`` (to raise an issue by hand) while it runs.
Monitoring only reads: it never writes to the target or the application.
"""

from __future__ import annotations

from typing import Any

from runbook.engine import Context, StepAction, StepResult
from runbook.monitor import checkpoint as cp
from runbook.monitor.baseline import Baseline, recorded_baseline
from runbook.monitor.detectors import MAJOR
from runbook.monitor.session import INTERVAL_S, MonitorSession, MonitorUpdate
from runbook.prompter import NeedsOperator

EVIDENCE_LINES = 12


def _emit_update(ctx: Context, update: MonitorUpdate) -> None:
    ctx.emit(
        "monitor_sample",
        window=update.window,
        remaining_s=round(update.remaining_s, 1),
        severity=update.severity,
        new_hits=len(update.hits),
        **update.sample.compact(),
        _update=update,  # the whole update for a screen; not journaled
    )
    for hit in update.hits:
        ctx.emit("detector_hit", **hit.as_json())
    for note in update.notes:
        ctx.output(note, level="warning")


def step_monitor(ctx: Context) -> StepResult:
    cfg = ctx.config
    minutes = cfg.monitor_minutes
    if ctx.dry_run:
        ctx.would(
            "monitor",
            f"watch {cfg.app.log} and {cfg.mysql_error_log}, sample resources and probe "
            f"{cfg.app.url} for {minutes:g} min (reads only)",
        )
        return StepResult(ok=True, skipped=True, summary=f"would monitor for {minutes:g} min")
    carry = ctx.state.get("monitor_carry")
    baseline = ctx.state.get("baseline")
    if isinstance(baseline, dict):  # a driver that kept it as JSON (e.g. read from a journal)
        baseline = Baseline.from_json(baseline)
    if baseline is None and carry is None:
        baseline = recorded_baseline(cfg)
    session = MonitorSession(
        cfg,
        minutes=minutes,
        baseline=baseline,
        carry=carry,
        interval=ctx.state.get("monitor_interval", INTERVAL_S),
    )
    ctx.state["monitor_session"] = session
    ctx.output(
        f"monitoring window {session.window}: {minutes:g} min of {cfg.app.log}, "
        f"{cfg.mysql_error_log}, resources and {cfg.app.url}"
    )
    stop = ctx.state.get("monitor_stop")
    if stop is not None:
        stop.clear()  # a stop asked for during the last window is not one for this window
    try:
        session.run(lambda update: _emit_update(ctx, update), stop=stop)
        for hit in session.take_raised():  # raised after the last update
            ctx.emit("detector_hit", **hit.as_json())
        verdict = session.verdict(None, "asked at the checkpoint")
    finally:
        ctx.state.pop("monitor_session", None)
        ctx.state["monitor_carry"] = session.suspend()
    ctx.state["monitor_last"] = verdict
    summary = {"window": session.window, **verdict.as_json()}
    ctx.state["monitor_verdict"] = summary
    ctx.emit("monitor_verdict", **summary)
    if not verdict.issues:
        return StepResult(ok=True, summary=f"window {session.window}: no issues detected")
    earlier = ctx.state["monitor_carry"].earlier[:-1]
    repeated = bool(earlier) and earlier[-1].get("severity", "none") != "none"
    if verdict.severity == MAJOR:
        suggest, why = "rollback", "major issue"
    elif repeated:
        suggest, why = "rollback", "minor issues in two windows in a row"
    else:
        suggest, why = "continue", "minor issues: watch one more window"
    return StepResult(
        ok=False,
        summary=f"window {session.window}: {verdict.severity} issues ({why}): {verdict.reason}",
        evidence=_evidence(session, verdict),
        suggest=suggest,
    )


def _evidence(session: MonitorSession, verdict: cp.Verdict) -> list[str]:
    lines = list(verdict.reasons)
    for state in session.detectors.states.values():
        if state.count and state.example:
            lines.append(f"{state.spec.title}, e.g.: {state.example}")
    lines += [f"caveat: {c}" for c in verdict.caveats]
    if len(lines) > EVIDENCE_LINES:
        lines = [*lines[: EVIDENCE_LINES - 1], f"… and {len(lines) - EVIDENCE_LINES + 1} more"]
    return lines


def step_checkpoint(ctx: Context) -> StepResult:
    """The seed's four checks, recorded; the person confirms "no user-reported issues"."""
    last: cp.Verdict | None = ctx.state.get("monitor_last")
    if last is None:
        return StepResult(
            ok=False,
            summary="no monitoring window ran in this run: nothing to check",
            evidence=["run `runbook monitor` (or the monitor step) first"],
        )
    answer: str | None = None
    why = "unattended: --yes"
    if not ctx.options.yes:
        try:
            answer = ctx.ask(cp.USER_REPORTS_QUESTION)
        except NeedsOperator:
            answer, why = None, "unattended: no one to ask"
    reports = cp.user_reports_check(answer, why)
    checks = [c if c.name != cp.USER_REPORTS else reports for c in last.checks]
    for check in checks:
        ctx.emit("check", name=check.name, status=check.status, detail=check.detail, fix="")
    failed = [c for c in checks if c.status == cp.FAIL]
    record: dict[str, Any] = dict(ctx.state.get("monitor_verdict") or {})
    record["checks"] = [c.as_json() for c in checks]
    record["checkpoint_passed"] = not failed
    ctx.state["monitor_verdict"] = record
    if failed:
        reported = cp.user_reports_severity(answer)
        return StepResult(
            ok=False,
            summary=f"checkpoint: {len(failed)} of {len(checks)} checks failed",
            evidence=[f"{c.name}: {c.detail}" for c in failed],
            suggest="rollback" if reported == MAJOR else "accept",
        )
    unconfirmed = [c.name for c in checks if c.status == cp.UNCONFIRMED]
    tail = f" ({', '.join(unconfirmed)}: not confirmed)" if unconfirmed else ""
    return StepResult(ok=True, summary=f"checkpoint passed: deployment successful{tail}")


ACTIONS: dict[str, StepAction] = {"monitor": step_monitor, "checkpoint": step_checkpoint}
