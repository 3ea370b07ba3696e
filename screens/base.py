"""What every screen of the runbook app shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen

if TYPE_CHECKING:
    from runbook.screens.app import RunbookApp

ResultT = TypeVar("ResultT")


class RunbookScreen(Screen[ResultT]):
    @property
    def rb(self) -> RunbookApp:
        """The app, typed as the runbook's (its model, config, runs)."""
        return self.app  # type: ignore[return-value]
