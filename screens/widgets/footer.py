"""The footer of every screen: the keys that work here.

Textual's Footer rebuilds all its keys whenever the focus moves. Focusing a text box
hides the screen's letter keys (they type into the box now) and leaving it brings them
back; on the full monitor screen each rebuild cost several redraws, and the next key
press waited for them. This footer hides and shows the keys it already has, and rebuilds
only when a key it does not have must be shown.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# (key, action, description, enabled)
Shown = tuple[tuple[str, str, str, bool], ...]


class KeysFooter(Footer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: Shown | None = None

    def _wanted(self, screen: Screen[Any]) -> Shown:
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (binding.key, binding.action, binding.description, enabled)
            for (_node, binding, enabled, _tip) in screen.active_bindings.values()
            if binding.show or binding.key == palette
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not (self.is_attached and screen is self.screen and screen.app.app_focus):
            # Textual's own rules (e.g. no rebuild while the terminal has no focus);
            # nothing is recorded as shown, so the next change is compared afresh
            super().bindings_changed(screen)
            return
        wanted = self._wanted(screen)
        if wanted == self._shown:
            return
        self._shown = wanted
        if not self._toggle(wanted):
            super().bindings_changed(screen)

    def _toggle(self, wanted: Shown) -> bool:
        """Show exactly ``wanted`` by hiding keys; False when a rebuild is needed."""
        keys = list(self.query(FooterKey))
        if not keys:
            return False
        by_id = {(k.key, k.action, k.description): k for k in keys}
        for key, action, description, enabled in wanted:
            known = by_id.get((key, action, description))
            if known is None or known._disabled == enabled:
                return False
        visible = {(key, action, description) for key, action, description, _ in wanted}
        with self.app.batch_update():
            for ident, key_widget in by_id.items():
                key_widget.display = ident in visible
        return True
