"""What the screens show, folded from the engine's events. No Textual in here.

The same fold serves a live run (events handed over by the worker) and a
finished one (events read back from its journal), so a report, a snapshot test
or a debrief shows exactly what the operator saw. Everything kept is bounded:
an hour of monitoring a log that grows at 10 000 lines/s keeps the same memory
as a minute of it.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runbook import flow

PENDING, RUNNING, PASSED, FAILED, SKIPPED, UNCONFIRMED = (
    "pending",
    "running",
    "passed",
    "failed",
    "skipped",
    "unconfirmed",
)
# Each state has a mark AND a word, so the screens read the same without colour.
MARKS = {
    PENDING: "·",
    RUNNING: "▸",
    PASSED: "✓",
    FAILED: "✗",
    SKIPPED: "–",
    UNCONFIRMED: "?",
}

OUTPUT_KEEP = 1000  # lines of output kept per step
LOG_KEEP = 400  # lines of each followed log kept for the monitor's panes
SAMPLES_KEEP = 240  # monitor samples kept for the sparklines
HITS_KEEP = 200

# The seed's main line, in order; branch steps join the map once the run visits them.
MAIN_LINE: tuple[str, ...] = (
    "docs",
    "test_suite",
    "preflight",
    "lock",
    "backup",
    "maintenance",
    "cache",
    "migrate",
    "verify",
    "restore",
    "monitor",
    "checkpoint",
    "archive",
    "notify",
)
# Where a branch step shows on the map: after this main-line step.
BRANCH_AFTER: dict[str, str] = {
    "auto_rollback": "migrate",
    "keep_unverified": "verify",
    "restore_after_failure": "restore",
    "rollback_a": "checkpoint",
    "rollback_b": "checkpoint",
    "post_rollback": "checkpoint",
}
# The decision asked after a step, shown on the map beneath it.
DECISION_AFTER: dict[str, str] = {
    "tests_failed": "test_suite",
    "migration_failed": "migrate",
    "verification_failed": "verify",
    "issues_detected": "monitor",
    "checkpoint_failed": "checkpoint",
    "rollback_choice": "checkpoint",
}
# What a run is, by where it starts (for runs read back without their file name).
KIND_OF_START = {
    "docs": "deploy",
    "test_suite": "deploy",
    "preflight": "deploy",
    "monitor": "monitor",
    "rollback_a": "rollback",
    "rollback_b": "rollback",
    "rollback_choice": "rollback",
}
# Pre-deployment check names (runbook.preflight) that answer the seed's four items.
PREFLIGHT_ITEMS = {
    "connectivity": "Database connectivity",
    "parent tables": "Critical tables exist",
    "backup directory": "Backup directory writable",
    "laravel app": "Laravel application present",
}
# Steps whose items are checked independently of each other: a failure of one
# says nothing about the others, which stay "not determined" rather than failed.
INDEPENDENT = {"preflight", "verify", "checkpoint", "docs"}


def _epoch(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts).timestamp()
    except ValueError:
        return None


def _operator() -> str:
    from runbook.journal import operator_name

    return operator_name()


def _host() -> str:
    import socket

    return socket.gethostname()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def kind_of(journal_path: Path) -> str:
    """``askproai_db_deploy_20251001_020000-1a2b3c4d.jsonl`` -> ``deploy``."""
    head = journal_path.name.removesuffix(".jsonl").rsplit("_", 2)[0]
    return head.rsplit("_", 1)[-1]


def fmt_seconds(seconds: float | None) -> str:
    """Short and stable: 0.04 s, 12.3 s, 2 min 05 s, 1 h 02 min."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def fmt_estimate(seconds: float | None) -> str:
    if not seconds:
        return "—"
    if seconds < 60:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} min"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


@dataclass
class Item:
    name: str
    status: str = PENDING
    detail: str = ""


@dataclass
class StepState:
    id: str
    title: str
    phase: str
    estimate_s: float
    items: list[Item]
    status: str = PENDING
    started_at: float | None = None  # wall clock
    elapsed_s: float | None = None
    summary: str = ""
    evidence: list[str] = field(default_factory=list)
    output: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=OUTPUT_KEEP))
    checks: list[dict[str, Any]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    progress: tuple[float, float | None, str] | None = None
    visited: bool = False
    said: int = 0  # lines ever added to ``output``: a live log writes only the new ones

    def say(self, level: str, text: str) -> None:
        self.output.append((level, text))
        self.said += 1

    def elapsed(self, now: float) -> float | None:
        if self.status == RUNNING and self.started_at is not None:
            return max(0.0, now - self.started_at)
        return self.elapsed_s

    def over_estimate(self, now: float) -> bool:
        e = self.elapsed(now)
        return bool(e is not None and self.estimate_s and e > self.estimate_s)

    def reset(self) -> None:
        for item in self.items:
            item.status, item.detail = PENDING, ""
        self.status, self.summary, self.evidence = PENDING, "", []
        self.output.clear()
        self.said = 0
        self.checks, self.statements, self.progress = [], [], None
        self.elapsed_s = None

    def set_item(self, name: str, status: str, detail: str = "") -> bool:
        low = name.strip().lower()
        for item in self.items:
            if item.name.lower() == low:
                item.status, item.detail = status, detail or item.detail
                return True
        return False

    def start_item(self, name: str) -> None:
        """``name`` is the one item running now (the one before it did not say it ended)."""
        for item in self.items:
            if item.status == RUNNING:
                item.status = PENDING
        self.set_item(name, RUNNING)

    def first_open(self) -> Item | None:
        return next((i for i in self.items if i.status in (PENDING, RUNNING)), None)


@dataclass
class RunRecord:
    kind: str  # deploy | dryrun | monitor | rollback | test | resume | ...
    start: str | None = None
    target: str = ""
    dry_run: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    operator: str = ""
    host: str = ""
    started: str = ""
    ended: str = ""
    outcome: str | None = None
    exit_code: int | None = None
    title: str = ""
    journal: Path | None = None
    aborted: str | None = None


@dataclass
class Monitor:
    window: int = 0
    remaining_s: float | None = None
    window_s: float | None = None
    severity: str = "none"
    samples: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=SAMPLES_KEEP))
    app_lines: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_KEEP))
    error_lines: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_KEEP))
    app_lines_total: int = 0
    error_lines_total: int = 0
    hits: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HITS_KEEP))
    counts: Counter[str] = field(default_factory=Counter)
    severities: dict[str, str] = field(default_factory=dict)
    verdict: dict[str, Any] | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)  # the checkpoint's four

    @property
    def latest(self) -> dict[str, Any]:
        return self.samples[-1] if self.samples else {}

    def series(self, key: str) -> list[float]:
        return [float(s[key]) for s in self.samples if s.get(key) is not None]

    def reset_window(self) -> None:
        self.samples.clear()
        self.hits.clear()
        self.counts.clear()
        self.severities.clear()
        self.verdict, self.severity = None, "none"


class RunModel:
    """Everything the screens render. Owned by the UI thread; fed by :meth:`apply`."""

    def __init__(self, clock: Any = time.time) -> None:
        self.clock = clock
        self.steps: dict[str, StepState] = {}
        for node in flow.NODES.values():
            if isinstance(node, flow.Step):
                self.steps[node.id] = StepState(
                    node.id,
                    node.title,
                    node.phase,
                    node.estimate_s,
                    [Item(name) for name in node.checklist],
                )
        self.decisions: list[dict[str, Any]] = []
        self.runs: list[RunRecord] = []
        self.current: str | None = None
        self.backup: dict[str, Any] | None = None
        self.backup_skipped = False
        self.archive: str | None = None
        self.notified: dict[str, Any] | None = None
        self.downtime_s: float | None = None
        self.maintenance_on = False
        self.batch: int | None = None
        self.migration_ms: float | None = None
        self.would: list[dict[str, Any]] = []
        self.rollback: dict[str, Any] | None = None
        self.monitor = Monitor()
        self.review_s: float | None = None  # how long the operator read the documents
        # output that belongs to no step: a resume, a rehearsal starting up
        self.notes = StepState("session", "Session", "", 0.0, [])
        self.events = 0

    # -- reading back ------------------------------------------------------------------

    @classmethod
    def from_journal(cls, paths: list[Path] | Path, clock: Any = time.time) -> RunModel:
        from runbook import journal

        model = cls(clock)
        for path in [paths] if isinstance(paths, Path) else paths:
            model.begin(kind_of(path), path)
            for event in journal.read(path):
                data = {k: v for k, v in event.items() if k not in ("event", "node", "run", "host")}
                model.apply(event["event"], event.get("node"), data, meta=event)
        return model

    # -- the fold ----------------------------------------------------------------------

    @property
    def run(self) -> RunRecord | None:
        return self.runs[-1] if self.runs else None

    @property
    def running(self) -> bool:
        return bool(self.runs) and self.runs[-1].outcome is None

    def begin(self, kind: str, journal: Path | None = None) -> RunRecord:
        """A run starts (before its first event, which names only its start node)."""
        record = RunRecord(kind, journal=journal)
        self.runs.append(record)
        return record

    def docs_reviewed(self, ticked: list[str], total: int, seconds: float | None = None) -> None:
        step = self.steps["docs"]
        step.visited = True
        step.status = PASSED if len(ticked) >= total else FAILED
        step.summary = f"{len(ticked)} of {total} items ticked by the operator"
        for item in step.items:
            item.status = PASSED
        step.output.clear()
        step.said = 0
        for item in ticked:
            step.say("info", f"✓ {item}")
        step.elapsed_s = seconds if seconds is not None else (step.elapsed_s or 0.0)
        self.review_s = seconds

    def apply(
        self,
        kind: str,
        node: str | None,
        data: dict[str, Any],
        meta: dict[str, Any] | None = None,
    ) -> str:
        """Fold one event; returns what changed: 'flow', 'step', 'monitor', 'log' or ''."""
        self.events += 1
        meta = meta or {}
        now = _epoch(meta.get("ts")) or self.clock()
        step = self.steps.get(node) if node else None
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            return handler(step, data, meta, now) or ""
        if step is not None and kind in ("restore_loaded", "restore_state", "restore_verified"):
            text = data.get("detail") or data.get("proof") or f"{kind}: {data}"
            step.say("info", str(text))
            return "step"
        return ""

    def _on_run_start(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        record = self.runs[-1] if self.runs and self.runs[-1].start is None else None
        if record is None:  # read back from several journals, or one a driver did not begin
            record = RunRecord(KIND_OF_START.get(str(d.get("start")), "run"))
            self.runs.append(record)
        record.start = d.get("start")
        record.target = d.get("target", "")
        record.dry_run = bool(d.get("dry_run"))
        record.options = dict(d.get("options") or {})
        # live events carry no envelope: the journal adds it; read back, they do
        record.run_id = str(meta.get("run", "")) or record.run_id
        record.operator = str(meta.get("operator", "")) or _operator()
        record.host = str(meta.get("host", "")) or _host()
        record.started = str(meta.get("ts", "")) or _iso(now)
        self.monitor.checks = []
        return "flow"

    def _on_run_end(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        if not self.runs:
            self.runs.append(RunRecord("run"))
        record = self.runs[-1]
        record.outcome = d.get("outcome")
        record.exit_code = d.get("exit_code")
        record.title = d.get("title", "")
        record.ended = str(meta.get("ts", "")) or _iso(now)
        self.current = None
        return "flow"

    def _on_aborted(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        if self.runs:
            self.runs[-1].aborted = f"{d.get('reason')}: {d.get('message', '')}".rstrip(": ")
        if step is not None:
            step.say("error", f"aborted by {d.get('reason')}: {d.get('message', '')}")
            if step.status == RUNNING:
                step.status = FAILED
                step.summary = f"aborted by {d.get('reason')}"
                if step.started_at is not None:
                    step.elapsed_s = now - step.started_at
                if (item := step.first_open()) is not None:
                    item.status = FAILED
        return "flow"

    def _on_docs_review(
        self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float
    ) -> str:
        items = list(d.get("items") or [])
        self.docs_reviewed(items, int(d.get("total") or len(items)), d.get("seconds"))
        return "flow"

    def _on_step_start(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        if step is None:
            return ""
        step.reset()
        step.visited = True
        step.status = RUNNING
        step.started_at = now
        self.current = step.id
        if (item := step.first_open()) is not None:
            item.status = RUNNING
        return "flow"

    def _on_step_end(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        if step is None:
            return ""
        step.elapsed_s = d.get("elapsed_s")
        if step.id == "docs" and self.review_s is not None:
            step.elapsed_s = self.review_s  # the person's reading, not the step's journaling
        step.summary = d.get("summary", "")
        step.evidence = list(d.get("evidence") or [])
        if d.get("skipped"):
            step.status = SKIPPED
            for item in step.items:
                if item.status in (PENDING, RUNNING):
                    item.status = SKIPPED
        elif d.get("ok"):
            step.status = PASSED
            for item in step.items:
                if item.status in (PENDING, RUNNING):
                    item.status = PASSED
        else:
            step.status = FAILED
            self._fail_items(step)
        step.progress = None
        return "flow"

    @staticmethod
    def _fail_items(step: StepState) -> None:
        if step.id in INDEPENDENT:
            for item in step.items:
                if item.status in (PENDING, RUNNING):
                    item.status, item.detail = UNCONFIRMED, "not determined: see the evidence"
            return
        first = True
        for item in step.items:
            if item.status not in (PENDING, RUNNING):
                continue
            if first and not any(i.status == FAILED for i in step.items):
                item.status, item.detail = FAILED, step.summary
            else:
                item.status, item.detail = SKIPPED, "not reached"
            first = False

    def _advance(self, step: StepState) -> None:
        """The next open item of a sequential step is the one running now."""
        if step.status != RUNNING:
            return
        if not any(i.status == RUNNING for i in step.items) and (item := step.first_open()):
            item.status = RUNNING

    def _on_check(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        if step is None:
            return ""
        step.checks.append(dict(d))
        status = {"pass": PASSED, "fail": FAILED, "warn": PASSED, "unconfirmed": UNCONFIRMED}.get(
            d.get("status", ""), UNCONFIRMED
        )
        name = PREFLIGHT_ITEMS.get(d.get("name", ""), d.get("name", ""))
        step.set_item(name, status, d.get("detail", ""))
        if step.id == "checkpoint":
            self.monitor.checks.append(dict(d))
        self._advance(step)
        return "step"

    def _on_output(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        text = str(d.get("text", ""))
        if step is None:
            self.notes.say(d.get("level", "info"), text)
            return "notes"
        step.say(d.get("level", "info"), text)
        for item in step.items:
            if item.status in (PENDING, RUNNING) and text.startswith(item.name):
                item.status = PASSED
        if step.id == "backup" and text.startswith("wrote "):
            for item in step.items[:3]:
                item.status = PASSED
        self._advance(step)
        return "log"

    def _on_progress(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        if step is None:
            return ""
        step.progress = (d.get("done", 0), d.get("total"), d.get("unit", ""))
        return "progress"

    def _on_would(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        self.would.append({"node": step.id if step else None, **d})
        if step is not None:
            step.say("would", f"DRY-RUN would {d.get('action')}: {d.get('detail')}")
        return "log"

    def _on_decision(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        record = dict(d)
        record["ts"] = meta.get("ts") or _iso(now)
        record["operator"] = meta.get("operator") or _operator()
        record["node"] = step.id if step else meta.get("node")
        self.decisions.append(record)
        return "flow"

    def _on_migration_start(
        self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float
    ) -> str:
        if step is not None:
            step.start_item(str(d.get("table", "")))
            step.say("info", f"applying {d.get('migration')}")
        return "step"

    def _on_statement(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        if step is None:
            return ""
        step.statements.append(dict(d))
        table = str(d.get("table") or "")
        verb = "undone" if d.get("undo") else "applied"
        ms = f" in {d['elapsed_ms']} ms" if d.get("elapsed_ms") is not None else ""
        if not d.get("undo"):
            step.set_item(table, PASSED, f"{d.get('elapsed_ms', '?')} ms")
        step.say("info", f"{verb} {d.get('migration') or table}{ms}")
        for warning in d.get("warnings") or []:
            step.say("warning", str(warning))
        self._advance(step)
        return "step"

    def _on_batch(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        self.batch = d.get("batch")
        return ""

    def _on_test_start(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        if step is not None:
            step.start_item(str(d.get("name", "")))
            step.say("info", f"▸ {d.get('name')}")
        return "step"

    def _on_test_end(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        if step is None:
            return ""
        ok = bool(d.get("ok"))
        evidence = list(d.get("evidence") or [])
        elapsed = d.get("elapsed_s")
        detail = "; ".join(evidence) if evidence else (fmt_seconds(elapsed) if elapsed else "")
        step.set_item(str(d.get("name", "")), PASSED if ok else FAILED, detail)
        mark = MARKS[PASSED if ok else FAILED]
        step.say("info" if ok else "error", f"{mark} {d.get('name')}")
        for line in evidence:
            step.say("error" if not ok else "info", f"    {line}")
        return "step"

    def _on_backup_verified(
        self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float
    ) -> str:
        self.backup = dict(d)
        if step is not None:
            for item in step.items:
                item.status = PASSED if item.status != FAILED else item.status
        return "step"

    def _on_backup_skipped(
        self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float
    ) -> str:
        self.backup_skipped = True
        return "step"

    def _on_maintenance(
        self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float
    ) -> str:
        self.maintenance_on = bool(d.get("on"))
        if d.get("downtime_s") is not None:
            self.downtime_s = d["downtime_s"]
        if step is not None:
            if self.maintenance_on:
                step.set_item("php artisan down --retry=60", PASSED)
                step.say("warning", "maintenance mode ON: users get HTTP 503")
            else:
                step.set_item("php artisan up", PASSED)
                step.say("info", f"maintenance mode OFF after {d.get('downtime_s')} s")
            self._advance(step)
        return "flow"

    def _on_archived(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        self.archive = d.get("path")
        return "step"

    def _on_notified(self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float) -> str:
        self.notified = dict(d)
        return "step"

    def _on_post_rollback(
        self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float
    ) -> str:
        self.rollback = dict(d)
        if step is not None:
            step.set_item(
                "Verify the app works", PASSED if d.get("app_ok") else FAILED, d.get("app", "")
            )
            step.set_item("Document issues", PASSED, d.get("note", ""))
            step.set_item("Schedule re-deploy", PASSED, d.get("redeploy", ""))
        return "step"

    # -- monitoring ----------------------------------------------------------------------

    def _on_monitor_sample(
        self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float
    ) -> str:
        m = self.monitor
        window = int(d.get("window") or 1)
        if window != m.window:
            m.reset_window()
            m.window = window
        m.remaining_s = d.get("remaining_s")
        if m.remaining_s is not None and d.get("elapsed_s") is not None:
            m.window_s = float(d["elapsed_s"]) + float(m.remaining_s)
        m.severity = d.get("severity", m.severity)
        m.samples.append({k: v for k, v in d.items() if not k.startswith("_")})
        update = d.get("_update")
        if update is not None:
            m.app_lines_total += len(update.app_lines)
            m.error_lines_total += len(update.error_lines)
            m.app_lines.extend(update.app_lines[-LOG_KEEP:])
            m.error_lines.extend(update.error_lines[-LOG_KEEP:])
        return "monitor"

    def _on_detector_hit(
        self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float
    ) -> str:
        m = self.monitor
        m.hits.append(dict(d))
        name = str(d.get("detector", "?"))
        m.counts[name] += 1
        if d.get("severity") == "major" or name not in m.severities:
            m.severities[name] = str(d.get("severity", "minor"))
        return "monitor"

    def _on_monitor_verdict(
        self, step: Any, d: dict[str, Any], meta: dict[str, Any], now: float
    ) -> str:
        self.monitor.verdict = dict(d)
        self.monitor.severity = d.get("severity", self.monitor.severity)
        return "monitor"

    # -- questions the screens ask -------------------------------------------------------

    def flow_rows(self) -> list[tuple[str, str]]:
        """(kind, id) rows of the flow map: main line, visited branches, decisions taken."""
        rows: list[tuple[str, str]] = []
        decided = {d["question"]: d for d in self.decisions}
        for step_id in MAIN_LINE:
            rows.append(("step", step_id))
            for q, after in DECISION_AFTER.items():
                if after == step_id and q in decided:
                    rows.append(("decision", q))
            for branch, after in BRANCH_AFTER.items():
                if after == step_id and self.steps[branch].visited:
                    rows.append(("step", branch))
        return rows

    def last_decision(self, question: str) -> dict[str, Any] | None:
        for d in reversed(self.decisions):
            if d["question"] == question:
                return d
        return None

    def timings(self) -> list[tuple[StepState, float | None]]:
        now = self.clock()
        return [(s, s.elapsed(now)) for s in self.steps.values() if s.visited]

    def total_elapsed(self) -> float:
        return sum(e or 0.0 for _, e in self.timings())
