"""Decisions: the modal at every branch of the seed, with its evidence and the safe option first.

The engine journals every answer (who, when, what) when ``ctx.ask`` returns; the
modal only collects it.
"""

from __future__ import annotations

from rich.text import Text
from runbook.screens.model import FAILED, MARKS, RunModel
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from runbook.prompter import Question

# The step whose evidence a decision is about.
STEP_OF = {
    "tests_failed": "test_suite",
    "migration_failed": "migrate",
    "verification_failed": "verify",
    "issues_detected": "monitor",
    "user_reports": "monitor",
    "checkpoint_failed": "checkpoint",
    "rollback_a": "rollback_a",
}


def context_lines(question: Question, model: RunModel | None) -> list[Text]:
    """What the screens know beyond the question's own evidence: failed checks, counts, hits."""
    if model is None:
        return []
    out: list[Text] = []
    step = model.steps.get(STEP_OF.get(question.id, ""))
    if step is not None and question.id != "rollback_a":
        for item in step.items:
            if item.status == FAILED:
                out.append(Text(f"{MARKS[FAILED]} {item.name}: {item.detail}", style="red"))
        for check in step.checks:
            if check.get("status") == "fail":
                out.append(Text(f"{MARKS[FAILED]} {check['name']}: {check['detail']}", style="red"))
    if question.id in ("issues_detected", "user_reports", "checkpoint_failed"):
        m = model.monitor
        if m.counts:
            counts = ", ".join(
                f"{name} {n} ({m.severities.get(name, '?')})" for name, n in m.counts.most_common()
            )
            out.append(Text(f"detector hits: {counts}", style="yellow"))
        for hit in list(m.hits)[-5:]:
            out.append(Text(f"  {hit.get('severity')}: {hit.get('line')}", style="dim"))
        if m.verdict:
            out.append(Text(f"severity: {m.verdict.get('severity')} ({m.verdict.get('reason')})"))
    return out


class DecisionModal(ModalScreen[str]):
    """Returns the key of the chosen option. There is no way out but an answer."""

    BINDINGS = [  # noqa: RUF012
        Binding("1", "pick(0)", "Option 1"),
        Binding("2", "pick(1)", "Option 2"),
        Binding("3", "pick(2)", "Option 3"),
        Binding("4", "pick(3)", "Option 4"),
    ]

    def __init__(self, question: Question, model: RunModel | None = None) -> None:
        super().__init__()
        self.question = question
        self.model = model
        safe_first = sorted(question.options, key=lambda o: o.key != question.safe)
        self.options = safe_first
        self._pending: str | None = None

    def compose(self) -> ComposeResult:
        q = self.question
        banner = getattr(self.app, "banner", "")
        with Vertical(id="dialog", classes="decision"):
            if banner:
                yield Static(banner, classes="dialog-banner")
            yield Static(Text(f"? {q.text}", style="bold"), classes="dialog-title")
            with VerticalScroll(id="evidence"):
                lines = context_lines(q, self.model)
                lines += [Text(f"  {line}") for line in q.evidence]
                if not lines:
                    lines = [Text("(no evidence recorded)", style="dim")]
                yield Static(Text("\n").join([Text("Evidence", style="bold"), *lines]))
            options = []
            for i, opt in enumerate(self.options):
                text = Text(f"{i + 1}  {opt.label}")
                if opt.key == q.safe:
                    text.append("  ← safe", style="bold green")
                options.append(Option(text, id=opt.key))
            yield OptionList(*options, id="choices")
            yield Input(placeholder=q.confirm_word or "", id="confirm")
            keys = "1" if len(self.options) == 1 else f"1-{min(len(self.options), 4)}"
            yield Static(
                f"↑↓ Enter or {keys} answers · your answer is journaled with your name and "
                "the time",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one("#confirm").display = False
        choices = self.query_one("#choices", OptionList)
        choices.highlighted = 0
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._choose(event.option.id)

    def action_pick(self, index: int) -> None:
        if index < len(self.options):
            self._choose(self.options[index].key)

    def _choose(self, key: str) -> None:
        q = self.question
        if q.confirm_word and key != q.safe:
            self._pending = key
            box = self.query_one("#confirm", Input)
            box.display = True
            box.border_title = f"type {q.confirm_word} to confirm"
            box.focus()
            return
        self.dismiss(key)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._pending and event.value.strip() == self.question.confirm_word:
            self.dismiss(self._pending)
        else:
            self.notify("Not confirmed: choose again", severity="warning")
            event.input.value = ""
            event.input.display = False
            self._pending = None
            self.query_one("#choices", OptionList).focus()


class TextModal(ModalScreen[str]):
    """One line of text for the record (e.g. the post-rollback note). Esc: the safe answer."""

    BINDINGS = [Binding("escape", "skip", "No note")]  # noqa: RUF012

    def __init__(self, question: Question) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="text-dialog"):
            yield Static(Text(self.question.text, style="bold"), classes="dialog-title")
            yield Input(placeholder="one line, Enter records it", id="text")
            yield Static("Enter records it · Esc records none", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or self.question.safe)

    def action_skip(self) -> None:
        self.dismiss(self.question.safe)


class ConfirmModal(ModalScreen[bool]):
    """Yes/no with the careful answer ("cancel") first and highlighted."""

    BINDINGS = [  # noqa: RUF012
        Binding("escape", "answer(False)", "Cancel"),
        Binding("y", "answer(True)", "Confirm", show=False),
    ]

    def __init__(self, title: str, body: str, *, confirm: str, cancel: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm = confirm
        self.cancel = cancel

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="confirm"):
            yield Static(Text(self.title_text, style="bold"), classes="dialog-title")
            yield Static(self.body)
            yield OptionList(
                Option(f"{self.cancel}  ← safe", id="no"),
                Option(self.confirm, id="yes"),
                id="choices",
            )

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        choices.highlighted = 0
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def quit_during_a_run() -> ConfirmModal:
    """Ctrl+Q while a run is going."""
    return ConfirmModal(
        "A run is in progress",
        "Quitting now aborts it: the runbook drops what this run created and "
        "brings the application back up, then quits. Or keep it running.",
        confirm="Abort the run and quit",
        cancel="Keep running",
    )


def abort_the_run() -> ConfirmModal:
    """Ctrl+C while a run is going (a second Ctrl+C confirms)."""
    return ConfirmModal(
        "Abort the run?",
        "The runbook journals the abort, drops what this run created, brings the "
        "application back up, and ends the run. Ctrl-C again confirms.",
        confirm="Abort the run",
        cancel="Keep running",
    )
