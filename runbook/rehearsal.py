"""``runbook rehearse``: the guided runbook against a throwaway sandbox, with an optional drill.

A :class:`Rehearsal` brings the sandbox up, writes the config the run uses (the
sandbox's, with the monitoring window compressed and the journal and backups in
the rehearsal's own directory), arms the drill, and on every way out (the
normal end, an exception, Ctrl-C, SIGTERM, SIGHUP) disarms the drill and stops
the sandbox::

    with Rehearsal.start(directory, "verification-failure") as r:
        sink = r.wrap_sink(my_sink)          # the drill's fault rides on the events
        ctx = runs.new_context(r.config, Options(), prompter, sink, "deploy")
        runs.walk(ctx, "preflight")
        print(r.debrief().as_markdown())

The debrief reads the journals: each decision the trainee took against the
drill's expected answer, how long it took (from the question appearing, i.e.
the event before it, to the answer), and the run's end against the expected one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from runbook import config as config_mod
from runbook import drills, exitcodes, flow, journal
from runbook.config import Config
from runbook.drills import OUTCOME, Drill, DrillError, UnknownDrill
from runbook.engine import Context, Event, Options, RunOutcome
from runbook.prompter import Prompter
from runbook.signals import Interrupted, Signals

DEFAULT_MINUTES = 0.1  # the monitoring window of a rehearsal: 6 s instead of 30 min
CLEAN_RUN_BRIEFING = (
    "Deploy Phase 2 to the sandbox as you would in production, and watch the "
    "(compressed) monitoring window. Follow the runbook at every decision."
)
CLEAN_RUN_LESSON = (
    "A clean run: every check passed, the backup was verified, six tables were "
    "created and verified, and monitoring found nothing. Compare the measured time "
    "of each phase with the seed's estimate."
)

Progress = Callable[[str], None]


# -- the debrief ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One decision of the run (or its end, ``question == "outcome"``)."""

    question: str  # the decision id, or "outcome"
    text: str
    answer: str | None  # None: the run never got there
    expected: tuple[str, ...] | None  # None: nothing expected (shown, not scored)
    right: bool | None  # None: not scored (automatic, or nothing expected)
    seconds: float | None  # from the question appearing to the answer
    automatic: bool = False
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "answer": self.answer,
            "expected": list(self.expected) if self.expected is not None else None,
            "right": self.right,
            "seconds": self.seconds,
            "automatic": self.automatic,
            "note": self.note,
        }


@dataclass(frozen=True)
class Score:
    right: int
    total: int

    def __str__(self) -> str:
        return f"{self.right}/{self.total}"


@dataclass
class Debrief:
    drill: str | None  # the drill's name; None for a clean run
    title: str
    fault: str  # what was done to the sandbox, and when
    lesson: str
    rows: list[Row] = field(default_factory=list)
    journals: list[Path] = field(default_factory=list)

    @property
    def score(self) -> Score:
        scored = [r for r in self.rows if r.right is not None]
        return Score(sum(1 for r in scored if r.right), len(scored))

    @property
    def decisions(self) -> list[Row]:
        """The trainee's own decisions (not the automatic branches, not the outcome)."""
        return [r for r in self.rows if r.question != OUTCOME and not r.automatic]

    @property
    def outcome(self) -> Row:
        return next(r for r in self.rows if r.question == OUTCOME)

    def as_json(self) -> dict[str, Any]:
        return {
            "drill": self.drill,
            "title": self.title,
            "fault": self.fault,
            "lesson": self.lesson,
            "score": {"right": self.score.right, "total": self.score.total},
            "rows": [r.as_json() for r in self.rows],
            "journals": [str(p) for p in self.journals],
        }

    def as_markdown(self) -> str:
        name = f" (`{self.drill}`)" if self.drill else ""
        lines = [
            f"# Rehearsal debrief: {self.title}{name}",
            "",
            f"**Fault:** {self.fault}",
            "",
            "| Decision | Your answer | Expected | Verdict | Time |",
            "|---|---|---|---|---|",
        ]
        for r in self.rows:
            lines.append(
                f"| {_md(r.text)} (`{r.question}`) | {_md(r.answer or '—')} | "
                f"{_md(' or '.join(r.expected) if r.expected else '—')} | {_verdict(r)} | "
                f"{_seconds(r)} |"
            )
        lines += ["", f"**Score:** {self.score}", "", "## Lesson", "", self.lesson]
        return "\n".join(lines) + "\n"

    def lines(self) -> list[str]:
        """Plain lines for a terminal or a log (no Markdown)."""
        out = [f"DEBRIEF: {self.title}" + (f" ({self.drill})" if self.drill else "")]
        out.append(f"fault: {self.fault}")
        for r in self.rows:
            line = f"  {_verdict(r):10} {r.text} → {r.answer or '(not reached)'}"
            if r.expected and not r.automatic:
                line += f"; expected {' or '.join(r.expected)}"
            if r.seconds is not None:
                line += f"; answered in {_seconds(r)}"
            if r.note:
                line += f" ({r.note})"
            out.append(line)
        out.append(f"score: {self.score}")
        out.append(f"lesson: {self.lesson}")
        return out


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _verdict(row: Row) -> str:
    if row.automatic:
        return "automatic"
    if row.right is None:
        return "not scored"
    return "✓ right" if row.right else "✗ wrong"


def _seconds(row: Row) -> str:
    return "—" if row.seconds is None else f"{row.seconds:.1f} s"


def _ts(event: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(event.get("ts")))
    except ValueError:
        return None


def build_debrief(drill: Drill | None, journal_paths: Sequence[Path]) -> Debrief:
    """Each decision in the journals against the drill's expectations, with its time."""
    runs_events = [journal.read(Path(p)) for p in journal_paths]
    ordered = sorted(
        ((events, Path(p)) for events, p in zip(runs_events, journal_paths, strict=True) if events),
        key=lambda pair: str(pair[0][0].get("ts")),
    )
    expected: dict[str, drills.Expect] = dict(drill.expected) if drill else {OUTCOME: "success"}
    exit_expected = drill.exit_code if drill else exitcodes.OK
    optional = drill.optional if drill else frozenset()
    rows: list[Row] = []
    seen: set[str] = set()
    last_end: dict[str, Any] | None = None
    for events, _path in ordered:
        previous: dict[str, Any] | None = None
        for event in events:
            kind = event.get("event")
            if kind == "decision":
                rows.append(_decision_row(event, previous, expected))
                seen.add(str(event.get("question")))
            elif kind == journal.RUN_END:
                last_end = event
            previous = event
    for question, want in expected.items():
        if question == OUTCOME or question in seen or question in optional:
            continue
        rows.append(
            Row(
                question,
                _title(question),
                None,
                _as_tuple(want),
                False,
                None,
                note="never reached",
            )
        )
    rows.append(_outcome_row(last_end, _as_tuple(expected.get(OUTCOME, "success")), exit_expected))
    if drill is None:
        title, fault, lesson, name = "Clean run", "none: a clean run", CLEAN_RUN_LESSON, None
    else:
        title, lesson, name = drill.title, drill.lesson, drill.name
        fault = drill.fault
        if drill.error:
            fault += f". THE FAULT COULD NOT BE INJECTED ({drill.error}): this was a plain run"
        elif drill.fired_at is None:
            fault += ". The run never reached the moment of the fault: it was not injected"
        elif drill.injected:
            at = datetime.fromtimestamp(drill.fired_at).strftime("%H:%M:%S")
            fault += f". At {at}: " + "; ".join(drill.injected)
    return Debrief(name, title, fault, lesson, rows, [p for _e, p in ordered])


def _as_tuple(value: drills.Expect) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _title(question: str) -> str:
    node = flow.NODES.get(question)
    return node.title if node is not None else question


def _decision_row(
    event: dict[str, Any], previous: dict[str, Any] | None, expected: dict[str, drills.Expect]
) -> Row:
    question = str(event.get("question"))
    answer = str(event.get("answer"))
    automatic = bool(event.get("automatic"))
    want = expected.get(question)
    want_t = _as_tuple(want) if want is not None else None
    seconds: float | None = None
    if not automatic and previous is not None:
        # The question appeared right after the event before it: for a branch of the
        # flow that is the step_end whose evidence the question shows.
        start, end = _ts(previous), _ts(event)
        if start is not None and end is not None:
            seconds = max(0.0, (end - start).total_seconds())
    right = None if automatic or want_t is None else answer in want_t
    return Row(
        question,
        str(event.get("text") or _title(question)),
        answer,
        want_t,
        right,
        seconds,
        automatic=automatic,
    )


def _outcome_row(end: dict[str, Any] | None, want: tuple[str, ...], exit_expected: int) -> Row:
    if end is None:
        return Row(OUTCOME, "Outcome", None, want, False, None, note="the run did not end")
    outcome = str(end.get("outcome"))
    code = end.get("exit_code")
    right = outcome in want and code == exit_expected
    return Row(
        OUTCOME,
        "Outcome",
        f"{outcome} (exit {code})",
        tuple(f"{w} (exit {exit_expected})" for w in want),
        right,
        None,
        note=str(end.get("title") or ""),
    )


# -- signals ----------------------------------------------------------------------------


# -- the rehearsal ----------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are TOML escapes
    raise TypeError(f"cannot write {type(value).__name__} to the rehearsal config")


def _toml(data: dict[str, Any]) -> str:
    lines = ["# Written by `runbook rehearse`: the sandbox's config, compressed monitoring."]
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {_toml_value(value)}")
    for section, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _private_dir(prefix: str) -> Path:
    # /tmp, not $TMPDIR: a sandbox's socket path must stay short
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


class Rehearsal:
    """A running rehearsal: the sandbox, the config the run uses, and the armed drill."""

    def __init__(
        self,
        sandbox: Any,
        drill: Drill | None,
        *,
        workdir: Path,
        minutes: float,
        owns_sandbox: bool,
        remove_sandbox_dir: bool,
        remove_workdir: bool,
        progress: Progress | None = None,
        guard: Signals | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.drill = drill
        self.workdir = workdir
        self.minutes = minutes
        self.owns_sandbox = owns_sandbox
        self._remove_sandbox_dir = remove_sandbox_dir
        self._remove_workdir = remove_workdir
        self._say = progress or (lambda _msg: None)
        self._guard = guard
        self._stopped = False
        self._final: Debrief | None = None
        self._inject: Callable[[Event], None] | None = None
        self.config_path = workdir / "runbook.toml"
        self._write_config()
        self.config: Config = config_mod.load(self.config_path)
        self._journals_before = set(self._journal_files())

    # -- starting -----------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        directory: Path | None = None,
        drill: str | Drill | None = None,
        minutes: float = DEFAULT_MINUTES,
        progress: Progress | None = None,
    ) -> Rehearsal:
        """Bring the sandbox up in ``directory`` (default: a new one in /tmp) and arm ``drill``.

        A sandbox already running in ``directory`` is reset to how ``up`` left it
        and left running afterwards (someone else started it); one this call
        starts is stopped by :meth:`stop`, and a directory it created is removed.
        Raises UnknownDrill before anything starts.
        """
        from runbook.sandbox import Sandbox

        chosen = drills.get(drill) if isinstance(drill, str) else drill
        _check_minutes(minutes)
        say = progress or (lambda _msg: None)
        guard = Signals()
        guard.install()
        created = directory is None
        where = _private_dir("rb-rehearse-") if directory is None else Path(directory)
        where = where.expanduser().absolute()
        sandbox = None
        reused = False
        try:
            if (where / "sandbox.json").exists():
                reused = Sandbox.open(where).status()["state"] == "up"
            sandbox = Sandbox.up(where, progress=say)
            if reused:
                say(f"the sandbox in {where} was already up: resetting it for the rehearsal")
                sandbox.reset()
            return cls._begin(
                sandbox,
                chosen,
                minutes=minutes,
                workdir=None,
                owns_sandbox=not reused,
                remove_sandbox_dir=created,
                progress=say,
                guard=guard,
            )
        except BaseException:
            # Sandbox.up stops what it started when it fails; after it returned, we do.
            guard.shielded = True
            try:
                if sandbox is not None and not reused:
                    with contextlib.suppress(Exception):
                        sandbox.down(progress=say)
                if created:
                    shutil.rmtree(where, ignore_errors=True)
            finally:
                guard.restore()
            raise

    @classmethod
    def attach(
        cls,
        sandbox: Any,
        drill: str | Drill | None = None,
        minutes: float = DEFAULT_MINUTES,
        workdir: Path | None = None,
        progress: Progress | None = None,
    ) -> Rehearsal:
        """A rehearsal on a sandbox that is already up (tests; a driver that manages it).

        :meth:`stop` disarms the drill but leaves the sandbox running. ``workdir``
        (default: a new private directory, removed by ``stop``) receives the
        config, the journals and the backups.
        """
        chosen = drills.get(drill) if isinstance(drill, str) else drill
        _check_minutes(minutes)
        return cls._begin(
            sandbox,
            chosen,
            minutes=minutes,
            workdir=workdir,
            owns_sandbox=False,
            remove_sandbox_dir=False,
            progress=progress,
            guard=None,
        )

    @classmethod
    def _begin(
        cls,
        sandbox: Any,
        drill: Drill | None,
        *,
        minutes: float,
        workdir: Path | None,
        owns_sandbox: bool,
        remove_sandbox_dir: bool,
        progress: Progress | None,
        guard: Signals | None,
    ) -> Rehearsal:
        own_workdir = workdir is None
        where = _private_dir("rb-rehearsal-") if workdir is None else Path(workdir)
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            rehearsal = cls(
                sandbox,
                drill,
                workdir=where,
                minutes=minutes,
                owns_sandbox=owns_sandbox,
                remove_sandbox_dir=remove_sandbox_dir,
                remove_workdir=own_workdir,
                progress=progress,
                guard=guard,
            )
            if drill is not None:
                rehearsal._inject = drill.arm(sandbox)
        except BaseException:
            if own_workdir:
                shutil.rmtree(where, ignore_errors=True)
            raise
        return rehearsal

    def _write_config(self) -> None:
        with open(self.sandbox.config_path, "rb") as handle:
            data = tomllib.load(handle)
        data.setdefault("monitor", {})["minutes"] = self.minutes
        for section, name in (("journal", "journal"), ("backup", "backups")):
            path = self.workdir / name
            path.mkdir(mode=0o700, exist_ok=True)
            data.setdefault(section, {})["dir"] = str(path)
        # 0600 from the moment it exists: it holds the sandbox's password
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(_toml(data))

    # -- using it -----------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        return Path(self.sandbox.dir)

    @property
    def banner(self) -> str:
        if self.drill is None:
            what = "no drill: a clean run"
        elif self.drill.hidden:
            what = "drill: a surprise (named in the debrief)"
        else:
            what = f"drill: {self.drill.name} ({self.drill.title})"
        return f"REHEARSAL — sandbox {self.directory} — {what}"

    @property
    def briefing(self) -> str:
        return self.drill.briefing if self.drill is not None else CLEAN_RUN_BRIEFING

    def wrap_sink(self, sink: Callable[[Event], None]) -> Callable[[Event], None]:
        """``sink`` with the drill's fault injector behind it (the event is shown first)."""
        inject = self._inject
        if inject is None:
            return sink

        def sink_with_drill(event: Event) -> None:
            try:
                sink(event)
            finally:
                inject(event)

        return sink_with_drill

    def run(
        self, prompter: Prompter, sink: Callable[[Event], None], *, yes: bool = False
    ) -> list[tuple[RunOutcome, Context]]:
        """The whole rehearsal headless: the deployment, then (if it deployed) monitoring."""
        from runbook import runs

        wrapped = self.wrap_sink(sink)
        ctx = runs.new_context(self.config, Options(yes=yes), prompter, wrapped, "deploy")
        done = [(runs.walk(ctx, "preflight"), ctx)]
        deployed = done[0][0].outcome == "success" and "deployed" in done[0][0].visited
        if deployed and "monitor" in runs.actions():
            ctx = runs.new_context(self.config, Options(yes=yes), prompter, wrapped, "monitor")
            done.append((runs.walk(ctx, "monitor"), ctx))
        return done

    def _journal_files(self) -> list[Path]:
        return sorted(self.config.journal_dir.glob("*.jsonl"))

    def journals(self) -> list[Path]:
        """The journals of this rehearsal's runs, oldest first."""
        return [p for p in self._journal_files() if p not in self._journals_before]

    def debrief(self, journal_paths: Sequence[Path] | None = None) -> Debrief:
        """The trainee's decisions against the drill's (default: this rehearsal's journals).

        After :meth:`stop` has removed the rehearsal's directory, the debrief
        taken at stop time is returned.
        """
        paths = list(journal_paths) if journal_paths is not None else None
        gone = paths is None or not all(Path(p).exists() for p in paths)
        if self._stopped and self._final is not None and gone:
            return self._final
        if paths is None:
            paths = self.journals()
        return build_debrief(self.drill, paths)

    # -- stopping -----------------------------------------------------------------------

    def stop(self) -> None:
        """Disarm the drill, then stop the sandbox (if this rehearsal started it). Idempotent.

        Signals are held off meanwhile. Raises DrillError if the fault could not be
        undone (the sandbox is stopped first all the same).
        """
        if self._stopped:
            return
        self._stopped = True
        guard = self._guard or Signals()
        guard.shielded = True
        problem: DrillError | None = None
        try:
            if self.drill is not None:
                try:
                    self.drill.disarm()
                except DrillError as exc:
                    problem = exc
            with contextlib.suppress(Exception):
                self._final = build_debrief(self.drill, self.journals())
            if self.owns_sandbox:
                self._say("stopping the sandbox")
                self.sandbox.down(progress=self._say)
                if self._remove_sandbox_dir:
                    shutil.rmtree(self.directory, ignore_errors=True)
            if self._remove_workdir:
                self._say(f"removing the rehearsal's config, journal and backups ({self.workdir})")
                shutil.rmtree(self.workdir, ignore_errors=True)
        finally:
            guard.restore()
        if guard.ignored:
            self._say(f"ignored {', '.join(guard.ignored)} while stopping the sandbox")
        if problem is not None:
            raise problem

    def __enter__(self) -> Rehearsal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _check_minutes(minutes: float) -> None:
    if not minutes > 0:
        raise ValueError(f"the monitoring window must be above 0 minutes, not {minutes}")


# -- runbook rehearse, without a terminal UI -------------------------------------------


def run_headless(
    drill: str | None,
    directory: Path | None,
    yes: bool,
    console: Any,
    *,
    minutes: float = DEFAULT_MINUTES,
) -> int:
    """``runbook rehearse [--drill NAME]`` without a TTY: returns the last run's exit code.

    Sandbox up, the deployment (and monitoring, when it deployed) with Rich lines,
    the debrief, sandbox down, whatever happens in between.
    """
    from rich.markup import escape

    from runbook.commands import Renderer, summary_lines
    from runbook.prompter import NeedsOperator, for_terminal
    from runbook.sandbox import SandboxError

    try:
        chosen = drills.get(drill) if drill else None
        _check_minutes(minutes)
    except (UnknownDrill, ValueError) as exc:
        console.print(f"[red]runbook rehearse: {escape(str(exc))}[/]")
        return exitcodes.CONFIG_ERROR

    def say(message: str) -> None:
        console.print(f"  [dim]{escape(message)}[/]")

    code = exitcodes.FAILED
    try:
        with Rehearsal.start(directory, chosen, minutes=minutes, progress=say) as r:
            console.print(f"[bold magenta]{escape(r.banner)}[/]")
            console.print(f"[magenta]briefing:[/] {escape(r.briefing)}")
            prompter = for_terminal(yes, console)
            try:
                outcome, ctx = r.run(prompter, Renderer(console), yes=yes)[-1]
                code = outcome.exit_code
                console.print()
                for line in summary_lines(outcome, ctx):
                    console.print(f"  {escape(line)}")
            except NeedsOperator as exc:
                console.print(f"[red]runbook rehearse: {escape(str(exc))}[/]")
            debrief = r.debrief()
            console.print()
            for i, line in enumerate(debrief.lines()):
                console.print(f"[bold]{escape(line)}[/]" if i == 0 else escape(line))
    except SandboxError as exc:
        console.print(f"[red]runbook rehearse: {escape(str(exc))}[/]")
        return exc.exit_code
    except DrillError as exc:
        console.print(f"[red]runbook rehearse: {escape(str(exc))}[/]")
        return exitcodes.NEEDS_PERSON if code == exitcodes.OK else code
    except (KeyboardInterrupt, Interrupted) as exc:
        name = exc.signame if isinstance(exc, Interrupted) else "SIGINT"
        console.print(f"[red]rehearsal interrupted by {name}; the sandbox was stopped[/]")
        return exitcodes.FAILED
    return code
