"""The deployment archive: the journal, a Markdown report and the logs over the run's window.

The log excerpts start at the sizes the logs had when the run began, so the
archive holds what happened during the deployment and nothing older.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path
from typing import Any

from runbook.engine import Context, StepResult

EXCERPT_CAP = 8 << 20  # a runaway log must not turn the archive into a second copy of it


def mark_logs(ctx: Context) -> None:
    """Remember where each log ends now: the start of this run's excerpt."""
    offsets: dict[str, int] = {}
    for path in (ctx.config.app.log, ctx.config.mysql_error_log):
        try:
            offsets[str(path)] = path.stat().st_size
        except OSError:
            offsets[str(path)] = 0
    ctx.state["log_offsets"] = offsets
    ctx.state["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")


def excerpt(path: Path, start: int) -> bytes:
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < start:  # truncated or rotated since: everything now is from the window
                start = 0
            fh.seek(max(start, size - EXCERPT_CAP))
            return fh.read(EXCERPT_CAP)
    except OSError as exc:
        return f"(could not read {path}: {exc.strerror})\n".encode()


def report_markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# runbook {summary['command']}: {summary['outcome']}",
        "",
        f"- operator: {summary['who']['operator']}@{summary['who']['host']}",
        f"- target: {summary['where']['target']}",
        f"- app: {summary['where']['app']}",
        f"- started: {summary['when']['started']}; ended: {summary['when']['ended']}",
        f"- run: {summary['run']}",
    ]
    if summary.get("migration_ms") is not None:
        lines.append(f"- migration time: {summary['migration_ms']} ms")
    if summary.get("downtime_s") is not None:
        lines.append(f"- downtime: {summary['downtime_s']} s")
    if b := summary.get("backup"):
        lines.append(f"- backup: `{b['path']}` ({b['size']} bytes, sha256 `{b['sha256']}`)")
    lines += ["", "## Phases", "", "| phase | seconds |", "|---|---|"]
    lines += [f"| {p['title']} | {p['seconds']} |" for p in summary["phases"]]
    if v := summary.get("verification"):
        lines += ["", "## Verification", ""]
        lines += [f"- ✓ {p}" for p in v["passed"]] + [f"- ✗ {p}" for p in v["problems"]]
    if m := summary.get("monitoring"):
        lines += ["", "## Monitoring", "", "```json", json.dumps(m, indent=2, default=str), "```"]
    if summary["what"]:
        lines += ["", "## Migrations", ""] + [f"- {name}" for name in summary["what"]]
    return "\n".join(lines) + "\n"


def step_archive(ctx: Context) -> StepResult:
    from runbook.notify import build_summary

    if ctx.dry_run:
        ctx.would("archive", "journal, report and log excerpts into a 0600 tar.gz")
        return StepResult(ok=True, summary="would archive")
    directory = ctx.config.journal_dir / "archive"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{ctx.journal.path.stem}.tar.gz"
    ctx.state["archive_path"] = str(path)
    summary = build_summary(ctx)
    members: list[tuple[str, bytes]] = [
        ("report.md", report_markdown(summary).encode()),
        ("journal.jsonl", ctx.journal.path.read_bytes()),
    ]
    offsets = ctx.state.get("log_offsets", {})
    for name, log in (
        ("laravel.log", ctx.config.app.log),
        ("mysql-error.log", ctx.config.mysql_error_log),
    ):
        members.append((f"logs/{name}", excerpt(log, offsets.get(str(log), 0))))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(f"{path.name.removesuffix('.tar.gz')}/{name}")
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    ctx.emit("archived", path=str(path), members=[m for m, _ in members])
    return StepResult(ok=True, summary=str(path))
