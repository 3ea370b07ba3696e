"""The monitor: the seed's three terminals in one screen (application log, MySQL error log,
resources), detector hits highlighted and counted, the checkpoint countdown, an issue raised
by hand, and at the end the checkpoint's four checks."""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from runbook.screens.base import RunbookScreen
from runbook.screens.model import Monitor, fmt_bytes
from runbook.screens.visible import uncovered
from runbook.screens.widgets.banner import Banner
from runbook.screens.widgets.footer import KeysFooter
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.widgets import Header, Input, OptionList, RichLog, Sparkline, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from runbook.screens.bridge import RunDone

# Lines drawn per sample and log: more than anyone reads in a second; the rest are counted
# (and the detectors see every one). Drawing 10 000 lines a second would starve the keys.
SHOWN_PER_UPDATE = 60
SPARKS: tuple[tuple[str, str, str], ...] = (
    # sample key, label, unit
    ("cpu", "CPU", "%"),
    ("mem", "Memory", "%"),
    ("qps", "Queries/s", ""),
    ("app_ms", "App response", "ms"),
    ("mysqld_cpu", "mysqld CPU", "%"),
)
SEVERITY_STYLE = {"none": "green", "minor": "bold yellow", "major": "bold red"}
CHECK_MARK = {"pass": "✓", "fail": "✗", "unconfirmed": "?"}


def _hit_kind(line: str, source: str) -> str | None:
    """Which detector pattern a log line matches, to highlight it (the detectors count it)."""
    from runbook.monitor import detectors as d

    if d.CONSTRAINT.search(line):
        return "major"
    if d.DEADLOCK.search(line):
        return "major"
    if source == "app":
        m = d.LARAVEL_HEADER.match(line)
        if (m and m.group(3) in d.LARAVEL_BAD) or d.SQLSTATE.search(line):
            return "minor"
    else:
        m = d.MYSQL_HEADER.match(line)
        if m and m.group(1) in ("ERROR", "FATAL"):
            return "minor"
    return None


def styled_line(line: str, source: str) -> Text:
    kind = _hit_kind(line, source)
    if kind is None:
        return Text(line)
    # a marker as well as a colour: readable without colour
    mark = "!! " if kind == "major" else "!  "
    return Text(mark + line, style="bold red" if kind == "major" else "yellow")


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = max(0, round(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def status_text(m: Monitor, remaining: float | None, running: bool) -> Text:
    text = Text()
    text.append(f"Window {m.window or 1} ", style="bold")
    if running:
        text.append(f"· checkpoint in {clock(remaining)} ", style="bold cyan")
    else:
        text.append("· window over ", style="bold")
    sev = m.severity or "none"
    text.append(f"· severity: {sev.upper()} ", style=SEVERITY_STYLE.get(sev, ""))
    text.append(f"· hits {sum(m.counts.values())}", style="bold" if m.counts else "")
    return text


def resources_text(m: Monitor) -> Text:
    s = m.latest
    if not s:
        return Text("waiting for the first sample…", style="dim")
    db = "up" if s.get("db_ok") else "DOWN"
    app = s.get("app_status")
    lines = [
        f"MySQL {db} · {s.get('conns', '–')} conns",
        f"deadlocks {s.get('deadlocks', 0)} · lock waits {s.get('lock_waits', 0)}",
        f"aborted connects {s.get('aborted_connects', 0)}",
        f"mysqld RSS {fmt_bytes(s.get('mysqld_rss'))}",
        f"disk {s.get('disk', '–')} % used",
        f"App HTTP {app if app is not None else '–'} · {s.get('app_ms', '–')} ms",
    ]
    return Text("\n".join(lines))


def hits_text(m: Monitor) -> Text:
    if not m.counts:
        return Text("Detector hits: none", style="green")
    text = Text("Detector hits: ", style="bold")
    for name, n in m.counts.most_common():
        sev = m.severities.get(name, "minor")
        text.append(f"{name} {n} ({sev})  ", style=SEVERITY_STYLE.get(sev, ""))
    if m.hits:
        last = m.hits[-1]
        text.append(f"\nlast: [{last.get('source')}] {last.get('line')}", style="dim")
    return text


def checks_text(m: Monitor) -> Text | None:
    checks = m.checks or (m.verdict or {}).get("checks") or []
    if not checks:
        return None
    text = Text("30-minute checkpoint\n", style="bold")
    for c in checks:
        status = c.get("status", "unconfirmed")
        style = {"pass": "green", "fail": "bold red"}.get(status, "yellow")
        text.append(f" {CHECK_MARK.get(status, '?')} {c.get('name')}", style=style)
        text.append(f"  {c.get('detail', '')}\n", style="dim")
    return text


class MonitorScreen(RunbookScreen[None]):
    BINDINGS = [  # noqa: RUF012
        Binding("i", "raise_issue", "Raise issue"),
        Binding("e", "end_window", "End window"),
        Binding("f", "flow", "Flow"),
        Binding("r", "report", "Report"),
        Binding("escape", "close_issue", "Close", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._written = {"app": 0, "err": 0}
        self._sample_seen_at: float | None = None
        self._stale = False
        self._heights: dict[str, int] = {}
        self._hits_shown: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        yield Static(id="mon-status")
        with Horizontal(id="mon-body"):
            # stacked at 80 columns, side by side when wider (the seed's three terminals)
            with Container(id="logs"):
                yield RichLog(id="app-log", max_lines=1000, wrap=False, markup=False)
                yield RichLog(id="err-log", max_lines=1000, wrap=False, markup=False)
            with Vertical(id="resources"):
                for key, label, _unit in SPARKS:
                    yield Static(label, id=f"lbl-{key}", classes="spark-label")
                    yield Sparkline([], id=f"spark-{key}")
                yield Static(id="res-text")
        yield Static(id="mon-hits")
        with Vertical(id="issue-bar"):
            # composed once and shown on i: no screen to push while the logs pour in
            title = Text("Raise an issue by hand", style="bold")
            title.append("   Enter: then pick the severity · Esc: cancel", style="dim")
            yield Static(title, id="issue-title")
            yield Input(
                placeholder="what you saw (a user called, a page is wrong…)", id="issue-text"
            )
            yield OptionList(
                Option("minor: continue monitoring", id="minor"),
                Option("major: roll back", id="major"),
                id="issue-severity",
            )
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        # Everything alive now (Textual, sqlglot, the screens) stays alive: a full
        # collection walking it all took ~70 ms every few seconds while a fast log was
        # followed, and a key pressed then waited. Frozen objects are not walked again.
        gc.collect()
        gc.freeze()
        self.sub_title = "Post-deployment monitoring"
        self.query_one("#app-log").border_title = "Application log"
        self.query_one("#err-log").border_title = "MySQL error log"
        self.query_one("#resources").border_title = "Resources"
        self._paint()
        self.set_interval(1.0, self._countdown)

    def _remaining(self) -> float | None:
        m = self.rb.model.monitor
        if m.remaining_s is None or self._sample_seen_at is None:
            return m.remaining_s
        return max(0.0, m.remaining_s - (time.monotonic() - self._sample_seen_at))

    def _window_open(self) -> bool:
        model = self.rb.model
        return model.current == "monitor" and model.running

    def _countdown(self) -> None:
        if not uncovered(self):
            return
        self._update(
            "#mon-status",
            status_text(self.rb.model.monitor, self._remaining(), self._window_open()),
        )

    def _paint(self) -> None:
        m = self.rb.model.monitor
        self._countdown()
        self._write_logs(m)
        for key, label, unit in SPARKS:
            series = m.series(key)
            self.query_one(f"#spark-{key}", Sparkline).data = series[-60:] or [0.0]
            now = f"{series[-1]:.1f}{(' ' + unit) if unit else ''}" if series else "–"
            self._update(f"#lbl-{key}", Text(f"{label} {now}"))
        self._update("#res-text", resources_text(m))
        parts: list[Text] = [hits_text(m)]
        if (checks := checks_text(m)) is not None:
            parts.append(checks)
        # the hits wrap, and change seldom: redrawn (with a layout pass) when they do
        hits = "\n".join(part.plain for part in parts)
        if hits != self._hits_shown:
            self._hits_shown = hits
            self.query_one("#mon-hits", Static).update(Group(*parts))

    def _update(self, widget_id: str, text: Text) -> None:
        """A layout pass only when the widget's height changes: every layout pass also
        redraws the log panes' scrollbars, which is most of the screen. These widgets do
        not wrap (monitor.tcss), so their height is their count of lines."""
        lines = text.plain.count("\n") + 1
        changed = self._heights.get(widget_id) != lines
        self._heights[widget_id] = lines
        self.query_one(widget_id, Static).update(text, layout=changed)

    def _write_logs(self, m: Monitor) -> None:
        for key, widget_id, lines, total, source in (
            ("app", "#app-log", m.app_lines, m.app_lines_total, "app"),
            ("err", "#err-log", m.error_lines, m.error_lines_total, "mysql"),
        ):
            new = total - self._written[key]
            if new <= 0:
                continue
            log = self.query_one(widget_id, RichLog)
            shown = min(new, len(lines), SHOWN_PER_UPDATE)
            batch = Text()
            if new > shown:
                batch.append(f"… {new - shown} lines not drawn (counted)\n", style="dim italic")
            for line in list(lines)[-shown:] if shown else []:
                batch.append_text(styled_line(line, source))
                batch.append("\n")
            batch.rstrip()
            log.write(batch)  # one write: one render and one refresh for the whole batch
            self._written[key] = total
            log.border_subtitle = f"{total} lines"

    def model_changed(self, changed: set[str]) -> None:
        if "monitor" in changed or "flow" in changed or "step" in changed:
            self._sample_seen_at = time.monotonic()
            self._close_issue_if_over()
            if uncovered(self):
                self._paint()
            else:
                self._stale = True  # the lines are counted; drawn when shown again

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self._paint()

    def run_finished(self, message: RunDone) -> None:
        self._close_issue_if_over()
        self._paint()

    def _close_issue_if_over(self) -> None:
        """The window ended while an issue was being typed: say so, with the text, rather
        than leave a form open that can no longer record anything."""
        if not self._typing() or self._session() is not None:
            return
        text = self.query_one("#issue-text", Input).value.strip()
        self.action_close_issue()
        said = f": “{text}”" if text else ""
        self.notify(
            f"The window ended before the issue was raised; it was not recorded{said}. "
            "Report it at the checkpoint's question on user reports.",
            severity="warning",
            timeout=20,
        )

    def _session(self) -> object | None:
        state = getattr(self.rb.prompter.ctx, "state", None) or {}
        return state.get("monitor_session")

    def action_raise_issue(self) -> None:
        if self._typing():
            return
        if self._session() is None:
            self.notify("No monitoring window is running.", severity="warning")
            return
        bar = self.query_one("#issue-bar")
        bar.visible = True
        self.query_one("#issue-severity", OptionList).highlighted = 0
        # focus after the bar is drawn: the focus change restyles the panes and hides the
        # screen's letter keys in the footer (they type into the box now), and the bar
        # should not wait for that. Until then those keys do nothing (_typing).
        self.call_after_refresh(self.query_one("#issue-text", Input).focus)

    def action_close_issue(self) -> None:
        bar = self.query_one("#issue-bar")
        if bar.visible:
            bar.visible = False
            self.query_one("#issue-text", Input).value = ""
            self.set_focus(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#issue-severity", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        box = self.query_one("#issue-text", Input)
        text = box.value.strip()
        if not text:
            self.notify("Say what you saw first", severity="warning")
            box.focus()
            return
        session = self._session()
        if session is None:
            self._close_issue_if_over()
            return
        severity = str(event.option.id)
        # counted in the verdict now; journaled and drawn with the next sample
        session.raise_issue(text, severity)  # type: ignore[attr-defined]
        self.action_close_issue()
        self.notify(f"Issue raised ({severity}): it counts in this window's verdict")

    def _typing(self) -> bool:
        return bool(self.query_one("#issue-bar").visible)

    def action_end_window(self) -> None:
        if self._typing():
            return
        state = getattr(self.rb.prompter.ctx, "state", None) or {}
        stop = state.get("monitor_stop")
        if stop is None or not self._window_open():
            self.notify("No monitoring window is running.", severity="warning")
            return
        stop.set()
        self.notify("Ending the window early: the verdict says it was cut short.")

    def action_flow(self) -> None:
        if self._typing():
            return
        self.rb.show_run()

    def action_report(self) -> None:
        if self._typing():
            return
        self.rb.show_report()
