"""Every decision of the runbook goes through one prompter interface.

Drivers answer differently: a person at a terminal, ``--yes`` (the safe
default), no terminal and no ``--yes`` (stop and say what would be asked),
and the Textual screens (a modal). The engine does not know which.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Option:
    key: str
    label: str


@dataclass(frozen=True)
class Question:
    """A branch of the flow. ``safe`` is the answer ``--yes`` gives; it is listed first."""

    id: str
    text: str
    options: tuple[Option, ...]
    safe: str
    evidence: tuple[str, ...] = field(default=())
    # A typed confirmation, for answers that remove a safety net (e.g. skipping the backup).
    confirm_word: str | None = None

    def option(self, key: str) -> Option:
        for opt in self.options:
            if opt.key == key:
                return opt
        raise KeyError(key)


class NeedsOperator(Exception):
    """No one can answer: no terminal and no ``--yes``."""

    def __init__(self, question: Question) -> None:
        options = ", ".join(o.key for o in question.options)
        super().__init__(
            f"this needs an answer: {question.text} ({options}); "
            "run it in a terminal, or pass --yes to take the safe default "
            f"({question.safe})"
        )
        self.question = question


class Prompter(Protocol):
    def ask(self, question: Question) -> str:
        """Return the key of the chosen option."""
        ...

    def ask_text(self, question: Question) -> str:
        """A free-text answer (a note for the record); ``question.safe`` is the default."""
        ...


class SafeDefaultPrompter:
    """``--yes``: go on while every check passes, stop and roll back on any failure."""

    def ask(self, question: Question) -> str:
        return question.safe

    def ask_text(self, question: Question) -> str:
        return question.safe


class RefusingPrompter:
    """No TTY and no ``--yes``: never guess."""

    def ask(self, question: Question) -> str:
        raise NeedsOperator(question)

    def ask_text(self, question: Question) -> str:
        raise NeedsOperator(question)


class ConsolePrompter:
    """A person at a terminal, asked with Rich."""

    def __init__(self, console: object) -> None:
        self.console = console

    def ask(self, question: Question) -> str:
        from rich.prompt import Prompt

        console = self.console
        console.print()  # type: ignore[attr-defined]
        console.print(f"[bold yellow]?[/] [bold]{question.text}[/]")  # type: ignore[attr-defined]
        for line in question.evidence:
            console.print(f"    {line}", markup=False, highlight=False)  # type: ignore[attr-defined]
        for opt in question.options:
            tag = " (safe)" if opt.key == question.safe else ""
            console.print(f"    [cyan]{opt.key}[/] {opt.label}{tag}")  # type: ignore[attr-defined]
        keys = [o.key for o in question.options]
        answer = Prompt.ask("  answer", choices=keys, default=question.safe, console=console)
        if question.confirm_word and answer != question.safe:
            typed = Prompt.ask(
                f"  type [bold]{question.confirm_word}[/] to confirm", console=console
            )
            if typed.strip() != question.confirm_word:
                console.print("  not confirmed: taking the safe answer")  # type: ignore[attr-defined]
                return question.safe
        return answer

    def ask_text(self, question: Question) -> str:
        from rich.prompt import Prompt

        answer = Prompt.ask(
            f"  [bold]{question.text}[/] (Enter: {question.safe})",
            default="",
            console=self.console,  # type: ignore[arg-type]
        )
        return answer.strip() or question.safe


def for_terminal(yes: bool, console: object) -> Prompter:
    if yes:
        return SafeDefaultPrompter()
    if sys.stdin.isatty():
        return ConsolePrompter(console)
    return RefusingPrompter()
