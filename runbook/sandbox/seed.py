"""Realistic rows for the existing (parent) schema of the rehearsal sandbox.

The data is deterministic for a given row count and reference time, so two
sandboxes built with the same ``rows`` hold the same tenants, customers and
appointments (only the dates move with the day they were built on). The
appointment count is ``rows``; customers scale with it; companies, branches,
services and staff grow slowly, as in a real multi-tenant install where a few
large tenants hold most of the customers.
"""

from __future__ import annotations

import queue
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pymysql
from pymysql.converters import escape_string

DEFAULT_ROWS = 2000

# Laravel migrations that production ran before Phase 2, by batch. None of them
# is a Phase 2 name (those all start 2025_10_01_06).
EARLIER_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, "2014_10_12_000000_create_users_table"),
    (1, "2014_10_12_100000_create_password_resets_table"),
    (1, "2019_08_19_000000_create_failed_jobs_table"),
    (1, "2019_12_14_000001_create_personal_access_tokens_table"),
    (2, "2023_03_14_091200_create_companies_table"),
    (2, "2023_03_14_091500_create_branches_table"),
    (2, "2023_03_14_092000_create_customers_table"),
    (2, "2023_03_14_092400_create_services_table"),
    (2, "2023_03_14_093000_create_staff_table"),
    (2, "2023_03_14_093600_create_appointments_table"),
    (3, "2024_06_03_101500_add_is_active_to_companies_table"),
    (3, "2024_06_03_102000_add_city_to_branches_table"),
    (3, "2024_11_20_140000_add_status_to_appointments_table"),
    (3, "2025_09_22_120000_add_price_to_services_table"),
)

# Rows per INSERT statement (and per commit: keeps the undo log small).
_BATCH = 4000

_CITIES = (
    "Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart",
    "Düsseldorf", "Leipzig", "Dortmund", "Essen", "Bremen", "Dresden", "Hannover",
    "Nürnberg", "Wien", "Graz", "Zürich", "Basel",
)  # fmt: skip
_FIRST = (
    "Anna", "Lukas", "Sophie", "Maximilian", "Marie", "Felix", "Emma", "Jonas",
    "Mia", "Leon", "Hannah", "Paul", "Lea", "Elias", "Lena", "Noah", "Clara",
    "Ben", "Jürgen", "Özlem", "Zoë", "Mehmet", "Agnieszka", "Luca", "Fatma",
    "Sören", "Małgorzata", "Ioana", "Chloé", "Dmitri",
)  # fmt: skip
_LAST = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
    "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter",
    "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun",
    "Krüger", "Hofmann", "Hartmann", "Yılmaz", "Kowalski", "O'Connor",
    "Nguyen", "Popescu", "Großmann",
)  # fmt: skip

# (kind, company name patterns, services as (name, minutes, price))
_TRADES: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, int, str], ...]], ...] = (
    (
        "salon",
        ("Salon {last}", "Haarwerk {city}", "Friseur {last} & Team"),
        (
            ("Damenhaarschnitt", 60, "49.00"),
            ("Herrenhaarschnitt", 30, "28.00"),
            ("Färben", 90, "79.00"),
            ("Strähnchen", 120, "95.00"),
            ("Bartpflege", 20, "15.00"),
            ("Föhnen", 30, "25.00"),
        ),
    ),
    (
        "physio",
        ("Physiotherapie {last}", "Physio Aktiv {city}", "Praxis für Physiotherapie {last}"),
        (
            ("Krankengymnastik", 30, "32.50"),
            ("Manuelle Therapie", 30, "38.00"),
            ("Klassische Massage", 45, "42.00"),
            ("Lymphdrainage", 45, "40.00"),
            ("Erstbefund", 60, "55.00"),
        ),
    ),
    (
        "dental",
        ("Zahnarztpraxis Dr. {last}", "Zahnzentrum {city}", "Dr. {last} Zahnmedizin"),
        (
            ("Kontrolluntersuchung", 30, "0.00"),
            ("Professionelle Zahnreinigung", 60, "95.00"),
            ("Füllung", 45, "120.00"),
            ("Bleaching", 90, "350.00"),
        ),
    ),
    (
        "garage",
        ("Autohaus {last}", "KFZ-Service {city}", "{last} Autoservice GmbH"),
        (
            ("Inspektion", 120, "189.00"),
            ("Reifenwechsel", 30, "49.00"),
            ("Ölwechsel", 45, "79.00"),
            ("HU/AU Vorbereitung", 60, "99.00"),
        ),
    ),
    (
        "beauty",
        ("Kosmetikstudio {last}", "Beauty Lounge {city}", "Nagelstudio {last}"),
        (
            ("Gesichtsbehandlung", 60, "65.00"),
            ("Maniküre", 45, "35.00"),
            ("Pediküre", 60, "42.00"),
            ("Wimpernverlängerung", 90, "110.00"),
        ),
    ),
)

_TRANSLIT = str.maketrans(
    {
        "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "ë": "e", "ı": "i",
        "ł": "l", "ą": "a", "ż": "z", "ś": "s", "ń": "n", "ó": "o", "ş": "s",
        "'": "", " ": "-", "&": "und", ".": "", "/": "-",
    }
)  # fmt: skip


def _ascii(text: str) -> str:
    return text.lower().translate(_TRANSLIT).encode("ascii", "ignore").decode()


@dataclass
class Plan:
    """How many rows each parent table gets for a given ``rows``."""

    companies: int
    customers: int
    appointments: int

    @classmethod
    def for_rows(cls, rows: int) -> Plan:
        return cls(
            companies=max(5, min(50, rows // 4000)),
            customers=max(20, rows // 2),
            appointments=rows,
        )


@dataclass
class _Company:
    id: int
    trade: int
    branches: list[str] = field(default_factory=list)
    staff_by_branch: dict[str, list[str]] = field(default_factory=dict)
    services: list[tuple[int, int]] = field(default_factory=list)  # (id, minutes)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _insert(
    conn: pymysql.connections.Connection, table: str, columns: Sequence[str], rows: list[tuple]
) -> None:
    sql = "INSERT INTO `{}` ({}) VALUES ({})".format(
        table, ", ".join(f"`{c}`" for c in columns), ", ".join(["%s"] * len(columns))
    )
    with conn.cursor() as cur:
        for start in range(0, len(rows), _BATCH):
            cur.executemany(sql, rows[start : start + _BATCH])
            conn.commit()


_SESSION = "SET SESSION foreign_key_checks = 0, unique_checks = 0, time_zone = '+00:00'"


class _Loader:
    """Executes pre-rendered INSERT statements on worker connections while rows are generated.

    Secondary indexes on utf8mb4_unicode_ci char(36) columns make the server
    side the slow half; with two connections it works on two cores while this
    thread renders the next statement.
    """

    def __init__(self, connect: Callable[[], pymysql.connections.Connection], workers: int) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=workers * 2)
        self._errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._work, args=(connect,), daemon=True)
            for _ in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self, connect: Callable[[], pymysql.connections.Connection]) -> None:
        try:
            with connect() as conn, conn.cursor() as cur:
                cur.execute(_SESSION)
                while (sql := self._queue.get()) is not None:
                    if not self._errors:
                        cur.execute(sql)
                        conn.commit()
        except BaseException as exc:
            self._errors.append(exc)
            while self._queue.get() is not None:
                pass  # keep draining so the producer never blocks

    def insert(self, table: str, columns: Sequence[str], rows: list[str]) -> None:
        if self._errors:
            raise self._errors[0]
        head = "INSERT INTO `{}` ({}) VALUES ".format(table, ", ".join(f"`{c}`" for c in columns))
        self._queue.put(head + ",".join(rows))

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]


class _Clock:
    """Timestamps as SQL literals, from second offsets relative to a reference time."""

    def __init__(self, now: datetime) -> None:
        self.today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        self.now_offset = int((now - self.today).total_seconds())
        self._days: dict[int, str] = {}
        self._times = [
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        ]

    def midnight(self, offset: int) -> str:
        """``offset`` seconds after today's midnight (negative: before)."""
        days, second = divmod(offset, 86400)
        text = self._days.get(days)
        if text is None:
            text = self._days[days] = (self.today + timedelta(days=days)).strftime("%Y-%m-%d")
        return f"'{text} {self._times[second]}'"

    def at(self, offset_from_now: int) -> str:
        return self.midnight(self.now_offset + offset_from_now)


def seed(
    connect: Callable[[], pymysql.connections.Connection],
    rows: int = DEFAULT_ROWS,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Fill every parent table of ``baseline.sql``; returns the row count per table.

    ``connect`` opens a connection (autocommit off) to the target database;
    several are used at once. ``now`` is naive UTC (the sessions' time zone is
    UTC while seeding). The rows are consistent by construction (every
    appointment's customer, branch, staff and service belong to its company),
    so foreign-key checks are off in the seeding sessions only, to load 200k
    rows in seconds rather than minutes.
    """
    plan = Plan.for_rows(rows)
    rng = random.Random(rows)
    # UTC on the session: a local-time DST gap cannot swallow a generated time.
    now = (now or datetime.now(UTC).replace(tzinfo=None)).replace(microsecond=0)
    say = progress or (lambda _msg: None)
    with connect() as conn:
        with conn.cursor() as cur:
            cur.execute(_SESSION)
        return _seed(conn, connect, plan, rng, now, say)


def _seed(
    conn: pymysql.connections.Connection,
    connect: Callable[[], pymysql.connections.Connection],
    plan: Plan,
    rng: random.Random,
    now: datetime,
    say: Callable[[str], None],
) -> dict[str, int]:
    companies: list[_Company] = []
    company_rows = []
    slugs: set[str] = set()
    for cid in range(1, plan.companies + 1):
        trade = cid % len(_TRADES) if cid > 1 else 0
        city = rng.choice(_CITIES)
        name = rng.choice(_TRADES[trade][1]).format(last=rng.choice(_LAST), city=city)
        slug = _ascii(name)
        if slug in slugs:
            slug = f"{slug}-{cid}"
        slugs.add(slug)
        created = now - timedelta(days=rng.randint(400, 1500), minutes=rng.randint(0, 1440))
        company_rows.append(
            (cid, name, slug, f"info@{slug}.de", int(cid % 17 != 0), _ts(created), _ts(created))
        )
        companies.append(_Company(cid, trade))
    _insert(
        conn,
        "companies",
        ("id", "name", "slug", "email", "is_active", "created_at", "updated_at"),
        company_rows,
    )

    branch_rows, staff_rows, service_rows = [], [], []
    service_id = 0
    for company in companies:
        created = now - timedelta(days=rng.randint(300, 1400))
        for number in range(rng.randint(1, 4)):
            bid = _uuid(rng)
            city = rng.choice(_CITIES)
            label = "Zentrale" if number == 0 else f"Filiale {city}"
            branch_rows.append((bid, company.id, label, city, 1, _ts(created), _ts(created)))
            company.branches.append(bid)
            company.staff_by_branch[bid] = []
            for _ in range(rng.randint(2, 6)):
                sid = _uuid(rng)
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                email = f"{_ascii(first)}.{_ascii(last)}@{_ascii(label)}.example"
                staff_rows.append(
                    (sid, company.id, bid, f"{first} {last}", email, _ts(created), _ts(created))
                )
                company.staff_by_branch[bid].append(sid)
        # A few staff work for the company without a fixed branch (branch_id NULL).
        if rng.random() < 0.3:
            staff_rows.append(
                (_uuid(rng), company.id, None, f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                 None, _ts(created), _ts(created))
            )  # fmt: skip
        for name, minutes, price in _TRADES[company.trade][2]:
            service_id += 1
            service_rows.append(
                (service_id, company.id, name, minutes, price, _ts(created), _ts(created))
            )
            company.services.append((service_id, minutes))
    _insert(
        conn,
        "branches",
        ("id", "company_id", "name", "city", "is_active", "created_at", "updated_at"),
        branch_rows,
    )
    _insert(
        conn,
        "services",
        ("id", "company_id", "name", "duration_minutes", "price", "created_at", "updated_at"),
        service_rows,
    )
    _insert(
        conn,
        "staff",
        ("id", "company_id", "branch_id", "name", "email", "created_at", "updated_at"),
        staff_rows,
    )

    loader = _Loader(connect, workers=2)
    try:
        _render_big_tables(loader, rng, plan, now, companies, say)
    finally:
        loader.close()

    _insert(conn, "migrations", ("migration", "batch"), [(m, b) for b, m in EARLIER_MIGRATIONS])
    return {
        "companies": len(company_rows),
        "branches": len(branch_rows),
        "services": len(service_rows),
        "staff": len(staff_rows),
        "customers": plan.customers,
        "appointments": plan.appointments,
        "migrations": len(EARLIER_MIGRATIONS),
    }


def _render_big_tables(
    loader: _Loader,
    rng: random.Random,
    plan: Plan,
    now: datetime,
    companies: list[_Company],
    say: Callable[[str], None],
) -> None:
    # Rendered straight to SQL: escaping 2 million values through executemany
    # and strftime-ing a million dates took longer than the server's inserts.
    clock = _Clock(now)
    rand = rng.random
    first_sql = [escape_string(n) for n in _FIRST]
    last_sql = [escape_string(n) for n in _LAST]
    first_ascii = [_ascii(n) for n in _FIRST]
    last_ascii = [_ascii(n) for n in _LAST]
    domains = ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de")
    mobile = (151, 152, 157, 160, 170, 176)
    say(f"customers: {plan.customers}")
    # A few large tenants and a long tail: company 1 is the biggest.
    weights = [1.0 / (index + 1) for index in range(len(companies))]
    customer_company = rng.choices(range(len(companies)), weights=weights, k=plan.customers)
    customer_columns = ("id", "company_id", "name", "email", "phone", "created_at", "updated_at")
    customer_sql: list[str] = []
    for cust_id, cindex in enumerate(customer_company, start=1):
        f, la = int(rand() * len(_FIRST)), int(rand() * len(_LAST))
        email = (
            f"'{first_ascii[f]}.{last_ascii[la]}{cust_id}@{domains[int(rand() * len(domains))]}'"
            if rand() < 0.8
            else "NULL"
        )
        phone = (
            f"'+49 {mobile[int(rand() * len(mobile))]} {1000000 + int(rand() * 98999999)}'"
            if rand() < 0.95
            else "NULL"
        )
        created = clock.at(-int(rand() * 700 * 86400) - 3600)
        customer_sql.append(
            f"({cust_id},{companies[cindex].id},'{first_sql[f]} {last_sql[la]}',{email},{phone},"
            f"{created},{created})"
        )
        if len(customer_sql) == _BATCH:
            loader.insert("customers", customer_columns, customer_sql)
            customer_sql = []
    if customer_sql:
        loader.insert("customers", customer_columns, customer_sql)

    say(f"appointments: {plan.appointments}")
    appointment_columns = (
        "id", "company_id", "customer_id", "branch_id", "service_id", "staff_id",
        "starts_at", "ends_at", "status", "created_at", "updated_at",
    )  # fmt: skip
    appointment_sql: list[str] = []
    now_offset = clock.now_offset
    day = 86400
    for appt_id in range(1, plan.appointments + 1):
        cust = int(rand() * plan.customers)
        company = companies[customer_company[cust]]
        branch = company.branches[int(rand() * len(company.branches))]
        staff_choices = company.staff_by_branch[branch]
        staff = (
            f"'{staff_choices[int(rand() * len(staff_choices))]}'"
            if staff_choices and rand() < 0.9
            else "NULL"
        )
        service, minutes = company.services[int(rand() * len(company.services))]
        # Offsets in seconds from today's midnight: a year back, two months ahead,
        # on the quarter hour between 08:00 and 18:45.
        starts = (int(rand() * 426) - 365) * day + (8 + int(rand() * 11)) * 3600
        starts += 900 * int(rand() * 4)
        ends = starts + minutes * 60
        if starts > now_offset:
            status = "confirmed" if rand() < 0.6 else "scheduled"
        else:
            roll = rand()
            status = "completed" if roll < 0.8 else ("cancelled" if roll < 0.92 else "no_show")
        created = min(now_offset, starts - int(rand() * 31) * day - 300 - int(rand() * 36000))
        updated = created if status == "scheduled" else min(now_offset, max(created, ends))
        appointment_sql.append(
            f"({appt_id},{company.id},{cust + 1},'{branch}',{service},{staff},"
            f"{clock.midnight(starts)},{clock.midnight(ends)},'{status}',"
            f"{clock.midnight(created)},{clock.midnight(updated)})"
        )
        if len(appointment_sql) == _BATCH:
            loader.insert("appointments", appointment_columns, appointment_sql)
            appointment_sql = []
    if appointment_sql:
        loader.insert("appointments", appointment_columns, appointment_sql)
