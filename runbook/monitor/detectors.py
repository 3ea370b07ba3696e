"""What counts as an issue after the deployment, and how bad it is.

The seed says what to watch: foreign-key and database errors in the application
log, constraint violations and deadlocks in the MySQL error log, memory spikes
and CPU issues, and whether the application answers. Each of those is a
*detector* here; each keeps a count, when it was first and last seen and an
example line.

SEVERITY (the one place it is decided; :func:`assess` applies it)

major (the safe answer at "Issues detected?" is ROLLBACK):
  - any constraint violation (SQLSTATE 23000: foreign key, duplicate entry,
    NULL in NOT NULL, CHECK), in either log
  - any deadlock: "Deadlock found" / SQLSTATE 40001 in a log, InnoDB's
    "deadlock detected" note, or a rise of the server's Innodb_deadlocks
  - the application not answering 200 on ``DOWN_AFTER`` consecutive probes
  - the database not answering on ``DOWN_AFTER`` consecutive samples
  - a flood: ``FLOOD`` or more application ERROR entries, other SQLSTATE
    errors, or MySQL [ERROR] lines in one window
  - an issue the operator raised as major

minor (the safe answer is CONTINUE monitoring; a second window in a row with
minor issues makes it ROLLBACK, see ``steps.step_monitor``):
  - Laravel entries at ERROR or worse (ERROR, CRITICAL, ALERT, EMERGENCY),
    counted once per entry however long its stack trace
  - other ``SQLSTATE[...]`` errors (a missing column, a lost connection)
  - MariaDB/MySQL ``[ERROR]`` lines
  - a single failed probe of the application URL
  - lock waits: a second or more of InnoDB row-lock waiting within one interval
  - resource pressure: memory ≥ 90 %, CPU ≥ 90 % without a break for
    ``CPU_SUSTAINED_S`` seconds, the database server's RSS 1.5× what it was at
    the start of the window, disk ≥ 95 % (thresholds in ``session``)
  - responses slower than the baseline allows (``baseline.judge``)
  - an issue the operator raised as minor

not counted: Laravel DEBUG/INFO/NOTICE/WARNING entries (unless they carry a
constraint violation or deadlock), and the error log's [Note] and [Warning]
lines: the server writes ``Access denied`` and ``Aborted connection``
warnings for every mistyped password and every client that hangs up (the
sandbox's own tests produce them), so they say nothing about the deployment.
InnoDB's deadlock note is the exception, because it is a deadlock.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NONE, MINOR, MAJOR = "none", "minor", "major"
_RANK = {NONE: 0, MINOR: 1, MAJOR: 2}

FLOOD = 10  # entries of one minor kind in a window that make it major
DOWN_AFTER = 2  # consecutive failed probes/samples that make an outage
CPU_SUSTAINED_S = 30.0  # a warm-up burst after a deployment is normal; half a minute is not
EXAMPLE_CHARS = 400


def worst(*severities: str) -> str:
    return max(severities, key=_RANK.__getitem__, default=NONE)


@dataclass(frozen=True)
class Spec:
    name: str
    title: str
    severity: str  # what one hit means; FLOOD may raise a minor one
    floods: bool = False


SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec("constraint_violation", "Constraint violations (SQLSTATE 23000)", MAJOR),
        Spec("deadlock", "Deadlocks in the logs", MAJOR),
        Spec("server_deadlocks", "InnoDB deadlocks (Innodb_deadlocks)", MAJOR),
        Spec("app_down", "Application not answering 200", MAJOR),
        Spec("mysql_down", "Database not answering", MAJOR),
        Spec("app_error", "Application log ERROR entries", MINOR, floods=True),
        Spec("database_error", "Other SQLSTATE errors", MINOR, floods=True),
        Spec("mysql_error", "MySQL error log [ERROR] lines", MINOR, floods=True),
        Spec("app_probe_failed", "Single failed application probes", MINOR),
        Spec("lock_waits", "InnoDB row-lock waits (≥ 1 s in an interval)", MINOR),
        Spec("resources", "Resource pressure (memory, CPU, disk)", MINOR),
        Spec("performance", "Slower than the baseline", MINOR),
        Spec("operator", "Raised by the operator", MINOR),
    )
}


@dataclass(frozen=True)
class Hit:
    detector: str
    source: str  # app_log | mysql_log | status | probe | resources | operator
    at: float  # wall clock (time.time())
    line: str
    severity: str
    count: int = 1  # occurrences this hit stands for (a status delta may carry several)

    def as_json(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "source": self.source,
            "at": _iso(self.at),
            "line": self.line,
            "severity": self.severity,
            "count": self.count,
        }


@dataclass
class DetectorState:
    spec: Spec
    count: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    example: str | None = None
    severity: str = NONE  # the worst hit so far (operator issues carry their own)
    sources: dict[str, int] = field(default_factory=dict)

    def add(self, hit: Hit, count: int = 1) -> None:
        self.count += count
        self.sources[hit.source] = self.sources.get(hit.source, 0) + count
        self.first_seen = self.first_seen or hit.at
        self.last_seen = hit.at
        if self.example is None or _RANK[hit.severity] > _RANK[self.severity]:
            self.example = hit.line
        self.severity = worst(self.severity, hit.severity)

    def effective(self) -> str:
        if self.count and self.spec.floods and self.count >= FLOOD:
            return MAJOR
        return self.severity if self.count else NONE

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.spec.title,
            "severity": self.effective(),
            "count": self.count,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "example": self.example,
            "sources": dict(self.sources),
        }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ts)) + f".{int(ts % 1 * 1000):03d}"


def _example(line: str) -> str:
    return line if len(line) <= EXAMPLE_CHARS else line[:EXAMPLE_CHARS] + "…"


# -- patterns ---------------------------------------------------------------------------

CONSTRAINT = re.compile(
    r"SQLSTATE\[23000\]|Integrity constraint violation|"
    r"Cannot (?:add or update a child|delete or update a parent) row|"
    r"foreign key constraint fails|Duplicate entry '|CONSTRAINT `[^`]*` failed",
    re.IGNORECASE,
)
DEADLOCK = re.compile(r"Deadlock found|deadlock detected|SQLSTATE\[40001\]", re.IGNORECASE)
SQLSTATE = re.compile(r"SQLSTATE\[[0-9A-Z]{5}\]")

# Monolog's LineFormatter as Laravel configures it: "[%datetime%] %channel%.%level_name%: ..."
# (Laravel 8 writes "Y-m-d H:i:s"; newer versions and custom taps may write ISO 8601).
LARAVEL_HEADER = re.compile(
    r"^\[(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\]\s+"
    r"([\w.-]+?)\.(DEBUG|INFO|NOTICE|WARNING|ERROR|CRITICAL|ALERT|EMERGENCY):"
)
LARAVEL_BAD = frozenset({"ERROR", "CRITICAL", "ALERT", "EMERGENCY"})

# MariaDB 10.x: "2025-10-01 12:00:00 42 [ERROR] ..." (older: "251001 12:00:00 [ERROR]");
# MySQL 8: "2025-10-01T12:00:00.123456Z 42 [ERROR] [MY-010119] [Server] ...".
MYSQL_HEADER = re.compile(
    r"^(?:\d{4}-\d{2}-\d{2}[ T]\s?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?Z?|\d{6}\s+\d{1,2}:\d{2}:\d{2})"
    r"(?:\s+\d+)?\s+\[(Note|Warning|ERROR|System|FATAL)\]"
)


class Detectors:
    """The detectors' state for one window; thread-safe (the TUI raises issues from its thread)."""

    def __init__(self) -> None:
        self.states = {name: DetectorState(spec) for name, spec in SPECS.items()}
        self._lock = threading.Lock()
        # The log entry being read (a Laravel entry spans its stack trace): which detectors
        # it has already hit, so an entry counts once per detector.
        self._entry: dict[str, set[str]] = {"app_log": set(), "mysql_log": set()}
        self._streak = {"app_down": 0, "mysql_down": 0}
        self._pressure: dict[str, bool] = {}
        self._cpu_since: float | None = None

    # -- recording ----------------------------------------------------------------------

    def record(
        self,
        name: str,
        source: str,
        line: str,
        *,
        count: int = 1,
        at: float | None = None,
        severity: str | None = None,
    ) -> Hit:
        spec = SPECS[name]
        hit = Hit(name, source, at or time.time(), _example(line), severity or spec.severity, count)
        with self._lock:
            self.states[name].add(hit, count)
        return hit

    def by_source(self, source: str) -> dict[str, int]:
        """Counts of the hits that came from one source (e.g. the application log)."""
        with self._lock:
            return {
                name: s.sources[source] for name, s in self.states.items() if s.sources.get(source)
            }

    def raise_issue(self, text: str, severity: str) -> Hit:
        if severity not in (MINOR, MAJOR):
            raise ValueError(f"severity must be {MINOR!r} or {MAJOR!r}, not {severity!r}")
        return self.record("operator", "operator", text, severity=severity)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {name: s.count for name, s in self.states.items()}

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {name: s.as_json() for name, s in self.states.items()}

    # -- logs ---------------------------------------------------------------------------

    def app_lines(self, lines: Iterable[str]) -> list[Hit]:
        hits: list[Hit] = []
        seen = self._entry["app_log"]
        for line in lines:
            m = LARAVEL_HEADER.match(line)
            if m:
                seen = self._entry["app_log"] = set()
                if m.group(3) in LARAVEL_BAD:
                    self._hit_once(hits, seen, "app_error", "app_log", line)
            self._patterns(hits, seen, "app_log", line)
        return hits

    def mysql_lines(self, lines: Iterable[str]) -> list[Hit]:
        hits: list[Hit] = []
        seen = self._entry["mysql_log"]
        for line in lines:
            m = MYSQL_HEADER.match(line)
            if m:
                seen = self._entry["mysql_log"] = set()
                if m.group(1) in ("ERROR", "FATAL"):
                    self._hit_once(hits, seen, "mysql_error", "mysql_log", line)
            self._patterns(hits, seen, "mysql_log", line)
        return hits

    def _patterns(self, hits: list[Hit], seen: set[str], source: str, line: str) -> None:
        if "SQLSTATE" not in line and not _maybe_interesting(line):
            return  # the common case, a line with nothing to say: one substring test
        specific = False
        if CONSTRAINT.search(line):
            self._hit_once(hits, seen, "constraint_violation", source, line)
            specific = True
        if DEADLOCK.search(line):
            self._hit_once(hits, seen, "deadlock", source, line)
            specific = True
        if not specific and SQLSTATE.search(line):
            self._hit_once(hits, seen, "database_error", source, line)

    def _hit_once(self, hits: list[Hit], seen: set[str], name: str, source: str, line: str) -> None:
        if name in seen:
            return
        seen.add(name)
        hits.append(self.record(name, source, line))

    # -- probes and samples -------------------------------------------------------------

    def probe(self, status: int | None, detail: str, url: str) -> list[Hit]:
        """One probe of the app URL: a single failure is minor, ``DOWN_AFTER`` in a row major."""
        if status == 200:
            self._streak["app_down"] = 0
            return []
        self._streak["app_down"] += 1
        streak = self._streak["app_down"]
        line = f"{url} answered {detail}"
        if streak == 1:
            return [self.record("app_probe_failed", "probe", line)]
        if streak == DOWN_AFTER:
            return [self.record("app_down", "probe", f"{line} ({streak} probes in a row)")]
        return []

    def database(self, ok: bool, detail: str) -> list[Hit]:
        if ok:
            self._streak["mysql_down"] = 0
            return []
        self._streak["mysql_down"] += 1
        if self._streak["mysql_down"] == DOWN_AFTER:
            return [
                self.record("mysql_down", "status", f"{detail} ({DOWN_AFTER} samples in a row)")
            ]
        return []

    def pressure(self, key: str, on: bool, line: str) -> list[Hit]:
        """One hit per episode: entering a state counts, staying in it does not."""
        was = self._pressure.get(key, False)
        self._pressure[key] = on
        if on and not was:
            name = "performance" if key == "performance" else "resources"
            return [self.record(name, "resources", line)]
        return []

    def cpu(self, percent: float, threshold: float, now: float) -> list[Hit]:
        """CPU at or above ``threshold`` in every sample for ``CPU_SUSTAINED_S`` seconds."""
        if percent < threshold:
            self._cpu_since = None
        elif self._cpu_since is None:
            self._cpu_since = now
        busy = self._cpu_since is not None and now - self._cpu_since >= CPU_SUSTAINED_S
        return self.pressure(
            "cpu",
            busy,
            f"CPU ≥ {threshold:.0f} % for {CPU_SUSTAINED_S:.0f} s without a break "
            f"(now {percent:.0f} %)",
        )


def _maybe_interesting(line: str) -> bool:
    low = line.lower()
    return (
        "constraint" in low
        or "deadlock" in low
        or "duplicate entry" in low
        or "child row" in low
        or "parent row" in low
    )


@dataclass(frozen=True)
class Assessment:
    severity: str
    reason: str
    reasons: list[str] = field(default_factory=list)


def assess(detectors: Detectors) -> Assessment:
    """The window's severity from its detectors: the rules in this module's docstring."""
    reasons: list[tuple[str, str]] = []
    with detectors._lock:
        for state in detectors.states.values():
            sev = state.effective()
            if sev == NONE:
                continue
            flood = state.spec.floods and state.count >= FLOOD
            why = f"{state.spec.title}: {state.count}" + (f" (≥ {FLOOD}: a flood)" if flood else "")
            if state.spec.name == "operator":
                why = f"raised by the operator ({sev}): {state.example}"
            elif state.spec.name in ("resources", "performance", "app_down", "mysql_down"):
                why += f" ({state.example})"  # our own words, short: they say which
            reasons.append((sev, why))
    if not reasons:
        return Assessment(NONE, "no issues detected", [])
    reasons.sort(key=lambda r: -_RANK[r[0]])
    severity = reasons[0][0]
    texts = [f"{sev}: {why}" for sev, why in reasons]
    return Assessment(severity, texts[0], texts)
