"""Test 6: ON DELETE CASCADE, SET NULL and RESTRICT, tried with real DELETEs, rolled back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from runbook.db import DatabaseError, Session
from runbook.model import ForeignKey, Table
from runbook.testsuite.errors import EmitFailed, Fail
from runbook.testsuite.keys import count_by_rule, rule_of
from runbook.testsuite.live import LiveTable, read_schema
from runbook.testsuite.report import plural
from runbook.testsuite.rows import RowBuilder
from runbook.testsuite.sqltext import where

if TYPE_CHECKING:
    from runbook.testsuite.suite import Suite


@contextmanager
def rolled_back(s: Session) -> Iterator[None]:
    """A transaction that never commits. On Ctrl-C the rollback is attempted but may fail
    (the connection can be half way through a reply): the drop of the database ends it."""
    s.execute("START TRANSACTION")
    try:
        yield
    except BaseException:
        with suppress(Exception):
            s.execute("ROLLBACK")
        raise
    s.execute("ROLLBACK")


def check_cascades(suite: Suite) -> list[str]:
    live = read_schema(suite.s, suite.scratch)
    cases: dict[tuple[str, str], list[tuple[Table, ForeignKey]]] = {}
    for table in suite.expected.tables.values():
        for fk in table.foreign_keys:
            cases.setdefault((fk.ref_table, rule_of(fk.on_delete)), []).append((table, fk))
    problems: list[str] = []
    done: dict[str, list[str]] = {}
    counted: Counter[str] = Counter()
    for (parent, rule), fks in cases.items():
        try:
            found = _case(suite, live, parent, rule, fks)
        except EmitFailed:
            raise
        except Fail as exc:  # one case that cannot run does not hide the others
            found = [f"{parent} (ON DELETE {rule}): {line}" for line in exc.evidence]
        except DatabaseError as exc:
            found = [f"{parent} (ON DELETE {rule}): the server said: [{exc.code}] {exc}"]
        problems += found
        if not found:
            counted[rule] += len(fks)
            tables = {t.name for t, _ in fks}
            what = plural(len(tables), "table") if rule == "CASCADE" else plural(len(fks), "column")
            done.setdefault(rule, []).append(f"{parent} → {what}")
    suite.checkpoint("after the cascade tests")
    if problems:
        raise Fail(problems)
    want = count_by_rule(fk.on_delete for fks in cases.values() for _, fk in fks)
    evidence = [
        f"{rule} {counted[rule]}/{want[rule]}: "
        + ", ".join(done[rule])
        + {"SET NULL": " (rows kept)", "RESTRICT": " (delete refused)"}.get(rule, "")
        for rule in sorted(done)
    ]
    return [*evidence, "each case: fresh rows, deleted with real DELETEs, rolled back"]


def _case(
    suite: Suite,
    live: dict[str, LiveTable],
    parent: str,
    rule: str,
    fks: list[tuple[Table, ForeignKey]],
) -> list[str]:
    s = suite.s
    problems: list[str] = []
    with rolled_back(s):
        b = RowBuilder(s, suite.scratch, live)
        prow = b.parent(parent)
        by_child: dict[str, list[ForeignKey]] = {}
        for table, fk in fks:
            by_child.setdefault(table.name, []).append(fk)
        children = []
        for child, cfks in by_child.items():
            fixed = {
                c: prow[rc] for fk in cfks for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
            }
            children.append((child, b.insert(child, fixed), cfks))
        suite.say(
            f"deleting a row of {parent}: expecting ON DELETE {rule} on "
            + plural(sum(len(c) for _, _, c in children), "foreign key")
        )
        pkey = live[parent].primary
        refused: DatabaseError | None = None
        try:
            s.execute(f"DELETE FROM {suite.q(parent)} WHERE {where(pkey)}", [prow[c] for c in pkey])
        except DatabaseError as exc:
            refused = exc
        if rule == "RESTRICT":
            if refused is None or refused.code != 1451:
                names = ", ".join(fk.name for _, _, c in children for fk in c)
                problems.append(
                    f"{names}: deleting a referenced {parent} row was "
                    + (f"refused with [{refused.code}] {refused}" if refused else "allowed")
                    + " (expected ON DELETE RESTRICT to refuse it, 1451)"
                )
            return problems
        if refused is not None:
            return [f"deleting a row of {parent} was refused: [{refused.code}] {refused}"]
        for child, row, cfks in children:
            ckey = live[child].primary
            after = s.query(
                f"SELECT * FROM {suite.q(child)} WHERE {where(ckey)}", [row[c] for c in ckey]
            )
            for fk in cfks:
                problems += _check_rule(fk, child, parent, rule, after[0] if after else None)
    return problems


def _check_rule(
    fk: ForeignKey, child: str, parent: str, rule: str, after: dict[str, Any] | None
) -> list[str]:
    if rule == "CASCADE":
        if after is not None:
            return [
                f"{fk.name}: deleting the {parent} row left its {child} row "
                "(expected ON DELETE CASCADE)"
            ]
        return []
    if rule == "SET NULL":
        if after is None:
            return [
                f"{fk.name}: deleting the {parent} row deleted its {child} row "
                "(expected ON DELETE SET NULL)"
            ]
        kept = [f"{child}.{c} = {after[c]!r}" for c in fk.columns if after[c] is not None]
        if kept:
            return [
                f"{fk.name}: deleting the {parent} row left {', '.join(kept)} (expected SET NULL)"
            ]
        return []
    return [f"{fk.name}: ON DELETE {rule} cannot be tested (InnoDB does not support it)"]
