"""SQL fragments the tests build: qualified names, parameter lists, key lookups."""

from __future__ import annotations

from collections.abc import Sequence

from runbook.db import quote_ident


def qualified(db: str, table: str) -> str:
    return f"{quote_ident(db)}.{quote_ident(table)}"


def placeholders(n: int) -> str:
    """``%s, %s, …``: ``n`` query parameters."""
    return ", ".join(["%s"] * n)


def rows_of_placeholders(width: int, rows: int) -> str:
    """``(%s, %s), (%s, %s)``: ``rows`` tuples of ``width`` parameters each."""
    return ", ".join([f"({placeholders(width)})"] * rows)


def where(columns: Sequence[str]) -> str:
    return " AND ".join(f"{quote_ident(c)} = %s" for c in columns)
