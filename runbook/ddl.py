"""DDL text → statements → model tables, with sqlglot (``read="mysql"``), failing closed.

Anything sqlglot cannot fully understand is a *problem*, never silently skipped: a
``ParseError``/``TokenError`` keeps its line, and sqlglot's quiet fallback to an opaque
``exp.Command`` (it only logs a warning) is caught and reported as well.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from runbook.model import (
    Column,
    ForeignKey,
    Generated,
    Index,
    Table,
    base_type,
    is_integer_type,
    normalize_default,
    normalize_type,
)

_DIALECT = Dialect.get_or_raise("mysql")
_TYPE_TOKENS = _DIALECT.parser_class.TYPE_TOKENS
# MySQL's reserved words: sqlglot happily takes them as bare names, the server doesn't.
_RESERVED = frozenset(_DIALECT.generator_class.RESERVED_KEYWORDS)
# What the model understands; anything else in a CREATE TABLE is reported, not skipped.
_COLUMN_ATTRIBUTES = (
    exp.NotNullColumnConstraint,
    exp.DefaultColumnConstraint,
    exp.AutoIncrementColumnConstraint,
    exp.OnUpdateColumnConstraint,
    exp.CollateColumnConstraint,
    exp.CharacterSetColumnConstraint,
    exp.ComputedColumnConstraint,
    exp.PrimaryKeyColumnConstraint,
    exp.UniqueColumnConstraint,
    exp.Reference,
    exp.CommentColumnConstraint,
    exp.CheckColumnConstraint,
)
_TABLE_ELEMENTS = (
    exp.ColumnDef,
    exp.PrimaryKey,
    exp.UniqueColumnConstraint,
    exp.IndexColumnConstraint,
    exp.ForeignKey,
    exp.CheckColumnConstraint,
)
_TABLE_OPTIONS = (
    exp.EngineProperty,
    exp.CharacterSetProperty,
    exp.CollateProperty,
    exp.RowFormatProperty,
    exp.SchemaCommentProperty,
    exp.AutoIncrementProperty,
    exp.TemporaryProperty,
    exp.LikeProperty,
)
_BARE_NAME = re.compile(r"[A-Za-z0-9_$]+")
_NAMED_ELEMENTS = (
    exp.PrimaryKey,
    exp.UniqueColumnConstraint,
    exp.ForeignKey,
    exp.CheckColumnConstraint,
)
_FK_OPTION = re.compile(
    r"^ON\s+(DELETE|UPDATE)\s+(CASCADE|SET\s+NULL|SET\s+DEFAULT|RESTRICT|NO\s+ACTION)$", re.I
)


@dataclass(frozen=True)
class Statement:
    """One parsed statement and where it sits in its file."""

    expr: exp.Expr
    line: int
    end_line: int


@dataclass(frozen=True)
class Problem:
    """Something that stops us from trusting the parse: a parse error or an opaque statement."""

    kind: str  # "parse" | "opaque" | "invalid" (parses, but the server rejects it)
    line: int | None
    message: str


@dataclass(frozen=True)
class ParsedFile:
    statements: list[Statement]
    problems: list[Problem]


@dataclass(frozen=True)
class InlineReference:
    column: str
    ref_table: str
    line: int | None


@dataclass(frozen=True)
class TableDef:
    """A CREATE TABLE as the model sees it, plus the facts only the source text has."""

    table: Table
    if_not_exists: bool
    temporary: bool
    has_body: bool  # False for CREATE TABLE ... LIKE / AS SELECT
    inline_references: tuple[InlineReference, ...]
    unnamed: tuple[tuple[str, int | None], ...]  # (what, line) of unnamed indexes/FKs
    options_line: int


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _captured_sqlglot_log() -> Iterator[_Capture]:
    """Keep sqlglot's fallback warnings off stderr; we report them as findings instead."""
    log = logging.getLogger("sqlglot")
    handler = _Capture()
    old_propagate = log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        yield handler
    finally:
        log.removeHandler(handler)
        log.propagate = old_propagate


def _unclosed_line(sql: str) -> int | None:
    """Line where an unterminated quote or comment starts (TokenError doesn't say)."""
    i, n, line = 0, len(sql), 1
    while i < n:
        c = sql[i]
        if c == "\n":
            line += 1
        elif c in "'\"`":
            start_line, j = line, i + 1
            while j < n and sql[j] != c:
                if sql[j] == "\\" and c != "`":
                    j += 1
                elif sql[j] == "\n":
                    line += 1
                j += 1
            if j >= n:
                return start_line
            i = j
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                return line
            line += sql.count("\n", i, end)
            i = end + 1
        elif sql.startswith("--", i) or c == "#":
            end = sql.find("\n", i)
            if end < 0:
                return None
            i = end - 1
        i += 1
    return None


def _chunks(tokens: list[Token]) -> list[list[Token]]:
    chunks: list[list[Token]] = [[]]
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(tok)
    return [c for c in chunks if c]


def _strict_create(create: exp.Expr, chunk: list[Token]) -> list[Problem]:
    """What sqlglot forgives in a CREATE TABLE but the server (or the model) would not.

    Found by fuzzing the shipped DDL against a real MariaDB: a stray comma, a column
    without a type (sqlglot reads a bare ``UNSIGNED`` as BIGINT UNSIGNED), a reserved
    word as a bare name, an FK action it kept as free text, and elements or attributes
    the model does not know.
    """
    problems: list[Problem] = []
    for tok, nxt in itertools.pairwise(chunk):
        if tok.token_type == TokenType.COMMA and nxt.token_type in (
            TokenType.COMMA,
            TokenType.R_PAREN,
        ):
            problems.append(Problem("parse", nxt.line, f"stray comma before '{nxt.text}'"))
            break
    schema = create.this
    for node in schema.expressions if isinstance(schema, exp.Schema) else []:
        line = _line(node)
        if isinstance(node, exp.Constraint):
            inner = node.expressions
            if len(inner) != 1 or not isinstance(inner[0], _NAMED_ELEMENTS):
                problems.append(
                    Problem("parse", line, f"malformed constraint: {node.sql('mysql')}")
                )
        elif isinstance(node, exp.ColumnDef):
            problems.extend(_strict_column(node, chunk, line))
        elif not isinstance(node, _TABLE_ELEMENTS):
            problems.append(
                Problem("opaque", line, f"'{node.sql('mysql')}' is not understood by the validator")
            )
    for fk in create.find_all(exp.ForeignKey):
        ref = fk.args.get("reference")
        seen: set[str] = set()
        for opt in ref.args.get("options") or [] if ref is not None else []:
            m = _FK_OPTION.match(str(opt).strip())
            if m is None or m.group(1).upper() in seen:
                problems.append(
                    Problem("parse", _line(fk), f"unrecognised foreign key clause '{opt}'")
                )
            else:
                seen.add(m.group(1).upper())
    props = create.args.get("properties")
    for prop in props.expressions if props is not None else []:
        if not isinstance(prop, _TABLE_OPTIONS):
            problems.append(
                Problem(
                    "opaque",
                    chunk[-1].line,
                    f"table option '{prop.sql('mysql')}' is not understood by the validator",
                )
            )
    for ident in create.find_all(exp.Identifier):
        if ident.quoted:
            continue
        if ident.name.lower() in _RESERVED:
            message = f"'{ident.name}' is a reserved word in MySQL: quote it with backticks"
        elif not _BARE_NAME.fullmatch(ident.name) or ident.name.isdigit():
            message = f"'{ident.name}' is not a valid name"
        else:
            continue
        problems.append(Problem("parse", ident.meta.get("line"), message))
    return problems


def _strict_column(cd: exp.ColumnDef, chunk: list[Token], line: int | None) -> list[Problem]:
    if not isinstance(cd.this, exp.Identifier):
        return [Problem("parse", line, f"column name {cd.this.sql('mysql')} is not an identifier")]
    if not _has_type(cd, chunk):
        return [Problem("parse", line, f"column {cd.name} has no data type")]
    problems: list[Problem] = []
    attrs = [cc.args.get("kind") for cc in cd.args.get("constraints") or []]
    for attr in attrs:
        if not isinstance(attr, _COLUMN_ATTRIBUTES):
            text = attr.sql("mysql") if attr is not None else "?"
            problems.append(
                Problem(
                    "opaque", line, f"column {cd.name}: '{text}' is not understood by the validator"
                )
            )
    type_ = _column_type(cd)

    def has(kind: type[exp.Expr]) -> bool:
        return any(isinstance(a, kind) for a in attrs)

    def invalid(message: str) -> None:
        problems.append(Problem("invalid", line, f"column {cd.name}: {message}"))

    defaults = [a.this for a in attrs if isinstance(a, exp.DefaultColumnConstraint)]
    nullity = [a for a in attrs if isinstance(a, exp.NotNullColumnConstraint)]
    not_null = bool(nullity) and not nullity[-1].args.get("allow_null")  # the last one wins
    if not_null and any(isinstance(d, exp.Null) for d in defaults):
        invalid("NOT NULL with DEFAULT NULL (error 1067)")
    if any(isinstance(d, exp.Column) for d in defaults):
        invalid(
            "a bare column as DEFAULT: MySQL rejects it (MariaDB accepts); write DEFAULT (expr)"
        )
    if has(exp.AutoIncrementColumnConstraint) and not (
        is_integer_type(type_) or base_type(type_) in ("float", "double")
    ):
        invalid(f"AUTO_INCREMENT on {type_} (error 1063)")
    if has(exp.OnUpdateColumnConstraint) and base_type(type_) not in ("timestamp", "datetime"):
        invalid(f"ON UPDATE on {type_}: only timestamp and datetime columns take it (error 1294)")
    if has(exp.ComputedColumnConstraint):
        for kind, what in (
            (exp.DefaultColumnConstraint, "DEFAULT"),
            (exp.AutoIncrementColumnConstraint, "AUTO_INCREMENT"),
            (exp.OnUpdateColumnConstraint, "ON UPDATE"),
            (exp.NotNullColumnConstraint, "NULL / NOT NULL (MariaDB rejects it)"),
        ):
            if has(kind):
                invalid(f"a generated column cannot have {what}")
    return problems


def _column_type(cd: exp.ColumnDef) -> str:
    """The normalised type, rendered once: sqlglot's generator is the costly part."""
    if "rb_type" not in cd.meta:
        kind = cd.args.get("kind")
        cd.meta["rb_type"] = normalize_type(kind.sql("mysql")) if kind is not None else ""
    return str(cd.meta["rb_type"])


def _has_type(cd: exp.ColumnDef, chunk: list[Token]) -> bool:
    """The token after the column name must be a type (not a lone UNSIGNED/SIGNED or NULL)."""
    kind = cd.args.get("kind")
    if not isinstance(kind, exp.DataType) or kind.this in (
        exp.DataType.Type.NULL,
        exp.DataType.Type.UNKNOWN,
        exp.DataType.Type.USERDEFINED,
    ):
        return False
    if kind.this in (exp.DataType.Type.ENUM, exp.DataType.Type.SET) and not kind.expressions:
        return False  # ENUM / SET without their values list
    end = cd.this.meta.get("end")
    if end is None:
        return True  # no position to check against; the tree has a type
    nxt = next((t for t in chunk if t.start > end), None)
    return (
        nxt is not None
        and nxt.token_type in _TYPE_TOKENS
        and nxt.text.upper() not in ("UNSIGNED", "SIGNED")
    )


def parse_sql(sql: str) -> ParsedFile:
    """Split ``sql`` into statements and parse each; every doubt becomes a Problem."""
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError as e:
        line = _unclosed_line(sql)
        if line is not None:
            message = f"unterminated quote or comment starting on line {line}"
        else:
            message = f"cannot tokenize: {e.__cause__ or e}"
        return ParsedFile([], [Problem("parse", line, message)])

    statements: list[Statement] = []
    problems: list[Problem] = []
    for chunk in _chunks(tokens):
        first, last = chunk[0], chunk[-1]
        head = " ".join(t.text for t in chunk[:3])
        with _captured_sqlglot_log() as log:
            try:
                exprs = _DIALECT.parser().parse(chunk, sql)
            except ParseError as e:
                err = e.errors[0] if e.errors else {}
                desc = err.get("description") or str(e).splitlines()[0]
                col = err.get("col")
                where = f" (column {col})" if col else ""
                problems.append(Problem("parse", err.get("line") or first.line, desc + where))
                continue
            except Exception as e:  # sqlglot's own bugs must fail closed too
                problems.append(
                    Problem("parse", first.line, f"sqlglot failed on this statement: {e}")
                )
                continue
        for expr in exprs:
            if expr is None:
                continue
            if isinstance(expr, exp.Command) or expr.find(exp.Command) or log.records:
                problems.append(
                    Problem(
                        "opaque",
                        first.line,
                        f"sqlglot cannot parse '{head} ...' and would treat it as an opaque "
                        "command; it is not checked, so it is not accepted",
                    )
                )
                continue
            if is_create_table(expr) and (strict := _strict_create(expr, chunk)):
                problems.extend(strict)
                continue
            statements.append(Statement(expr, first.line, last.line))
    return ParsedFile(statements, problems)


# --- CREATE TABLE → model -------------------------------------------------------------


def _line(node: exp.Expr | None) -> int | None:
    """Line of the first identifier in ``node`` (sqlglot keeps positions on identifiers)."""
    if node is None:
        return None
    for n in node.walk():
        if isinstance(n, exp.Identifier) and "line" in n.meta:
            return int(n.meta["line"])
    return None


def _ident(node: exp.Expr | None) -> str | None:
    return node.name if node is not None and node.name else None


def _index_column(node: exp.Expr) -> str:
    if isinstance(node, exp.Ordered):
        node = node.this
    if isinstance(node, exp.ColumnPrefix | exp.Column | exp.Identifier):
        return node.name if not isinstance(node, exp.ColumnPrefix) else node.this.name
    return node.sql("mysql")  # a functional key part: kept verbatim, never a real column


def _charset_of(collation: str | None) -> str | None:
    return collation.split("_", 1)[0] if collation else None


def _default_text(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else str(node.this)
    if isinstance(node, exp.CurrentTimestamp):
        return "CURRENT_TIMESTAMP"
    if isinstance(node, exp.Paren):
        # An expression default (MySQL 8.0.13+): kept parenthesised so it never
        # looks like a literal.
        return node.sql("mysql")
    return normalize_default(node.sql("mysql"))


def _column(cd: exp.ColumnDef) -> tuple[Column, list[InlineReference], list[str]]:
    """The model column, its inline REFERENCES, and the column-level keys it declares."""
    type_ = _column_type(cd)
    nullable = True
    default: str | None = None
    generated: Generated | None = None
    collation = charset = on_update = None
    auto_increment = False
    refs: list[InlineReference] = []
    keys: list[str] = []
    for cc in cd.args.get("constraints") or []:
        k = cc.args.get("kind")
        if isinstance(k, exp.NotNullColumnConstraint):
            nullable = bool(k.args.get("allow_null"))
        elif isinstance(k, exp.DefaultColumnConstraint):
            default = _default_text(k.this)
        elif isinstance(k, exp.AutoIncrementColumnConstraint):
            auto_increment = True
        elif isinstance(k, exp.OnUpdateColumnConstraint):
            on_update = _default_text(k.this)
        elif isinstance(k, exp.CollateColumnConstraint):
            collation = k.this.name.lower()
        elif isinstance(k, exp.CharacterSetColumnConstraint):
            charset = k.this.name.lower()
        elif isinstance(k, exp.ComputedColumnConstraint):
            generated = Generated(k.this.sql("mysql"), bool(k.args.get("persisted")))
        elif isinstance(k, exp.PrimaryKeyColumnConstraint):
            keys.append("primary")
            nullable = False
        elif isinstance(k, exp.UniqueColumnConstraint):
            keys.append("unique")
        elif isinstance(k, exp.Reference):
            target = k.this.this if isinstance(k.this, exp.Schema) else k.this
            refs.append(InlineReference(cd.name, _ident(target) or "?", _line(cc) or _line(cd)))
    col = Column(
        name=cd.name,
        type=type_,
        nullable=nullable,
        default=default,
        generated=generated,
        collation=collation,
        charset=charset or _charset_of(collation),
        line=_line(cd.this),
        auto_increment=auto_increment,
        on_update=on_update,
    )
    return col, refs, keys


def _fk_actions(options: list[object]) -> tuple[str, str]:
    on_delete = on_update = "RESTRICT"
    for opt in options:
        m = _FK_OPTION.match(str(opt).strip())
        if m:
            action = re.sub(r"\s+", " ", m.group(2).upper())
            if m.group(1).upper() == "DELETE":
                on_delete = action
            else:
                on_update = action
    return on_delete, on_update


class _Names:
    """The names the server gives unnamed keys, so the model can still name them."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.used: set[str] = set()
        self.fk_seq = 0

    def index(self, name: str | None, columns: tuple[str, ...]) -> str:
        if name is None:
            base = columns[0] if columns else "key"
            name, n = base, 2
            while name.lower() in self.used:
                name, n = f"{base}_{n}", n + 1
        self.used.add(name.lower())
        return name

    def fk(self, name: str | None) -> str:
        if name is not None:
            return name
        self.fk_seq += 1
        return f"{self.table}_ibfk_{self.fk_seq}"


def created_table(create: exp.Expr) -> str:
    """The (possibly db-qualified) name a CREATE TABLE creates."""
    target = create.this
    node = target.this if isinstance(target, exp.Schema) else target
    return qualified_name(node) if node is not None else "?"


def table_def(stmt: Statement, file: str | None = None) -> TableDef:
    """Build the model of one ``CREATE TABLE`` statement."""
    create = stmt.expr
    assert isinstance(create, exp.Create)
    schema = create.this
    table_node = schema.this if isinstance(schema, exp.Schema) else schema
    name = created_table(create)
    has_body = isinstance(schema, exp.Schema) and create.args.get("expression") is None

    columns: list[Column] = []
    indexes: list[Index] = []
    fks: list[ForeignKey] = []
    refs: list[InlineReference] = []
    unnamed: list[tuple[str, int | None]] = []
    names = _Names(name)
    column_keys: list[tuple[Column, str]] = []
    # Index names are assigned in declaration order, as the server does.
    pending: list[tuple[str | None, tuple[str, ...], bool, bool, int | None, str | None]] = []

    for node in schema.expressions if isinstance(schema, exp.Schema) else []:
        cname: str | None = None
        if isinstance(node, exp.Constraint):
            cname = _ident(node.this)
            inner = node.expressions[0] if node.expressions else None
            if inner is None:
                continue
            node_line = _line(node.this)
            node = inner
        else:
            node_line = None
        if isinstance(node, exp.ColumnDef):
            col, col_refs, keys = _column(node)
            columns.append(col)
            refs.extend(col_refs)
            column_keys.extend((col, k) for k in keys)
        elif isinstance(node, exp.PrimaryKey):
            cols = tuple(_index_column(e) for e in node.expressions)
            pending.append(("PRIMARY", cols, True, True, node_line or _line(node), None))
        elif isinstance(node, exp.UniqueColumnConstraint):
            target = node.this
            exprs = target.expressions if isinstance(target, exp.Schema) else [target]
            iname = cname or (_ident(target.this) if isinstance(target, exp.Schema) else None)
            cols = tuple(_index_column(e) for e in exprs if e is not None)
            line = node_line or _line(node)
            if iname is None:
                unnamed.append((f"UNIQUE ({', '.join(cols)})", line))
            pending.append((iname, cols, True, False, line, None))
        elif isinstance(node, exp.IndexColumnConstraint):
            iname = cname or _ident(node.this)
            cols = tuple(_index_column(e) for e in node.expressions)
            line = node_line or _line(node)
            if iname is None:
                unnamed.append((f"INDEX ({', '.join(cols)})", line))
            kind = node.args.get("kind")
            pending.append((iname, cols, False, False, line, str(kind).upper() if kind else None))
        elif isinstance(node, exp.ForeignKey):
            ref = node.args.get("reference")
            ref_schema = ref.this if ref is not None else None
            ref_table = ref_schema.this if isinstance(ref_schema, exp.Schema) else ref_schema
            cols = tuple(e.name for e in node.expressions)
            line = node_line or _line(node)
            if cname is None:
                unnamed.append((f"FOREIGN KEY ({', '.join(cols)})", line))
            on_delete, on_update = _fk_actions(ref.args.get("options") or [] if ref else [])
            fks.append(
                ForeignKey(
                    name=names.fk(cname),
                    columns=cols,
                    ref_table=_ident(ref_table) or "?",
                    ref_columns=tuple(
                        e.name
                        for e in (
                            ref_schema.expressions if isinstance(ref_schema, exp.Schema) else []
                        )
                    ),
                    on_delete=on_delete,
                    on_update=on_update,
                    line=line,
                )
            )
        # CHECK constraints and anything else carry nothing the model compares.

    for col, key in column_keys:
        if key == "primary":
            indexes.append(Index("PRIMARY", (col.name,), True, True, col.line))
            names.used.add("primary")
        else:
            unnamed.append((f"UNIQUE on column {col.name}", col.line))
            indexes.append(
                Index(names.index(None, (col.name,)), (col.name,), True, False, col.line)
            )
    for iname, cols, unique, primary, line, kind in pending:
        final = "PRIMARY" if primary else names.index(iname, cols)
        indexes.append(Index(final, cols, unique, primary, line, kind))

    engine = charset = collation = None
    for prop in (create.args.get("properties") or exp.Properties()).expressions:
        if isinstance(prop, exp.EngineProperty):
            engine = prop.this.name
        elif isinstance(prop, exp.CharacterSetProperty):
            charset = prop.this.name.lower()
        elif isinstance(prop, exp.CollateProperty):
            collation = prop.this.name.lower()
    temporary = any(
        isinstance(p, exp.TemporaryProperty)
        for p in (create.args.get("properties") or exp.Properties()).expressions
    )

    table = Table(
        name=name,
        columns=tuple(columns),
        indexes=tuple(indexes),
        foreign_keys=tuple(fks),
        engine=engine,
        charset=charset or _charset_of(collation),
        collation=collation,
        file=file,
        line=_line(table_node) or stmt.line,
    )
    return TableDef(
        table=table,
        if_not_exists=bool(create.args.get("exists")),
        temporary=temporary,
        has_body=has_body,
        inline_references=tuple(refs),
        unnamed=tuple(unnamed),
        options_line=stmt.end_line,
    )


def is_create_table(expr: exp.Expr) -> bool:
    return isinstance(expr, exp.Create) and str(expr.args.get("kind") or "").upper() == "TABLE"


def qualified_name(table: exp.Expr) -> str:
    """``db.t`` when the statement names a database: a migration never should."""
    db = table.args.get("db") if isinstance(table, exp.Table) else None
    return f"{db.name}.{table.name}" if db is not None else table.name


def table_names(expr: exp.Expr) -> list[str]:
    """The tables a DROP / TRUNCATE / ALTER statement acts on."""
    if isinstance(expr, exp.Drop):
        tables = expr.args.get("tables") or ([expr.this] if expr.this is not None else [])
    elif isinstance(expr, exp.TruncateTable):
        tables = expr.expressions
    elif isinstance(expr, exp.Alter):
        tables = [expr.this]
    else:
        return []
    return [qualified_name(t) for t in tables if isinstance(t, exp.Table)]
