"""Whether a screen can be seen.

Textual's ``Screen.is_current`` is also true for the screen just beneath the top one
(in case the top one is see-through), so a screen covered by the opaque monitor would
go on repainting: each of its updates makes the monitor redraw the same regions, which
is what kept key presses waiting while a fast log was followed.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen


def uncovered(screen: Screen[Any]) -> bool:
    """True when ``screen`` is on top, or only see-through screens (modals) cover it."""
    stack = screen.app.screen_stack
    if screen not in stack:
        return False
    above = stack[stack.index(screen) + 1 :]
    return all(s.styles.background.a < 1 for s in above)
