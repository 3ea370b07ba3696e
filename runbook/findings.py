"""The validator's rule catalogue and findings: codes are stable, scripts depend on them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from runbook.ddl import ParsedFile

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        # RB0xx reading and parsing: fail closed.
        Rule("RB001", "parse-error", "error", "the file does not parse"),
        Rule(
            "RB002", "opaque-statement", "error", "sqlglot can only treat it as an opaque command"
        ),
        Rule("RB003", "no-baseline", "warning", "no baseline.sql: the shipped one is used"),
        # RB1xx structure of the migration set.
        Rule("RB101", "missing-half", "error", "a migration lacks its up or down file"),
        Rule("RB102", "up-one-create", "error", "an up file is not exactly one CREATE TABLE"),
        Rule("RB103", "down-drops-own", "error", "a down file is not one DROP TABLE of its table"),
        Rule("RB104", "other-table", "error", "DROP/TRUNCATE/ALTER/RENAME of another table"),
        Rule("RB105", "transaction-control", "error", "BEGIN/COMMIT/ROLLBACK/SET autocommit"),
        Rule("RB106", "if-not-exists", "error", "CREATE TABLE IF NOT EXISTS"),
        Rule("RB107", "down-if-exists", "warning", "DROP TABLE IF EXISTS in a down file"),
        Rule("RB108", "duplicate-table", "error", "a table created twice, or already a parent"),
        Rule("RB109", "name-mismatch", "error", "migration name does not match its table"),
        Rule("RB110", "stray-sql-file", "warning", "a .sql file that is not part of a migration"),
        # RB2xx multi-tenancy.
        Rule("RB201", "tenant-column", "error", "company_id bigint unsigned NOT NULL missing"),
        Rule("RB202", "tenant-fk", "error", "no company_id → companies(id) ON DELETE CASCADE"),
        # RB3xx foreign keys.
        Rule("RB301", "inline-references", "error", "column-level REFERENCES"),
        Rule("RB302", "set-null-not-null", "error", "SET NULL on a NOT NULL column"),
        Rule("RB303", "set-default", "error", "SET DEFAULT (unsupported by InnoDB)"),
        Rule("RB304", "fk-not-indexed", "error", "FK columns do not lead a declared index"),
        Rule("RB305", "fk-parent-unknown", "error", "parent is not a baseline or earlier table"),
        Rule("RB306", "fk-type-mismatch", "error", "FK column type/signedness differs from parent"),
        Rule("RB307", "fk-collation-mismatch", "error", "FK column charset/collation differs"),
        Rule("RB308", "fk-parent-not-unique", "error", "referenced columns are not PK/unique"),
        Rule("RB309", "fk-shape", "error", "FK column count or parent column mismatch"),
        # RB4xx keys, types and names.
        Rule("RB401", "no-primary-key", "error", "table without a primary key"),
        Rule("RB402", "engine", "error", "ENGINE missing or not InnoDB"),
        Rule("RB403", "charset", "error", "table charset/collation not utf8mb4/unicode_ci"),
        Rule("RB404", "identifier-length", "error", "identifier longer than 64 characters"),
        Rule("RB405", "unknown-column", "error", "key names a column the table lacks"),
        Rule("RB406", "duplicate-name", "error", "column, index or constraint name reused"),
        Rule("RB407", "unnamed-key", "error", "index or FK without an explicit name"),
        Rule("RB408", "duplicate-index", "warning", "two indexes on the same columns"),
        Rule("RB409", "redundant-index", "warning", "index is a left prefix of another"),
        Rule("RB410", "nullable-unique", "warning", "unique key over a nullable column"),
        Rule("RB411", "json-literal-default", "warning", "literal DEFAULT on a json column"),
        Rule("RB412", "timestamp-implicit", "warning", "first timestamp NOT NULL without DEFAULT"),
        Rule("RB413", "invalid-column", "error", "column attributes the server rejects"),
    )
}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    file: str
    line: int | None
    table: str | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Reporter:
    """Collects findings; ``at(file, table)`` gives a handle that fills those in."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def at(self, file: str, table: str | None = None) -> Where:
        return Where(self, file, table)

    def problems(self, parsed: ParsedFile, where: Where) -> None:
        codes = {"parse": "RB001", "opaque": "RB002", "invalid": "RB413"}
        for p in parsed.problems:
            where.add(codes[p.kind], p.line, p.message)


@dataclass(frozen=True)
class Where:
    reporter: Reporter
    file: str
    table: str | None

    def on(self, table: str | None) -> Where:
        return Where(self.reporter, self.file, table)

    def add(self, code: str, line: int | None, message: str) -> None:
        rule = RULES[code]
        self.reporter.findings.append(
            Finding(code, rule.severity, self.file, line, self.table, message)
        )
