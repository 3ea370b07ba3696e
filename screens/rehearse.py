"""Rehearse from the home screen: which drill (or none) to practise on the sandbox."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


def drill_choices() -> list[tuple[str, str]]:
    from runbook import drills

    out = [("none", "No drill: a clean run")]
    for name in drills.names():
        if name == drills.RANDOM:
            out.append((name, "A surprise: one of the drills, named only in the debrief"))
        else:
            out.append((name, drills.DRILLS[name].title))
    return out


class DrillPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]  # noqa: RUF012

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="picker"):
            yield Static(
                Text("Rehearse on a throwaway sandbox", style="bold"), classes="dialog-title"
            )
            yield Static(
                "A private MariaDB and the Laravel app are started for this session and "
                "stopped when you quit. The drill puts a real fault into the sandbox at the "
                "moment it forces a decision; the debrief scores your answers."
            )
            yield OptionList(
                *[Option(Text(f"{name:<22}{title}"), id=name) for name, title in drill_choices()],
                id="choices",
            )

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        choices.highlighted = 0
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
