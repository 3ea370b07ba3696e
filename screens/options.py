"""The deployment options, chosen before the run starts (the seed's "Start Deployment Script")."""

from __future__ import annotations

from runbook.screens.widgets.banner import Banner
from runbook.screens.widgets.footer import KeysFooter
from runbook.screens.widgets.marks import Choice
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, RadioSet, Static

from runbook.engine import Options

CONFIRM_WORD = "skip-backup"
CHOICES: tuple[tuple[str, str, str], ...] = (
    (
        "full",
        "Full safety (recommended)",
        "Backup, maintenance mode (users get HTTP 503 with Retry-After: 60) for the "
        "few seconds of cache clearing, migration and verification, then the app back up.",
    ),
    (
        "zero",
        "Zero downtime (--no-maintenance)",
        "Backup, no maintenance mode: the app keeps serving while the six tables are "
        "created. Safe for this set (new tables only), but a request may hit a half-created "
        "schema for a fraction of a second.",
    ),
    (
        "skip",
        "Skip backup (NOT RECOMMENDED: --skip-backup)",
        "No backup: Option B (restore) will have nothing recent to restore from. Only "
        "Option A (down migrations) can undo the deployment.",
    ),
)


class DeployOptionsScreen(Screen[Options | None]):
    BINDINGS = [  # noqa: RUF012
        Binding("s", "start", "Start the deployment"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, dry_run: bool = False) -> None:
        super().__init__()
        self.dry_run = dry_run

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        with Vertical(id="options"):
            yield Static("How should the deployment run?", classes="title")
            with RadioSet(id="choice"):
                for i, (_key, label, _what) in enumerate(CHOICES):
                    yield Choice(label, value=i == 0)
            yield Static(id="what")
            yield Static(
                f"⚠ WARNING: type {CONFIRM_WORD} to confirm that this deployment runs "
                "WITHOUT a backup",
                id="skip-warning",
            )
            yield Input(placeholder=CONFIRM_WORD, id="confirm")
            yield Static(
                "s starts the deployment · Esc goes back" + (" · DRY-RUN" if self.dry_run else ""),
                classes="hint",
            )
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Deployment options"
        self.query_one("#choice", RadioSet).focus()
        self._show(0)

    def _show(self, index: int) -> None:
        self.query_one("#what", Static).update(CHOICES[index][2])
        skip = CHOICES[index][0] == "skip"
        self.query_one("#skip-warning").display = skip
        self.query_one("#confirm").display = skip

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self._show(event.radio_set.pressed_index)

    def on_input_submitted(self) -> None:
        self.action_start()

    @property
    def choice(self) -> str:
        return CHOICES[max(0, self.query_one("#choice", RadioSet).pressed_index)][0]

    def action_start(self) -> None:
        choice = self.choice
        if choice == "skip" and self.query_one("#confirm", Input).value.strip() != CONFIRM_WORD:
            self.notify(f"Type {CONFIRM_WORD} to skip the backup", severity="error")
            self.query_one("#confirm", Input).focus()
            return
        self.dismiss(
            Options(
                dry_run=self.dry_run,
                no_maintenance=choice == "zero",
                skip_backup=choice == "skip",
            )
        )

    def action_back(self) -> None:
        self.dismiss(None)
