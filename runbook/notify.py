"""The post-deployment notification: one summary, to a webhook and/or a command.

Sending is bounded (timeouts, a few retries) and never raises into the run: a
dead chat server must not hold up a rollback or change a deployment's outcome.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from runbook import flow
from runbook.engine import Context, StepResult
from runbook.journal import now_iso, operator_name

WEBHOOK_TIMEOUT_S = 5.0
WEBHOOK_ATTEMPTS = 3
COMMAND_TIMEOUT_S = 30.0


def build_summary(ctx: Context) -> dict[str, Any]:
    """Who, where, what, when, per-phase durations, backup, verification and monitoring."""
    state = ctx.state
    validation = state.get("validation")
    verification = state.get("verification")
    durations = state.get("durations", {})
    monitoring = state.get("monitor_verdict")
    return {
        "product": "runbook",
        "outcome": state.get("outcome", "unknown"),
        "command": state.get("command", "deploy"),
        "dry_run": ctx.dry_run,
        "who": {"operator": operator_name(), "host": socket.gethostname()},
        "where": {"target": ctx.config.database.where, "app": ctx.config.app.url},
        "what": [m.name for m in validation.migrations] if validation else [],
        "when": {"started": state.get("started_at"), "ended": now_iso()},
        "run": ctx.journal.run_id,
        "phases": [
            {"id": node_id, "title": flow.NODES[node_id].title, "seconds": round(sec, 3)}
            for node_id, sec in durations.items()
            if node_id in flow.NODES
        ],
        "migration_ms": round(state["migration_s"] * 1000, 1) if "migration_s" in state else None,
        "downtime_s": state.get("downtime_s"),
        "backup": state.get("backup"),
        "verification": verification.as_json() if verification is not None else None,
        "monitoring": monitoring,
        "archive": state.get("archive_path"),
        "journal": str(ctx.journal.path),
    }


def post_webhook(url: str, summary: dict[str, Any]) -> str:
    body = json.dumps(summary, default=str).encode()
    last = ""
    for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "runbook"},
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as resp:
                return f"webhook answered HTTP {resp.status} (attempt {attempt})"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code < 500:
                break  # the receiver refused the payload: retrying will not help
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        if attempt < WEBHOOK_ATTEMPTS:
            time.sleep(0.5 * attempt)
    raise OSError(f"webhook failed after {attempt} attempt(s): {last}")


def run_command(command: str, summary: dict[str, Any]) -> str:
    # No shell: the config's command is split like a command line, never interpreted.
    argv = shlex.split(command)
    try:
        done = subprocess.run(
            argv,
            input=json.dumps(summary, default=str, indent=2),
            text=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
        )
    except FileNotFoundError:
        raise OSError(f"[notify] command: {argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise OSError(f"[notify] command did not finish in {COMMAND_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        raise OSError(f"[notify] command exited {done.returncode}: {done.stderr.strip()[-200:]}")
    return f"command {argv[0]} exited 0"


def step_notify(ctx: Context) -> StepResult:
    cfg = ctx.config
    if not cfg.notify_webhook and not cfg.notify_command:
        return StepResult(ok=True, skipped=True, summary="no [notify] webhook or command set")
    summary = build_summary(ctx)
    if ctx.dry_run:
        ctx.would("notify", f"send the {summary['outcome']} summary")
        return StepResult(ok=True, summary="would notify")
    done, failed = [], []
    for what, send, target in (
        ("webhook", post_webhook, cfg.notify_webhook),
        ("command", run_command, cfg.notify_command),
    ):
        if not target:
            continue
        try:
            done.append(send(target, summary))
        except OSError as exc:
            failed.append(f"{what}: {exc}")
    ctx.emit("notified", sent=done, failed=failed, outcome=summary["outcome"])
    if failed:
        return StepResult(ok=False, summary="; ".join(failed), evidence=failed)
    return StepResult(ok=True, summary="; ".join(done))
