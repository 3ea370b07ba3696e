"""Ticks and radio buttons that say their state in characters, not only in colour.

Textual draws a ticked and an unticked box the same (an X, dimmed or not), and every
radio button with the same dot: over SSH with ``NO_COLOR``, or on a terminal with a
poor palette, an operator could not tell what is ticked or chosen. Here an unticked
box and an unchosen button are empty.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import RadioButton, SelectionList
from textual.widgets.option_list import OptionDoesNotExist

EMPTY = " "


class TickList(SelectionList[str]):
    """A SelectionList whose unticked boxes are empty."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        _, scroll_y = self.scroll_offset
        try:
            selection = self.get_option_at_index(scroll_y + y)
        except OptionDoesNotExist:
            return strip
        if selection.value in self.selected:
            return strip
        segments = list(strip)
        if len(segments) < 4:
            return strip
        inner = segments[1]
        segments[1] = Segment(EMPTY * len(inner.text), inner.style, inner.control)
        return Strip(segments, strip.cell_length)


class Choice(RadioButton):
    """A RadioButton whose dot shows only when it is the one chosen."""

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:
        return "●" if self.value else EMPTY
