"""The banner no one can miss: DRY-RUN or REHEARSAL, on every screen."""

from __future__ import annotations

from textual.widgets import Static


class Banner(Static):
    """Shows the app's ``banner`` text; hidden when there is none (a real deployment)."""

    def on_mount(self) -> None:
        text = getattr(self.app, "banner", "")
        self.update(text)
        self.display = bool(text)
        self.set_class("-rehearsal" in getattr(self.app, "banner_class", ""), "-rehearsal")
