"""The schema as the DDL declares it: what verification later compares with the live server.

Everything here is plain data. Types and defaults are kept in one canonical spelling
that both the parsed DDL and ``information_schema`` (MariaDB's and MySQL's) normalise
to, so a comparison is string equality, not guesswork.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

# Integer display widths are noise (MariaDB prints bigint(20), MySQL 8.0.19+ prints
# bigint) except tinyint(1), which both servers keep and Laravel reads as boolean.
_INT_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\s*(\d+)\s*\)")
_ALIASES = {
    "integer": "int",
    "bool": "tinyint(1)",
    "boolean": "tinyint(1)",
    "numeric": "decimal",
    "double precision": "double",
    "real": "double",
    "character varying": "varchar",
    "character": "char",
}
_STRING_TYPES = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set")
_INTEGER_TYPES = ("tinyint", "smallint", "mediumint", "int", "bigint")


def _split_quoted(s: str) -> list[tuple[bool, str]]:
    """Split into (inside_quotes, text) runs so normalising never touches enum values."""
    runs: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(s)
    while i < n:
        if s[i] == "'":
            if start < i:
                runs.append((False, s[start:i]))
            j = i + 1
            while j < n:
                if s[j : j + 2] == "''" or (s[j] == "\\" and j + 1 < n):
                    j += 2  # a doubled or backslash-escaped character, still inside
                elif s[j] == "'":
                    break
                else:
                    j += 1
            runs.append((True, s[i : j + 1]))
            i = start = j + 1
        else:
            i += 1
    if start < n:
        runs.append((False, s[start:]))
    return runs


@functools.lru_cache(maxsize=1024)
def normalize_type(s: str) -> str:
    """One canonical lower-case spelling of a column type.

    Accepts the DDL's spelling (``BIGINT UNSIGNED``, ``DECIMAL(10, 2)``,
    ``ENUM('a', 'b')``) and ``information_schema.COLUMNS.COLUMN_TYPE`` of MariaDB or
    MySQL (``bigint(20) unsigned``, ``int(10) unsigned``). ``longtext`` stays
    ``longtext``: whether it is MariaDB's json is for the caller to decide (its CHECK).
    """
    parts: list[str] = []
    for quoted, text in _split_quoted(s.strip()):
        if quoted:
            parts.append(text)
        else:
            text = re.sub(r"\s+", " ", text.lower())
            text = re.sub(r"\s*([(,])\s*", r"\1", text)
            text = re.sub(r"\s+\)", ")", text)
            parts.append(text)
    out = "".join(parts).strip()
    out = re.sub(r"\s+zerofill\b", "", out)
    for alias, canonical in _ALIASES.items():
        if out == alias or out.startswith(alias + "(") or out.startswith(alias + " "):
            out = canonical + out[len(alias) :]
            break
    if out.startswith("tinyint(1)"):
        return out
    m = _INT_WIDTH.match(out)
    if m:
        out = m.group(1) + out[m.end() :]
    if out == "decimal":
        out = "decimal(10,0)"
    elif out.startswith("decimal(") and "," not in out.split(")")[0]:
        out = out.replace(")", ",0)", 1)
    elif out in ("char", "binary"):
        out += "(1)"
    elif re.fullmatch(r"(timestamp|datetime|time)\(0\)", out):
        out = out[: out.index("(")]
    return out


def normalize_default(s: str | None) -> str | None:
    """One canonical spelling of a column default, from the DDL or information_schema.

    ``None`` means no default or ``DEFAULT NULL`` (a nullable column's implicit default).
    Strings lose their quotes (MariaDB quotes them in COLUMN_DEFAULT, MySQL doesn't);
    ``current_timestamp()``, ``now()`` and friends become ``CURRENT_TIMESTAMP``.
    """
    if s is None:
        return None
    text = s.strip()
    if text.upper() == "NULL":
        return None
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    bare = text.lower().replace(" ", "")
    if re.fullmatch(r"(current_timestamp|now|localtimestamp|localtime)(\(\d*\))?", bare):
        return "CURRENT_TIMESTAMP"
    return text


def base_type(type_: str) -> str:
    """``varchar(36)`` → ``varchar``; ``bigint unsigned`` → ``bigint``."""
    return re.split(r"[ (]", type_, maxsplit=1)[0]


def is_string_type(type_: str) -> bool:
    return base_type(type_) in _STRING_TYPES


def is_integer_type(type_: str) -> bool:
    return base_type(type_) in _INTEGER_TYPES


def same_referential_action(a: str, b: str) -> bool:
    """InnoDB treats RESTRICT and NO ACTION alike, and the servers report either for 'unset'."""
    quiet = {"RESTRICT", "NO ACTION"}
    return a == b or (a in quiet and b in quiet)


@dataclass(frozen=True)
class Generated:
    """A generated column's expression (as sqlglot writes it back) and kind."""

    expression: str
    stored: bool


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # normalize_type() spelling
    nullable: bool
    default: str | None  # normalize_default() spelling
    generated: Generated | None = None
    collation: str | None = None  # declared on the column; None: inherited from the table
    charset: str | None = None  # declared (or implied by a declared collation)
    line: int | None = None
    auto_increment: bool = False
    on_update: str | None = None  # "CURRENT_TIMESTAMP" when declared

    @property
    def is_string(self) -> bool:
        return is_string_type(self.type)


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    primary: bool = False
    line: int | None = None
    kind: str | None = None  # FULLTEXT / SPATIAL; None for an ordinary B-tree


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "RESTRICT"  # what the server does when the DDL says nothing
    on_update: str = "RESTRICT"
    line: int | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...]
    foreign_keys: tuple[ForeignKey, ...]
    engine: str | None = None
    charset: str | None = None
    collation: str | None = None
    file: str | None = None
    line: int | None = None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)

    @property
    def primary_key(self) -> Index | None:
        return next((i for i in self.indexes if i.primary), None)

    def column_charset(self, name: str) -> str | None:
        """The charset the server will give a string column; None for non-string columns."""
        col = self.column(name)
        if col is None or not col.is_string:
            return None
        return col.charset or self.charset

    def column_collation(self, name: str) -> str | None:
        """The collation the server will give a string column, when the DDL pins it down.

        None for non-string columns, and when it is the server's default for a charset
        (a column that names a CHARACTER SET without COLLATE gets that charset's
        default collation, not the table's: that depends on the server).
        """
        col = self.column(name)
        if col is None or not col.is_string:
            return None
        if col.collation:
            return col.collation
        if col.charset:
            # Even when it names the table's own charset (measured on MariaDB 10.11:
            # CHARACTER SET utf8mb4 gives utf8mb4_general_ci in a unicode_ci table).
            return None
        return self.collation


@dataclass(frozen=True)
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)

    def table(self, name: str) -> Table | None:
        return self.tables.get(name) or next(
            (t for n, t in self.tables.items() if n.lower() == name.lower()), None
        )

    @property
    def fk_count(self) -> int:
        return sum(len(t.foreign_keys) for t in self.tables.values())

    @property
    def index_count(self) -> int:
        """Distinct (table, index name), PRIMARY included: how STATISTICS counts them."""
        return len({(t.name, i.name) for t in self.tables.values() for i in t.indexes})

    @property
    def unique_count(self) -> int:
        """Unique indexes other than PRIMARY."""
        return len(
            {
                (t.name, i.name)
                for t in self.tables.values()
                for i in t.indexes
                if i.unique and not i.primary
            }
        )

    def summary(self) -> dict[str, int]:
        return {
            "tables": len(self.tables),
            "foreign_keys": self.fk_count,
            "indexes": self.index_count,
            "unique_indexes": self.unique_count,
        }
