"""One monitoring window: followers, samplers, detectors, and the verdict at the end.

``MonitorSession`` has no thread of its own. A driver calls :meth:`tick` once
per interval (the CLI in its loop, the Textual screen from a worker thread) and
sleeps :meth:`seconds_to_next_tick` between calls; :meth:`raise_issue` and
:meth:`verdict` may be called from another thread meanwhile (the detectors and
the history are behind locks). The followers open at the end of both logs when
the session is built: the window starts then, not at the first tick.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.config import Config
from runbook.db import Target
from runbook.laravel import probe
from runbook.monitor import baseline as baseline_mod
from runbook.monitor import checkpoint as cp
from runbook.monitor.baseline import Baseline
from runbook.monitor.checkpoint import Check, Verdict
from runbook.monitor.detectors import NONE, Detectors, Hit, assess, worst
from runbook.monitor.follower import LogFollower, Position
from runbook.monitor.sampler import (
    AppSample,
    ProcessSampler,
    Sample,
    StatusSampler,
    SystemSampler,
)

INTERVAL_S = 1.0
TAIL_LINES = 500  # the newest lines of each log kept for the screen
HITS_KEPT = 1000
MEM_HIGH = 90.0
CPU_HIGH = 90.0
DISK_HIGH = 95.0
RSS_GROWTH = 1.5
LOCK_WAIT_MS = 1000
PERF_SAMPLES = 30  # the rolling median of the performance detector


@dataclass(frozen=True)
class Carry:
    """What a window hands the next one when the operator continues monitoring."""

    window: int
    app_position: Position | None
    mysql_position: Position | None
    baseline: Baseline | None
    earlier: tuple[dict[str, Any], ...]  # each finished window: severity, counts by source


@dataclass
class MonitorUpdate:
    window: int
    elapsed_s: float
    remaining_s: float
    done: bool
    app_lines: list[str]
    error_lines: list[str]
    sample: Sample
    hits: list[Hit]
    severity: str  # the window's severity so far
    notes: list[str] = field(default_factory=list)


class MonitorSession:
    def __init__(
        self,
        cfg: Config,
        *,
        minutes: float | None = None,
        interval: float = INTERVAL_S,
        baseline: Baseline | None = None,
        target: Target | None = None,
        carry: Carry | None = None,
        probe_app: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.minutes = float(cfg.monitor_minutes if minutes is None else minutes)
        if self.minutes <= 0:
            raise ValueError(f"minutes must be above 0, not {self.minutes}")
        if interval <= 0:
            raise ValueError(f"interval must be above 0, not {interval}")
        self.window_s = self.minutes * 60
        self.interval = interval
        self.window = carry.window + 1 if carry else 1
        self.earlier: list[dict[str, Any]] = list(carry.earlier) if carry else []
        self.baseline = baseline or (carry.baseline if carry else None)
        self.probe_app = probe_app
        self.clock = clock
        self.detectors = Detectors()
        self.app_log = LogFollower(cfg.app.log, resume=carry.app_position if carry else None)
        self.error_log = LogFollower(
            cfg.mysql_error_log, resume=carry.mysql_position if carry else None
        )
        self.status = StatusSampler(target or Target(cfg.database, dry_run=True))
        self.server = ProcessSampler(cfg.database)
        self.system = SystemSampler("/")
        self.history: deque[Sample] = deque(maxlen=int(self.window_s / interval) + 16)
        self.app_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.error_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.hits: deque[Hit] = deque(maxlen=HITS_KEPT)
        self._raised: list[Hit] = []  # by the operator, not yet in an update
        self.started_wall = time.time()
        self.started = clock()
        self.ended_wall: float | None = None
        self.ticks = 0
        self.completed = False
        self.closed = False
        self._lock = threading.Lock()
        self._rss0: int | None = None
        self._disk_set = False
        self._stopped_at: float | None = None  # the window's end, once closed

    # -- time ---------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        end = self._stopped_at if self._stopped_at is not None else self.clock()
        return end - self.started

    @property
    def remaining(self) -> float:
        return max(0.0, self.window_s - self.elapsed)

    @property
    def done(self) -> bool:
        return self.completed

    def seconds_to_next_tick(self) -> float:
        due = min(self.started + self.ticks * self.interval, self.started + self.window_s)
        return max(0.0, due - self.clock())

    # -- the work of one interval -------------------------------------------------------

    def tick(self) -> MonitorUpdate:
        if self.closed:
            raise RuntimeError("the monitoring session is closed")
        elapsed = self.elapsed
        det = self.detectors
        app_lines = self.app_log.poll()
        error_lines = self.error_log.poll()
        hits = det.app_lines(app_lines) + det.mysql_lines(error_lines)

        status = self.status.sample()
        hits += det.database(status.ok, status.error)
        if status.deadlocks:
            hits.append(
                det.record(
                    "server_deadlocks",
                    "status",
                    f"{status.deadlocks} deadlock(s) since the previous sample "
                    f"({self.status.deadlock_source})",
                    count=status.deadlocks,
                )
            )
        if status.row_lock_time_ms >= LOCK_WAIT_MS:
            hits.append(
                det.record(
                    "lock_waits",
                    "status",
                    f"{status.row_lock_waits} row-lock wait(s), {status.row_lock_time_ms} ms "
                    "waited since the previous sample",
                )
            )
        server = self.server.sample()
        if not self._disk_set and self.status.datadir and server.pid is not None:
            # The server runs here: the disk that can fill up is the one holding its data.
            if Path(self.status.datadir).is_dir():
                self.system.disk_path = self.status.datadir
            self._disk_set = True
        system = self.system.sample()
        app = self._probe() if self.probe_app else None
        if app is not None:
            hits += det.probe(app.status, app.detail, self.cfg.app.url)
        hits += self._resources(system, server)

        sample = Sample(time.time(), elapsed, system, server, status, app)
        with self._lock:
            self.history.append(sample)
            self.app_tail.extend(app_lines)
            self.error_tail.extend(error_lines)
        self.ticks += 1
        if self.baseline is None and self.ticks >= baseline_mod.FIRST_SAMPLES:
            self.baseline = self._first_samples_baseline()
        hits += self._performance()
        with self._lock:
            self.hits.extend(hits)
        hits += self.take_raised()
        self.completed = elapsed >= self.window_s - 0.005
        if self.completed:
            self.ended_wall = time.time()
        return MonitorUpdate(
            window=self.window,
            elapsed_s=elapsed,
            remaining_s=max(0.0, self.window_s - elapsed),
            done=self.completed,
            app_lines=app_lines,
            error_lines=error_lines,
            sample=sample,
            hits=hits,
            severity=assess(det).severity,
            notes=self.app_log.take_notes() + self.error_log.take_notes(),
        )

    def run(
        self,
        on_update: Callable[[MonitorUpdate], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Tick until the window ends (or ``stop`` is set): the loop every driver needs."""
        while True:
            update = self.tick()
            if on_update is not None:
                on_update(update)
            if update.done:
                return
            wait = self.seconds_to_next_tick()
            if stop is not None:
                if stop.wait(wait):
                    return
            else:
                time.sleep(wait)

    def _probe(self) -> AppSample:
        answer = probe(self.cfg.app.url, timeout=baseline_mod.PROBE_TIMEOUT_S)
        ms = answer.elapsed_s * 1000 if answer.status == 200 else None
        return AppSample(answer.status, ms, answer.describe())

    def _resources(self, system: Any, server: Any) -> list[Hit]:
        det = self.detectors
        hits = det.pressure(
            "memory",
            system.mem_percent >= MEM_HIGH,
            f"memory {system.mem_percent:.0f} % used (≥ {MEM_HIGH:.0f} %)",
        )
        if system.cpu_percent is not None:
            hits += det.cpu(system.cpu_percent, CPU_HIGH, self.clock())
        if system.disk_percent is not None:
            hits += det.pressure(
                "disk",
                system.disk_percent >= DISK_HIGH,
                f"disk of {system.disk_path} {system.disk_percent:.0f} % full "
                f"(≥ {DISK_HIGH:.0f} %)",
            )
        if server.rss is not None:
            if self._rss0 is None:
                self._rss0 = server.rss
            grown = server.rss >= self._rss0 * RSS_GROWTH
            hits += det.pressure(
                "server_rss",
                grown,
                f"{server.name} RSS {server.rss >> 20} MiB, {RSS_GROWTH}× its "
                f"{self._rss0 >> 20} MiB at the start of the window",
            )
        return hits

    def _performance(self) -> list[Hit]:
        if self.baseline is None:
            return []
        with self._lock:
            recent = [s.app.ms for s in list(self.history)[-PERF_SAMPLES:] if s.app and s.app.ms]
        limit = baseline_mod.response_limit_ms(self.baseline)
        if limit is None or len(recent) < baseline_mod.FIRST_SAMPLES:
            return []
        median = statistics.median(recent)
        return self.detectors.pressure(
            "performance",
            median > limit,
            f"median response {median:.0f} ms over the last {len(recent)} probes "
            f"> {limit:.0f} ms ({baseline_mod.RESPONSE_FACTOR}× the baseline "
            f"{self.baseline.app_ms} ms + {baseline_mod.RESPONSE_SLACK_MS:.0f} ms)",
        )

    def _first_samples_baseline(self) -> Baseline:
        with self._lock:
            first = list(self.history)[: baseline_mod.FIRST_SAMPLES]
        apps = [s.app for s in first if s.app is not None]
        return baseline_mod.from_samples(
            [a.ms for a in apps if a.ms is not None],
            sum(a.status == 200 for a in apps) / len(apps) if apps else 0.0,
            [s.status.qps for s in first if s.status.qps is not None],
            [s.status.threads_connected for s in first if s.status.threads_connected is not None],
            first[-1].elapsed_s if first else 0.0,
            f"first {len(first)} samples of monitoring window {self.window} "
            "(no baseline was recorded before the deployment)",
        )

    # -- the operator -------------------------------------------------------------------

    def raise_issue(self, text: str, severity: str) -> Hit:
        """An issue the operator saw (a user called, a page looks wrong): counts like a hit."""
        hit = self.detectors.raise_issue(text.strip() or "(no description)", severity)
        with self._lock:
            self._raised.append(hit)
        return hit

    def take_raised(self) -> list[Hit]:
        """The issues raised since the last call: the next update carries them, so the
        driver journals them like any detector hit (from the walk's thread)."""
        with self._lock:
            raised, self._raised = self._raised, []
            self.hits.extend(raised)
        return raised

    # -- the end ------------------------------------------------------------------------

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self.history)

    def medians(self) -> tuple[float | None, float | None]:
        """The window's median response time (ms) and QPS."""
        samples = self.samples()
        app = [s.app.ms for s in samples if s.app and s.app.ms is not None]
        qps = [s.status.qps for s in samples if s.status.qps is not None]
        return (
            statistics.median(app) if app else None,
            statistics.median(qps) if qps else None,
        )

    def checks(self, user_reports: str | None, why_unasked: str = "unattended") -> list[Check]:
        return [
            self._check_app_logs(),
            self._check_constraints(),
            self._check_performance(),
            cp.user_reports_check(user_reports, why_unasked),
        ]

    def _earlier_counts(self, source: str | None, detector: str | None = None) -> int:
        total = 0
        for record in self.earlier:
            for name, sources in record.get("by_source", {}).items():
                if detector is not None and name != detector:
                    continue
                for src, n in sources.items():
                    if source is None or src == source:
                        total += n
        return total

    def _check_app_logs(self) -> Check:
        mine = self.detectors.by_source("app_log")
        now = sum(mine.values())
        before = self._earlier_counts("app_log")
        path = self.cfg.app.log
        if now or before:
            parts = ", ".join(f"{n} {name}" for name, n in sorted(mine.items()))
            detail = f"{parts or 'none'} in {path} in window {self.window}"
            if before:
                detail += f"; {before} in earlier window(s)"
            return Check(cp.APP_LOGS, cp.FAIL, detail)
        if self.app_log.state == "unreadable":
            return Check(cp.APP_LOGS, cp.UNCONFIRMED, self.app_log.error)
        if self.app_log.state == "missing":
            return Check(cp.APP_LOGS, cp.PASS, f"{path} does not exist: nothing was logged")
        lines = self.app_log.stats.lines
        return Check(
            cp.APP_LOGS,
            cp.PASS,
            f"no ERROR entries or database errors in {path} ({lines} new lines read)",
        )

    def _check_constraints(self) -> Check:
        now = self.detectors.states["constraint_violation"].count
        before = self._earlier_counts(None, "constraint_violation")
        if now or before:
            example = self.detectors.states["constraint_violation"].example
            detail = f"{now} in window {self.window}" + (f", {before} earlier" if before else "")
            return Check(cp.CONSTRAINTS, cp.FAIL, detail + (f"; e.g. {example}" if example else ""))
        blind = [f for f in (self.app_log, self.error_log) if f.state == "unreadable"]
        if len(blind) == 2:
            return Check(cp.CONSTRAINTS, cp.UNCONFIRMED, "neither log could be read")
        detail = "none in the application log or the MySQL error log"
        if blind:
            detail += f" (but {blind[0].error})"
        return Check(cp.CONSTRAINTS, cp.PASS, detail)

    def _check_performance(self) -> Check:
        app_ms, qps = self.medians()
        samples = self.samples()
        probes = [s.app for s in samples if s.app is not None]
        answered = sum(a.status == 200 for a in probes)
        down = self.detectors.states["app_down"].count
        judged = baseline_mod.judge(self.baseline, app_ms, qps)
        availability = f"{answered}/{len(probes)} probes answered 200"
        if down:
            return Check(
                cp.PERFORMANCE, cp.FAIL, f"the application was down {down} time(s); {availability}"
            )
        if self.detectors.states["performance"].count:
            return Check(
                cp.PERFORMANCE,
                cp.FAIL,
                f"{self.detectors.states['performance'].example}; {availability}",
            )
        if judged.normal is None:
            return Check(cp.PERFORMANCE, cp.UNCONFIRMED, f"{judged.detail}; {availability}")
        status = cp.PASS if judged.normal else cp.FAIL
        return Check(cp.PERFORMANCE, status, f"{judged.detail}; {availability}")

    def verdict(self, user_reports: str | None = None, why_unasked: str = "unattended") -> Verdict:
        """Severity + reason + the four checkpoint checks, for this window (and earlier ones)."""
        assessed = assess(self.detectors)
        checks = self.checks(user_reports, why_unasked)
        severity, reasons = cp.combine(assessed.severity, assessed.reasons, checks)
        reported = cp.user_reports_severity(user_reports)
        if reported != NONE:
            severity = worst(severity, reported)
            reasons.append(f"{reported}: users reported issues (the operator's answer)")
        reasons.sort(key=lambda r: not r.startswith("major"))
        caveats = self.caveats()
        return Verdict(
            severity=severity,
            reason=reasons[0] if reasons else "no issues detected",
            reasons=reasons,
            checks=checks,
            caveats=caveats,
        )

    def caveats(self) -> list[str]:
        out = []
        for f in (self.app_log, self.error_log):
            if f.state == "unreadable":
                out.append(f"not watched: {f.error}")
            elif f.state == "missing":
                out.append(f"{f.path} does not exist (watched for it to appear)")
        if self.server.proc is None:
            out.append(f"database server process not sampled: {self.server.found_by}")
        if self.baseline is not None and not self.baseline.source.startswith("before"):
            out.append(f"baseline: {self.baseline.source}")
        if not self.completed:
            out.append(
                f"the window was cut short after {self.elapsed:.0f} s of {self.window_s:.0f} s"
            )
        return out

    def window_record(self) -> dict[str, Any]:
        """This window, as the next one (and the checkpoint) remember it."""
        with self.detectors._lock:
            by_source = {
                name: dict(s.sources) for name, s in self.detectors.states.items() if s.count
            }
        return {
            "window": self.window,
            "severity": assess(self.detectors).severity,
            "minutes": self.minutes,
            "by_source": by_source,
        }

    def report(self, verdict: Verdict) -> dict[str, Any]:
        """The whole window as one JSON-able document (``runbook monitor --json``)."""
        samples = self.samples()
        ended = self.ended_wall or time.time()
        return {
            "window": {
                "number": self.window,
                "minutes": self.minutes,
                "interval_s": self.interval,
                "started": _iso(self.started_wall),
                "ended": _iso(ended),
                "elapsed_s": round(self.elapsed, 2),
                "samples": len(samples),
                "completed": self.completed,
            },
            "target": self.cfg.database.where,
            "app_url": self.cfg.app.url,
            "logs": {"app": _follower_json(self.app_log), "mysql": _follower_json(self.error_log)},
            "detectors": self.detectors.as_json(),
            "hits": [h.as_json() for h in list(self.hits)[:100]],
            "resources": resource_summary(samples),
            "totals": totals(samples),
            "server": {
                "pid": self.server.proc.pid if self.server.proc else None,
                "found_by": self.server.found_by,
                "version": self.status.version or None,
                "datadir": self.status.datadir,
                "deadlock_source": self.status.deadlock_source or None,
            },
            "baseline": self.baseline.as_json() if self.baseline else None,
            "earlier_windows": self.earlier,
            "verdict": verdict.as_json(),
        }

    def suspend(self) -> Carry:
        """Close, remembering where the logs were left, for the next window."""
        carry = Carry(
            window=self.window,
            app_position=self.app_log.position(),
            mysql_position=self.error_log.position(),
            baseline=self.baseline,
            earlier=(*self.earlier, self.window_record()),
        )
        self.close()
        return carry

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stopped_at = self.clock()
        if self.ended_wall is None:
            self.ended_wall = time.time()
        self.app_log.close()
        self.error_log.close()
        self.status.close()

    def __enter__(self) -> MonitorSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))


def _follower_json(f: LogFollower) -> dict[str, Any]:
    return {
        "path": str(f.path),
        "state": f.state,
        "error": f.error or None,
        "lines": f.stats.lines,
        "bytes_read": f.stats.bytes_read,
        "rotations": f.stats.rotations,
        "truncations": f.stats.truncations,
        "cut_lines": f.stats.cut_lines,
    }


_METRICS: dict[str, Callable[[Sample], float | int | None]] = {
    "cpu_percent": lambda s: s.system.cpu_percent,
    "mem_percent": lambda s: s.system.mem_percent,
    "swap_percent": lambda s: s.system.swap_percent,
    "disk_percent": lambda s: s.system.disk_percent,
    "disk_read_bps": lambda s: s.system.disk_read_bps,
    "disk_write_bps": lambda s: s.system.disk_write_bps,
    "mysqld_cpu_percent": lambda s: s.server.cpu_percent,
    "mysqld_rss": lambda s: s.server.rss,
    "qps": lambda s: s.status.qps,
    "threads_connected": lambda s: s.status.threads_connected,
    "threads_running": lambda s: s.status.threads_running,
    "app_ms": lambda s: s.app.ms if s.app else None,
}


def resource_summary(samples: list[Sample]) -> dict[str, dict[str, float] | None]:
    out: dict[str, dict[str, float] | None] = {}
    for name, get in _METRICS.items():
        values = [v for v in (get(s) for s in samples) if v is not None]
        out[name] = (
            {
                "min": round(min(values), 2),
                "median": round(statistics.median(values), 2),
                "max": round(max(values), 2),
            }
            if values
            else None
        )
    return out


def totals(samples: list[Sample]) -> dict[str, int]:
    return {
        "aborted_connects": sum(s.status.aborted_connects for s in samples),
        "aborted_clients": sum(s.status.aborted_clients for s in samples),
        "deadlocks": sum(s.status.deadlocks for s in samples),
        "row_lock_waits": sum(s.status.row_lock_waits for s in samples),
        "row_lock_time_ms": sum(s.status.row_lock_time_ms for s in samples),
        "slow_queries": sum(s.status.slow_queries for s in samples),
        "database_unreachable_samples": sum(not s.status.ok for s in samples),
        "app_probes": sum(s.app is not None for s in samples),
        "app_probes_ok": sum(bool(s.app and s.app.status == 200) for s in samples),
    }
