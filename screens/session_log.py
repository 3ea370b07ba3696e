"""A plain log of work that is not a walk of the flow (resume, a rehearsal starting up)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from runbook.screens.base import RunbookScreen
from runbook.screens.widgets.banner import Banner
from runbook.screens.widgets.footer import KeysFooter
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, RichLog, Static

if TYPE_CHECKING:
    from runbook.screens.bridge import RunDone

LEVEL_STYLE = {"error": "red", "warning": "yellow"}


class SessionLogScreen(RunbookScreen[None]):
    BINDINGS = [Binding("escape", "home", "Home")]  # noqa: RUF012

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        self._written = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        yield Static(Text(f"▸ {self.title_text}: running", style="bold yellow"), id="run-status")
        yield RichLog(id="session-log", wrap=True, markup=False)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = self.title_text
        self._write()

    def _write(self) -> None:
        notes = self.rb.model.notes
        log = self.query_one(RichLog)
        new = notes.said - self._written
        for level, text in list(notes.output)[-new:] if new > 0 else []:
            log.write(Text(text, style=LEVEL_STYLE.get(level, "")))
        self._written = notes.said

    def model_changed(self, changed: set[str]) -> None:
        if "notes" in changed:
            self._write()

    def run_finished(self, message: RunDone) -> None:
        self._write()
        ok = message.exit_code == 0
        text = Text(
            f"{'✓' if ok else '✗'} {self.title_text}: {message.outcome} (exit {message.exit_code})",
            style="bold green" if ok else "bold red",
        )
        text.append("  · Esc: home", style="dim")
        self.query_one("#run-status", Static).update(text)

    def action_home(self) -> None:
        self.rb.go_home()
