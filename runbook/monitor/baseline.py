"""The performance baseline, and what "application performance normal" means against it.

A baseline is a short sample of the application's response time and the
server's query rate. The right one is taken BEFORE the deployment: the deploy
calls :func:`record_baseline` (it journals a ``baseline`` event), and
``runbook monitor`` finds it again with :func:`recorded_baseline`. Without one,
the monitor uses the first :data:`FIRST_SAMPLES` samples of its own window and
says so: that only catches a degradation during the window, not one the
deployment caused at once.

NORMAL (both must hold; :func:`judge`):
- response time: the window's median probe time ≤ ``RESPONSE_FACTOR`` × the
  baseline median + ``RESPONSE_SLACK_MS`` (the slack keeps a 3 ms → 9 ms change
  on an idle app from counting as a problem);
- query rate: the window's median QPS ≤ ``QPS_FACTOR`` × the baseline + ``QPS_SLACK``
  (a query storm, e.g. an N+1 loop in new code), and, when the baseline was busy
  (≥ ``QPS_FLOOR``), ≥ the baseline / ``QPS_FACTOR`` (the app stopped querying).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook import journal
from runbook.config import Config
from runbook.db import Target
from runbook.laravel import probe

if TYPE_CHECKING:
    from runbook.engine import Context

RESPONSE_FACTOR = 3.0
RESPONSE_SLACK_MS = 100.0
QPS_FACTOR = 5.0
QPS_SLACK = 10.0
QPS_FLOOR = 10.0
FIRST_SAMPLES = 5
RECORDED_MAX_AGE_S = 24 * 3600  # an older baseline says nothing about "before this deployment"
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Baseline:
    taken_at: str  # ISO 8601
    seconds: float
    samples: int
    app_ms: float | None  # median response time of the app URL
    app_ok: float  # share of probes answered 200
    qps: float | None  # median Questions/s, the sampler's own excluded
    threads_connected: float | None
    source: str  # "before the deployment (journal …)" or "first N samples of the window"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Baseline:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def from_samples(
    app_ms: list[float],
    app_ok: float,
    qps: list[float],
    conns: list[float],
    seconds: float,
    source: str,
) -> Baseline:
    return Baseline(
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(seconds, 2),
        samples=max(len(app_ms), len(qps)),
        app_ms=_round(_median(app_ms)),
        app_ok=round(app_ok, 3),
        qps=_round(_median(qps)),
        threads_connected=_round(_median(conns)),
        source=source,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def take_baseline(cfg: Config, target: Target | None = None, seconds: float = 5.0) -> Baseline:
    """Probe the app and sample the server's QPS for ``seconds``; read-only."""
    from runbook.monitor.sampler import StatusSampler

    sampler = StatusSampler(target or Target(cfg.database, dry_run=True))
    interval = min(1.0, max(seconds / 5, 0.1))
    started = time.monotonic()
    app_ms: list[float] = []
    qps: list[float] = []
    conns: list[float] = []
    probes = answered = 0
    try:
        sampler.sample()  # the reference point for the first QPS delta
        while True:
            answer = probe(cfg.app.url, timeout=PROBE_TIMEOUT_S)
            probes += 1
            if answer.status == 200:
                answered += 1
                app_ms.append(answer.elapsed_s * 1000)
            status = sampler.sample()
            if status.qps is not None:
                qps.append(status.qps)
            if status.threads_connected is not None:
                conns.append(status.threads_connected)
            left = seconds - (time.monotonic() - started)
            if left <= 0:
                break
            time.sleep(min(interval, left))
    finally:
        sampler.close()
    return from_samples(
        app_ms,
        answered / probes if probes else 0.0,
        qps,
        conns,
        time.monotonic() - started,
        "before the deployment",
    )


def record_baseline(ctx: Context, seconds: float = 5.0) -> Baseline:
    """For the deploy: take a baseline now, keep it in the run state and journal it."""
    baseline = take_baseline(ctx.config, Target(ctx.config.database, dry_run=True), seconds)
    ctx.state["baseline"] = baseline
    ctx.emit("baseline", **baseline.as_json())
    return baseline


def recorded_baseline(cfg: Config, now: float | None = None) -> Baseline | None:
    """The newest baseline a run journaled (the deploy, whichever driver ran it), if recent.

    Only journals written to in the last ``RECORDED_MAX_AGE_S`` are read, so a
    directory holding years of runs costs nothing.
    """
    now = time.time() if now is None else now
    newest: tuple[float, dict[str, Any], Path] | None = None
    for path in journal.runs(cfg.journal_dir, cfg.database.database):
        try:
            if now - path.stat().st_mtime > RECORDED_MAX_AGE_S:
                continue
            events = journal.read(path)
        except (OSError, UnicodeDecodeError):
            continue
        for event in events:
            if event.get("event") != "baseline":
                continue
            at = _epoch(str(event.get("ts", "")))
            if now - at <= RECORDED_MAX_AGE_S and (newest is None or at > newest[0]):
                newest = (at, event, path)
    if newest is None:
        return None
    data = dict(newest[1])
    data["source"] = f"before the deployment (journal {newest[2].name})"
    return Baseline.from_json(data)


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


@dataclass(frozen=True)
class Judgement:
    normal: bool | None  # None: nothing to compare (no baseline, or no samples)
    detail: str


def response_limit_ms(baseline: Baseline) -> float | None:
    if baseline.app_ms is None:
        return None
    return baseline.app_ms * RESPONSE_FACTOR + RESPONSE_SLACK_MS


def judge(baseline: Baseline | None, app_ms: float | None, qps: float | None) -> Judgement:
    """Medians of the window against the baseline: the rules in this module's docstring."""
    if baseline is None:
        return Judgement(None, "no baseline to compare with")
    parts: list[str] = []
    normal: bool | None = None
    limit = response_limit_ms(baseline)
    if app_ms is not None and limit is not None:
        ok = app_ms <= limit
        normal = ok
        parts.append(
            f"median response {app_ms:.0f} ms (baseline {baseline.app_ms:.0f} ms, "
            f"limit {limit:.0f} ms){'' if ok else ': SLOWER'}"
        )
    elif app_ms is None:
        parts.append("no successful probe to time")
    if qps is not None and baseline.qps is not None:
        high = baseline.qps * QPS_FACTOR + QPS_SLACK
        low = baseline.qps / QPS_FACTOR if baseline.qps >= QPS_FLOOR else 0.0
        ok = low <= qps <= high
        normal = ok if normal is None else normal and ok
        verdict = "" if ok else (": QUERY STORM" if qps > high else ": QUERIES STOPPED")
        parts.append(
            f"median {qps:.1f} queries/s (baseline {baseline.qps:.1f}, "
            f"normal {low:.1f}–{high:.1f}){verdict}"
        )
    return Judgement(normal, "; ".join(parts) + f" [baseline: {baseline.source}]")
