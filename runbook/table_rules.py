"""The per-table rules: tenancy (RB2xx), foreign keys (RB3xx), keys, types, names (RB4xx)."""

from __future__ import annotations

from runbook.ddl import TableDef
from runbook.findings import Where
from runbook.model import ForeignKey, Table, base_type

MAX_IDENTIFIER = 64


def check_table(
    tdef: TableDef,
    known: dict[str, Table],
    later: dict[str, str],
    unreadable: set[str],
    where: Where,
) -> None:
    """All per-table rules for one migration table.

    ``known``: parent tables it may reference (baseline and earlier migrations);
    ``later``: table → migration for tables created after this one (to say "reorder");
    ``unreadable``: tables whose migration didn't parse (already reported).
    """
    t = tdef.table
    _tenancy(t, where)
    for ref in tdef.inline_references:
        where.add(
            "RB301",
            ref.line,
            f"column {ref.column} uses inline REFERENCES {ref.ref_table}: MySQL ignores it "
            "(no constraint), MariaDB creates one; declare CONSTRAINT ... FOREIGN KEY instead",
        )
    for fk in t.foreign_keys:
        _foreign_key(t, fk, known, later, unreadable, where)
    _table_options(tdef, where)
    _names(tdef, where)
    _index_overlap(t, where)
    _nullable_unique(t, where)
    _column_defaults(t, where)
    _auto_increment(t, where)


def _tenancy(t: Table, where: Where) -> None:
    col = t.column("company_id")
    if col is None:
        where.add("RB201", t.line, "no company_id column: every table is tenant-scoped")
    elif col.type != "bigint unsigned" or col.nullable:
        null = "NULL" if col.nullable else "NOT NULL"
        where.add(
            "RB201", col.line, f"company_id is {col.type} {null}; must be bigint unsigned NOT NULL"
        )
    fks = [fk for fk in t.foreign_keys if fk.columns == ("company_id",)]
    if any(
        fk.ref_table == "companies" and fk.ref_columns == ("id",) and fk.on_delete == "CASCADE"
        for fk in fks
    ):
        return
    if fks:
        fk = fks[0]
        target = f"{fk.ref_table}({', '.join(fk.ref_columns)})"
        detail, line = f"{fk.name} references {target} ON DELETE {fk.on_delete}", fk.line
    else:
        detail, line = "there is none", col.line if col else t.line
    where.add(
        "RB202",
        line,
        "company_id needs a foreign key to companies(id) ON DELETE CASCADE (deleting a "
        f"tenant deletes its rows): {detail}",
    )


def _foreign_key(
    t: Table,
    fk: ForeignKey,
    known: dict[str, Table],
    later: dict[str, str],
    unreadable: set[str],
    where: Where,
) -> None:
    for action, when in ((fk.on_delete, "DELETE"), (fk.on_update, "UPDATE")):
        if action == "SET DEFAULT":
            where.add(
                "RB303",
                fk.line,
                f"{fk.name}: ON {when} SET DEFAULT: MySQL rejects the table, MariaDB silently "
                "stores RESTRICT instead",
            )
        elif action == "SET NULL":
            for name in fk.columns:
                c = t.column(name)
                if c is not None and not c.nullable:
                    where.add(
                        "RB302",
                        fk.line,
                        f"{fk.name}: ON {when} SET NULL but {c.name} is NOT NULL (the CREATE "
                        "fails: errno 150 / error 1830)",
                    )
    if not any(i.columns[: len(fk.columns)] == fk.columns for i in t.indexes):
        where.add(
            "RB304",
            fk.line,
            f"{fk.name}: no declared index leads with ({', '.join(fk.columns)}); InnoDB would "
            "add one under a name of its own",
        )

    parent = t if fk.ref_table == t.name else known.get(fk.ref_table)
    if parent is None:
        if fk.ref_table not in unreadable:
            hint = (
                f" (it is created by the later migration {later[fk.ref_table]}: reorder)"
                if fk.ref_table in later
                else ""
            )
            where.add(
                "RB305",
                fk.line,
                f"{fk.name}: parent table {fk.ref_table} is neither a baseline table nor "
                f"created by an earlier migration{hint}",
            )
        return
    if len(fk.columns) != len(fk.ref_columns):
        where.add(
            "RB309",
            fk.line,
            f"{fk.name}: {len(fk.columns)} column(s) reference {len(fk.ref_columns)}",
        )
        return
    missing = [c for c in fk.ref_columns if parent.column(c) is None]
    if missing:
        where.add("RB309", fk.line, f"{fk.name}: {parent.name} has no column {', '.join(missing)}")
        return
    if fk.ref_columns not in [i.columns for i in parent.indexes if i.unique]:
        where.add(
            "RB308",
            fk.line,
            f"{fk.name}: {parent.name}({', '.join(fk.ref_columns)}) is not its primary key or "
            "a unique key",
        )
    for child_name, parent_name in zip(fk.columns, fk.ref_columns, strict=True):
        child, pcol = t.column(child_name), parent.column(parent_name)
        if child is None or pcol is None:
            continue  # RB405 reports the unknown child column
        if child.type != pcol.type:
            where.add(
                "RB306",
                child.line,
                f"{fk.name}: {child.name} is {child.type} but {parent.name}.{pcol.name} is "
                f"{pcol.type}; types and signedness must match",
            )
        elif child.is_string:
            mine = (t.column_charset(child.name), t.column_collation(child.name))
            theirs = (parent.column_charset(pcol.name), parent.column_collation(pcol.name))
            # Unknown (a charset's server-default collation) counts as a mismatch: we
            # cannot prove the CREATE will succeed.
            if mine != theirs or None in mine or None in theirs:
                where.add(
                    "RB307",
                    child.line,
                    f"{fk.name}: {child.name} is {_charset_text(mine)} but "
                    f"{parent.name}.{pcol.name} is {_charset_text(theirs)} (errno 150 on "
                    "MariaDB, 3780 on MySQL)",
                )


def _charset_text(pair: tuple[str | None, str | None]) -> str:
    charset, collation = pair
    return f"{charset or '?'}/{collation or 'the server default collation'}"


def _table_options(tdef: TableDef, where: Where) -> None:
    t = tdef.table
    if t.primary_key is None:
        where.add(
            "RB401",
            t.line,
            "no PRIMARY KEY: InnoDB invents a hidden one, and row-based replication scans "
            "the table for every changed row",
        )
    if (t.engine or "").lower() != "innodb":
        engine = t.engine or "not set (the server default decides)"
        where.add(
            "RB402",
            tdef.options_line,
            f"ENGINE is {engine}; must be InnoDB for foreign keys and crash-safe DDL",
        )
    if t.charset != "utf8mb4" or t.collation != "utf8mb4_unicode_ci":
        where.add(
            "RB403",
            tdef.options_line,
            f"table is {t.charset or 'unset'}/{t.collation or 'unset'}; must be DEFAULT "
            "CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci like its parents",
        )


def _names(tdef: TableDef, where: Where) -> None:
    t = tdef.table
    names = [("table", t.name, t.line)]
    names += [("column", c.name, c.line) for c in t.columns]
    names += [("index", i.name, i.line) for i in t.indexes if not i.primary]
    names += [("foreign key", fk.name, fk.line) for fk in t.foreign_keys]
    for what, name, line in names:
        if len(name) > MAX_IDENTIFIER:
            where.add(
                "RB404",
                line,
                f"{what} name {name} is {len(name)} characters (limit {MAX_IDENTIFIER})",
            )
    for what, line in tdef.unnamed:
        where.add(
            "RB407",
            line,
            f"{what} has no name: the server invents one, so verification cannot find it",
        )

    seen: set[str] = set()
    for c in t.columns:
        if c.name.lower() in seen:
            where.add("RB406", c.line, f"column {c.name} declared twice")
        seen.add(c.name.lower())
    seen = set()
    for i in t.indexes:
        if i.name.lower() in seen:
            where.add("RB406", i.line, f"index name {i.name} used twice")
        seen.add(i.name.lower())
        for c in i.columns:
            if t.column(c) is None:
                where.add("RB405", i.line, f"index {i.name} names unknown column {c}")
    for fk in t.foreign_keys:
        for c in fk.columns:
            if t.column(c) is None:
                where.add("RB405", fk.line, f"{fk.name} names unknown column {c}")


def _index_overlap(t: Table, where: Where) -> None:
    btree = [i for i in t.indexes if i.kind is None]
    reported: set[str] = set()
    for n, first in enumerate(btree):
        for second in btree[n + 1 :]:
            if first.columns != second.columns:
                continue
            # Of two indexes on the same columns, the plain one beside a unique one is
            # the one that goes; between equals, the later one.
            drop, keep = (first, second) if second.unique and not first.unique else (second, first)
            if drop.name not in reported:
                reported.add(drop.name)
                where.add(
                    "RB408",
                    drop.line,
                    f"index {drop.name} duplicates {keep.name} ({', '.join(drop.columns)})",
                )
    for idx in btree:
        if idx.unique or idx.name in reported:
            continue  # a unique prefix enforces something; it is never redundant
        longer = next(
            (
                o
                for o in btree
                if len(o.columns) > len(idx.columns)
                and o.columns[: len(idx.columns)] == idx.columns
            ),
            None,
        )
        if longer is not None:
            where.add(
                "RB409",
                idx.line,
                f"index {idx.name} ({', '.join(idx.columns)}) is a left prefix of "
                f"{longer.name}, which serves the same lookups (and any foreign key on them)",
            )


def _nullable_unique(t: Table, where: Where) -> None:
    for i in t.indexes:
        if not i.unique or i.primary:
            continue
        for name in i.columns:
            c = t.column(name)
            # A nullable *generated* column in a unique key is the deliberate way to
            # exempt rows (policy_configurations.active_key): not warned.
            if c is not None and c.nullable and c.generated is None:
                where.add(
                    "RB410",
                    i.line,
                    f"unique key {i.name} includes nullable {c.name}: rows where it is NULL "
                    "are never duplicates of each other. For 'unique among active rows', put "
                    "a STORED generated column (1 when active, NULL otherwise) in the key",
                )
                break


def _auto_increment(t: Table, where: Where) -> None:
    auto = [c for c in t.columns if c.auto_increment]
    for extra in auto[1:]:
        where.add("RB413", extra.line, f"a second AUTO_INCREMENT column {extra.name} (error 1075)")
    if auto and not any(i.columns[:1] == (auto[0].name,) for i in t.indexes):
        where.add(
            "RB413",
            auto[0].line,
            f"AUTO_INCREMENT column {auto[0].name} must be the first column of a key (error 1075)",
        )


def _column_defaults(t: Table, where: Where) -> None:
    for c in t.columns:
        if c.type == "json" and c.default is not None and not c.default.startswith("("):
            where.add(
                "RB411",
                c.line,
                f"json column {c.name} has a literal DEFAULT: MySQL rejects it (only an "
                "expression default is allowed); MariaDB accepts it",
            )
    # Only the first timestamp column is promoted when explicit_defaults_for_timestamp
    # is OFF, so only it can silently gain ON UPDATE CURRENT_TIMESTAMP.
    first = next((c for c in t.columns if base_type(c.type) == "timestamp"), None)
    if (
        first is not None
        and not first.nullable
        and first.default is None
        and first.on_update is None
        and first.generated is None
    ):
        where.add(
            "RB412",
            first.line,
            f"{first.name} is the table's first timestamp, NOT NULL without DEFAULT: with "
            "explicit_defaults_for_timestamp=OFF it silently becomes DEFAULT "
            "CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP; declare a nullable timestamp "
            "before it",
        )
