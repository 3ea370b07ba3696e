"""Documentation review: the plan, the checklist and the readiness summary, and the items the
operator ticks before going on (the seed's first pre-deployment step)."""

from __future__ import annotations

import time

from runbook.screens.widgets.banner import Banner
from runbook.screens.widgets.footer import KeysFooter
from runbook.screens.widgets.marks import TickList
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import (
    Header,
    MarkdownViewer,
    Static,
    TabbedContent,
    TabPane,
)

from runbook.docs import DOCUMENTS, read_doc, tick_items


class DocsReviewScreen(Screen[list[str] | None]):
    """Returns the ticked items (all of them) or None when the operator goes back."""

    BINDINGS = [  # noqa: RUF012
        Binding("1", "tab('plan')", "Plan"),
        Binding("2", "tab('checklist')", "Checklist"),
        Binding("3", "tab('readiness')", "Readiness"),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("c", "go_on", "Continue"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items = tick_items()
        self.opened = time.monotonic()
        self.seconds: float | None = None  # how long the review took, for the report

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        with Vertical(id="docs-body"):
            with TabbedContent(id="docs-tabs"):
                for tab_id, title, name in DOCUMENTS:
                    with TabPane(title, id=tab_id):
                        yield MarkdownViewer(read_doc(name), show_table_of_contents=False)
            with Vertical(id="ticks"):
                yield Static(
                    "Tick each item before going on (space ticks, c continues)", id="ticks-title"
                )
                yield TickList(*[(item, item) for item in self.items], id="tick-list")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Documentation review"
        self.query_one("#tick-list", TickList).focus()
        self._count()

    def _count(self) -> None:
        ticked = len(self.query_one("#tick-list", TickList).selected)
        title = self.query_one("#ticks-title", Static)
        left = len(self.items) - ticked
        title.update(
            f"✓ all {len(self.items)} items ticked: c continues"
            if not left
            else f"{ticked}/{len(self.items)} ticked, {left} to go (space ticks, c continues)"
        )

    def on_selection_list_selected_changed(self) -> None:
        self._count()

    def action_tab(self, tab_id: str) -> None:
        self.query_one("#docs-tabs", TabbedContent).active = tab_id

    def action_go_on(self) -> None:
        selected = self.query_one("#tick-list", TickList).selected
        missing = [i for i in self.items if i not in selected]
        if missing:
            self.notify(f"Not ticked yet: {missing[0]}", severity="warning")
            return
        self.seconds = round(time.monotonic() - self.opened, 1)
        self.dismiss(list(self.items))

    def action_back(self) -> None:
        self.dismiss(None)
