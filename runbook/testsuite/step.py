"""The flow's ``test_suite`` node: the suite as a deployment step."""

from __future__ import annotations

from runbook.engine import Context, StepAction, StepResult
from runbook.testsuite.report import TEST_COUNT
from runbook.testsuite.scratch import SCRATCH_PREFIX
from runbook.testsuite.suite import run_suite


def step_test_suite(ctx: Context) -> StepResult:
    """Flow node ``test_suite``: its failure makes the "Tests failed?" decision STOP."""
    if ctx.dry_run:
        ctx.would(
            "test_suite",
            f"create a {SCRATCH_PREFIX}<id> database on the target's server, run the "
            f"{TEST_COUNT} tests there, drop it",
        )
        return StepResult(ok=True, skipped=True, summary="dry-run: the test suite was not run")
    report = run_suite(
        ctx.target, ctx.state["validation"], lambda kind, data: ctx.emit(kind, **data)
    )
    ctx.state["test_suite"] = report
    if report.ok:
        return StepResult(
            ok=True, summary=f"all {TEST_COUNT} tests passed on {report.scratch} (dropped)"
        )
    evidence = [f"{r.name}: {line}" for r in report.failed for line in r.evidence]
    if report.cleanup_error:
        evidence.append(report.cleanup_error)
    failed = len(report.failed)
    return StepResult(
        ok=False,
        summary=f"{failed} of {TEST_COUNT} tests failed"
        if failed
        else "the scratch database stayed",
        evidence=evidence,
    )


# the flow's node, picked up by runbook.runs.actions()
ACTIONS: dict[str, StepAction] = {"test_suite": step_test_suite}
