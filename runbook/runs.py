"""Starting a run: the one place every driver (CLI, Textual, rehearsal) builds a context and walks.

Drivers differ only in the prompter and the sink they pass; which actions run,
how the journal is opened and what is cleaned up afterwards is decided here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runbook import journal
from runbook.config import Config
from runbook.db import Target
from runbook.engine import Context, Event, Options, RunOutcome, StepAction, Walker
from runbook.prompter import Prompter

if TYPE_CHECKING:  # sqlglot loads with it: not at start-up
    from runbook.validator import ValidationResult


def actions() -> dict[str, StepAction]:
    """Every step action the flow knows, from the modules that implement them."""
    from runbook import archive, docs, notify, steps

    table: dict[str, StepAction] = {**docs.ACTIONS, **steps.ACTIONS}
    for module_name in ("runbook.testsuite", "runbook.rollback", "runbook.monitor"):
        try:
            module = __import__(module_name, fromlist=["ACTIONS"])
        except ModuleNotFoundError:
            continue
        table.update(getattr(module, "ACTIONS", {}))
    table["notify"] = notify.step_notify
    table["archive"] = archive.step_archive
    return table


def new_context(
    cfg: Config,
    options: Options,
    prompter: Prompter,
    sink: Callable[[Event], None],
    kind: str,
    validation: ValidationResult | None = None,
) -> Context:
    """``validation``: the migration set a driver validated already (e.g. another
    ``--sql-dir``); otherwise the config's set is validated here."""
    from runbook import archive
    from runbook.validator import validate

    target = Target(cfg.database, dry_run=options.dry_run)
    jr = journal.Journal.create(cfg.journal_dir, cfg.database.database, kind)
    ctx = Context(cfg, target, jr, prompter, options, sink)
    ctx.state["validation"] = validation if validation is not None else validate(cfg.sql_dir)
    ctx.state["command"] = kind
    archive.mark_logs(ctx)
    return ctx


def walk(
    ctx: Context,
    start: str,
    only: set[str] | None = None,
    extra: dict[str, Any] | None = None,
    until: str | None = None,
) -> RunOutcome:
    """Walk from ``start`` (to ``until``, when given); ``only`` limits the actions (e.g. no
    notification in dry-run)."""
    from runbook.steps import close_sessions, on_abort

    table = actions()
    if only is not None:
        table = {k: v for k, v in table.items() if k in only}
    ctx.state.update(extra or {})
    try:
        return Walker(ctx, table, on_abort=on_abort).walk(start, until=until)
    finally:
        close_sessions(ctx)
        ctx.journal.close()
