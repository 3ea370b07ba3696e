"""Tests 4 and 5: foreign keys and indexes read back; why the server would refuse an FK."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from runbook.db import Session
from runbook.model import Schema, Table, normalize_type
from runbook.testsuite.errors import Fail
from runbook.testsuite.live import read_schema
from runbook.testsuite.sqltext import placeholders

if TYPE_CHECKING:
    from runbook.testsuite.suite import Suite


def rule_of(on_delete: str) -> str:
    # InnoDB treats RESTRICT and NO ACTION alike, and the servers print either for "unset"
    return "RESTRICT" if on_delete in ("RESTRICT", "NO ACTION") else on_delete


def count_by_rule(rules: Iterable[str]) -> Counter[str]:
    return Counter(rule_of(r) for r in rules)


def _rules_text(counts: Counter[str]) -> str:
    return ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))


def topic(problem: str) -> str:
    """Which of the nine tests a verify() problem belongs to."""
    if ": foreign key " in problem or problem.startswith("foreign_keys:"):
        return "fk"
    if ": index " in problem or problem.startswith(("indexes:", "unique_indexes:")):
        return "index"
    if "orphaned" in problem:
        return "data"
    return "schema"


# -- 4. foreign keys -----------------------------------------------------------------------


def check_foreign_keys(suite: Suite) -> list[str]:
    s = suite.s
    want = count_by_rule(
        fk.on_delete for t in suite.expected.tables.values() for fk in t.foreign_keys
    )
    total = sum(want.values())
    if suite.migrate_name not in suite.passed:
        problems = fk_compat(s, suite.scratch, suite.expected, list(suite.expected.tables.values()))
        raise Fail(
            [
                f"not read back: {suite.migrate_name} failed",
                *(
                    problems
                    or [
                        "every parent column matches its FK column in the clone; "
                        "see the server's error"
                    ]
                ),
            ]
        )
    assert suite.verified is not None
    problems = [p for p in suite.verified.problems if topic(p) == "fk"]
    names = list(suite.expected.tables)
    rows = s.query(
        "SELECT delete_rule AS r FROM information_schema.REFERENTIAL_CONSTRAINTS "
        f"WHERE constraint_schema = %s AND table_name IN ({placeholders(len(names))})",
        [suite.scratch, *names],
    )
    got = count_by_rule(r["r"] for r in rows)
    if got != want:
        problems.append(f"ON DELETE rules read back: {_rules_text(got)}; sql/: {_rules_text(want)}")
    if problems:
        raise Fail(problems)
    return [
        f"{sum(got.values())}/{total} foreign keys read back from information_schema match "
        f"sql/ by name, columns, parent and ON DELETE ({_rules_text(got)})"
    ]


# -- 5. indexes ------------------------------------------------------------------------------


def check_indexes(suite: Suite) -> list[str]:
    assert suite.verified is not None
    problems = [p for p in suite.verified.problems if topic(p) == "index"]
    if problems:
        raise Fail(problems)
    counts = suite.verified.counts
    return [
        f"{counts['indexes']} indexes ({counts['unique_indexes']} unique, PRIMARY included) "
        f"on {counts['tables']} tables match sql/ by name and columns",
        "no index the DDL does not declare (every foreign key column leads a declared index)",
    ]


# -- why an FK is refused ----------------------------------------------------------------------


def fk_compat(s: Session, db: str, expected: Schema, tables: Sequence[Table | None]) -> list[str]:
    """Why the server would refuse these tables' FKs (errno 150): the model's FK columns
    against the parent columns in ``db`` (type, sign, collation, an index leading with them)."""
    live = read_schema(s, db)
    problems: list[str] = []
    for table in tables:
        if table is None:
            continue
        for fk in table.foreign_keys:
            model_parent = expected.table(fk.ref_table)
            parent_live = live.get(fk.ref_table)
            if parent_live is None and model_parent is None:
                problems.append(f"{fk.name}: the parent table {fk.ref_table} does not exist")
                continue
            for c, rc in zip(fk.columns, fk.ref_columns, strict=True):
                col = table.column(c)
                if col is None:
                    continue
                # the parent as the server has it, or as sql/ will create it
                parent: tuple[str, str | None] | None = None
                if parent_live is not None:
                    pcol = parent_live.column(rc)
                    if pcol is not None:
                        parent = normalize_type(pcol.column_type), pcol.collation
                else:
                    assert model_parent is not None
                    mcol = model_parent.column(rc)
                    if mcol is not None:
                        parent = mcol.type, model_parent.column_collation(rc)
                if parent is None:
                    problems.append(f"{fk.name}: {fk.ref_table}.{rc} does not exist")
                    continue
                ptype, pcoll = parent
                ccoll = table.column_collation(c)
                here = f"{table.name}.{c} ({col.type}{f' {ccoll}' if ccoll else ''})"
                there = f"{fk.ref_table}.{rc} ({ptype}{f' {pcoll}' if pcoll else ''})"
                if col.is_string:
                    if ccoll and pcoll and ccoll != pcoll:
                        problems.append(
                            f"{fk.name}: {here} references {there}: the collations differ, "
                            "which the server refuses (errno 150)"
                        )
                elif col.type != ptype:
                    problems.append(
                        f"{fk.name}: {here} references {there}: the types differ, "
                        "which the server refuses (errno 150)"
                    )
            if parent_live is not None and parent_live.index_leading(fk.ref_columns) is None:
                problems.append(
                    f"{fk.name}: no index on {fk.ref_table} starts with "
                    f"({', '.join(fk.ref_columns)}) (errno 150)"
                )
    return problems
