"""The registry's storage: one SQL interface over SQLite (embedded) and PostgreSQL (shared).

The database is the truth: listings with their texts and vectors, products, the event feed,
labels and API keys. Everything else (the FAISS index) is rebuilt from it. Both back ends run
the same statements; a `Dialect` says only how to connect, what the column types are called,
how parameters are marked and how a writer takes the one write lock (SQLite's `BEGIN
IMMEDIATE`, a PostgreSQL advisory lock), so several server processes on one PostgreSQL
database assign products one batch at a time.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from prodmatch.errors import ProdmatchError

SQLITE_FILE = "registry.sqlite3"
SCHEMA_VERSION = "1"
# SQLite's page cache of the writing connection, in MiB (its default is 2). Placing a batch
# reads the rows of ~10k stored listings from anywhere in the table (each ~2 kB with its
# vector, ~220 MB at 100k listings): with 2 MiB nearly every row was a page read from the
# operating system's cache. Read connections keep the default: a match reads ~30 rows.
WRITER_CACHE_MB = 128
_LOCK_KEY = 7_310_013  # the PostgreSQL advisory lock every writer takes


@dataclass(slots=True)
class Stored:
    """A stored listing as matching reads it: where it is sold, its two texts and its
    product. Each placed listing is scored against ~30 stored ones; reading their attributes
    too (JSON) was a third of reading them, and only showing a listing needs them.

    Read-only by convention, not frozen: a frozen dataclass sets each field through
    `object.__setattr__` (~1 us a listing made against ~0.2), and a batch makes tens of
    thousands (`_moved` makes a changed copy)."""

    pk: int
    platform: str
    id: str
    text: str
    plain: str
    product: int


@dataclass(slots=True)
class Listing(Stored):
    """One stored listing whole: also the attributes and photo it was sent with."""

    attributes: dict[str, str]
    photo: str | None


@dataclass(frozen=True)
class Event:
    """One entry of the ordered feed: what changed, to which product, and why."""

    seq: int
    kind: str  # join, merge, split, update, delete
    product: int
    other: int | None  # the product merged away, split from, or left
    platform: str | None
    listing: str | None
    reason: dict[str, Any]
    at: str


_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS products (id {pk}, alive INTEGER NOT NULL,
        merged_into BIGINT, created TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS listings (pk {pk}, platform TEXT NOT NULL, id TEXT NOT NULL,
        attributes TEXT NOT NULL, photo TEXT, text TEXT NOT NULL, plain TEXT NOT NULL,
        vector {blob} NOT NULL, product BIGINT NOT NULL, vseq BIGINT NOT NULL,
        UNIQUE (platform, id))""",
    "CREATE INDEX IF NOT EXISTS listings_product ON listings (product)",
    "CREATE INDEX IF NOT EXISTS listings_vseq ON listings (vseq)",
    "CREATE TABLE IF NOT EXISTS gone (pk BIGINT PRIMARY KEY, vseq BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS gone_vseq ON gone (vseq)",
    """CREATE TABLE IF NOT EXISTS events (seq {pk}, kind TEXT NOT NULL, product BIGINT NOT NULL,
        other BIGINT, platform TEXT, listing TEXT, reason TEXT NOT NULL, at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS labels (a_platform TEXT NOT NULL, a_id TEXT NOT NULL,
        b_platform TEXT NOT NULL, b_id TEXT NOT NULL, same INTEGER NOT NULL, at TEXT NOT NULL,
        PRIMARY KEY (a_platform, a_id, b_platform, b_id))""",
    """CREATE TABLE IF NOT EXISTS api_keys (hash TEXT PRIMARY KEY, name TEXT NOT NULL,
        scope TEXT NOT NULL, created TEXT NOT NULL)""",
]
_LISTING = "pk, platform, id, attributes, photo, text, plain, product"
_STORED = "pk, platform, id, text, plain, product"


class Dialect:
    """What differs between the back ends; the statements themselves do not."""

    name = "sqlite"
    pk = "INTEGER PRIMARY KEY AUTOINCREMENT"  # never reused: product ids and FAISS ids stay
    blob = "BLOB"

    def __init__(self, target: str) -> None:
        self.target = target

    def connect(self) -> Any:
        connection = sqlite3.connect(self.target, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives power loss
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    def sql(self, statement: str) -> str:
        return statement

    def for_writing(self, connection: Any) -> None:
        """A writing connection tuned for placing batches (`WRITER_CACHE_MB`)."""
        connection.execute(f"PRAGMA cache_size=-{WRITER_CACHE_MB * 1024}")  # KiB when negative

    def begin_write(self, cursor: Any) -> None:
        cursor.execute("BEGIN IMMEDIATE")


class PostgresDialect(Dialect):
    name = "postgresql"
    pk = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    blob = "BYTEA"

    def connect(self) -> Any:
        try:
            import psycopg
        except ImportError:
            raise ProdmatchError(
                "PostgreSQL needs psycopg: pip install 'prodmatch[serve]'"
            ) from None
        try:
            return psycopg.connect(self.target, autocommit=True)
        except psycopg.Error as error:
            raise ProdmatchError(f"cannot connect to the database: {error}") from None

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def for_writing(self, connection: Any) -> None:
        """The server's caches are its own (`shared_buffers`)."""

    def begin_write(self, cursor: Any) -> None:
        cursor.execute("BEGIN")
        cursor.execute(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")


def dialect_for(folder: Path, database: str | None) -> Dialect:
    """SQLite in the registry folder, or the PostgreSQL database a URL names."""
    if database is None:
        return Dialect(str(folder / SQLITE_FILE))
    if database.startswith(("postgresql://", "postgres://")):
        return PostgresDialect(database)
    raise ProdmatchError(f"--database must be a postgresql:// URL, got '{database.split(':')[0]}'")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Store:
    """Statements over one connection; writes happen inside `write()` only.

    The caller serialises use of one Store (the registry holds a lock): a DB-API connection is
    not for several threads at once.
    """

    def __init__(self, dialect: Dialect, *, reader: bool = False) -> None:
        """`reader`: a second connection for reads only (the schema is the writer's to make):
        SQLite in WAL mode and PostgreSQL let it read committed data while a write is open."""
        self.dialect = dialect
        self.connection = dialect.connect()
        self._in_write = False
        # What this write read, kept until it ends: placing a batch reads the listings and
        # vectors of the same products listing after listing (~0.4 ms a listing at 100k).
        # Sound because in a write transaction the rows change only through this object,
        # whose writes drop what they touch.
        self._members: dict[int, list[Stored]] = {}  # product -> its listings
        self._vectors: dict[int, npt.NDArray[np.float32]] = {}  # pk -> vector
        if reader:
            return
        dialect.for_writing(self.connection)
        with self.write():
            for statement in _SCHEMA:
                self._run(statement.format(pk=dialect.pk, blob=dialect.blob))
            if self.meta("schema") is None:
                self.set_meta("schema", SCHEMA_VERSION)
                self.set_meta("vseq", "0")
        if self.meta("schema") != SCHEMA_VERSION:
            raise ProdmatchError(f"registry schema {self.meta('schema')} is not understood")

    def close(self) -> None:
        self.connection.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """One transaction holding the write lock: all of it is stored, or none of it."""
        cursor = self.connection.cursor()
        self.dialect.begin_write(cursor)
        self._in_write = True
        self._forget()
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        else:
            self.connection.execute("COMMIT")
        finally:
            self._in_write = False
            self._forget()

    def _forget(self, pk: int | None = None) -> None:
        """Drop what the write read: every product's listings, and `pk`'s vector (all
        vectors when None)."""
        self._members.clear()
        if pk is None:
            self._vectors.clear()
        else:
            self._vectors.pop(pk, None)

    def _run(self, statement: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.connection.cursor()
        cursor.execute(self.dialect.sql(statement), tuple(params))
        return cursor

    def _all(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._run(statement, params).fetchall())

    def _all_in(
        self, statement: str, values: Sequence[Any], before: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows of `statement`, its `{}` the placeholders of `values` (after those of
        `before`), read 500 values at a time (SQLite's limit on parameters is not far)."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            rows.extend(self._all(statement.format(marks), [*before, *chunk]))
        return rows

    def _one(self, statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._run(statement, params).fetchone()
        return tuple(row) if row is not None else None

    # -- meta ------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        if self.meta(key) is None:
            self._run("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
        else:
            self._run("UPDATE meta SET value = ? WHERE key = ?", (value, key))

    def vseq(self) -> int:
        """The vector generation: it rises with every transaction that changes a vector."""
        return int(self.meta("vseq") or 0)

    def next_vseq(self) -> int:
        value = self.vseq() + 1
        self.set_meta("vseq", str(value))
        return value

    # -- listings --------------------------------------------------------------------------

    def listing(self, platform: str, listing_id: str) -> Listing | None:
        row = self._one(
            f"SELECT {_LISTING} FROM listings WHERE platform = ? AND id = ?",
            (platform, listing_id),
        )
        return None if row is None else _listing(row)

    def listings_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Listing]:
        """The stored ones of these (platform, id) listings, a read per platform and 500."""
        ids_on: dict[str, list[str]] = {}
        for platform, listing_id in keys:
            ids_on.setdefault(platform, []).append(listing_id)
        found: dict[tuple[str, str], Listing] = {}
        statement = f"SELECT {_LISTING} FROM listings WHERE platform = ? AND id IN ({{}})"
        for platform, ids in ids_on.items():
            rows = self._all_in(statement, ids, (platform,))
            found.update(((row[1], row[2]), _listing(row)) for row in rows)
        return found

    def listings_by_pk(self, pks: Sequence[int]) -> dict[int, Listing]:
        rows = self._all_in(f"SELECT {_LISTING} FROM listings WHERE pk IN ({{}})", _ints(pks))
        return {int(row[0]): _listing(row) for row in rows}

    def stored_by_pk(self, pks: Sequence[int]) -> dict[int, Stored]:
        """These listings as matching reads them (`Stored`), those that are stored."""
        rows = self._all_in(f"SELECT {_STORED} FROM listings WHERE pk IN ({{}})", _ints(pks))
        return {int(row[0]): _stored(row) for row in rows}

    def products_of(self, pks: Sequence[int]) -> dict[int, int]:
        """The product of each of these listings that is stored."""
        rows = self._all_in("SELECT pk, product FROM listings WHERE pk IN ({})", _ints(pks))
        return {int(row[0]): int(row[1]) for row in rows}

    def listings_of(self, product: int) -> list[Listing]:
        """A product's listings whole, oldest first (what showing it needs)."""
        rows = self._all(
            f"SELECT {_LISTING} FROM listings WHERE product = ? ORDER BY pk", (product,)
        )
        return [_listing(row) for row in rows]

    def members(self, product: int) -> list[Stored]:
        """A product's listings as matching reads them, oldest first."""
        return self.members_of([product])[product]

    def members_of(self, products: Sequence[int]) -> dict[int, list[Stored]]:
        """Each of these products' listings as matching reads them, oldest first, read 500
        products at a time."""
        wanted = _ints(products)
        todo = [product for product in dict.fromkeys(wanted) if product not in self._members]
        found: dict[int, list[Stored]] = {product: [] for product in todo}
        statement = f"SELECT {_STORED} FROM listings WHERE product IN ({{}})"
        for row in sorted(self._all_in(statement, todo)):  # by pk: oldest first
            found[int(row[5])].append(_stored(row))
        if self._in_write:
            self._members.update(found)
            found = self._members
        return {product: list(found[product]) for product in wanted}

    def insert_listing(self, listing: Listing, vector: npt.NDArray[np.float32], vseq: int) -> int:
        row = self._one(
            """INSERT INTO listings (platform, id, attributes, photo, text, plain, vector,
            product, vseq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING pk""",
            (*_listing_values(listing), _blob(vector), listing.product, vseq),
        )
        assert row is not None
        self._members.pop(listing.product, None)
        return int(row[0])

    def update_listing(
        self, listing: Listing, vector: npt.NDArray[np.float32] | None, vseq: int
    ) -> None:
        """New attributes (and, with `vector`, a new text and vector) for a stored listing."""
        self._forget(listing.pk)
        if vector is None:
            self._run(
                "UPDATE listings SET attributes = ?, photo = ? WHERE pk = ?",
                (_json(listing.attributes), listing.photo, listing.pk),
            )
            return
        self._run(
            """UPDATE listings SET attributes = ?, photo = ?, text = ?, plain = ?, vector = ?,
            product = ?, vseq = ? WHERE pk = ?""",
            (
                _json(listing.attributes),
                listing.photo,
                listing.text,
                listing.plain,
                _blob(vector),
                listing.product,
                vseq,
                listing.pk,
            ),
        )

    def move_listings(self, pks: Sequence[int], product: int) -> None:
        self._members.clear()
        for pk in pks:
            self._run("UPDATE listings SET product = ? WHERE pk = ?", (product, int(pk)))

    def delete_listing(self, pk: int, vseq: int) -> None:
        self._forget(pk)
        self._run("DELETE FROM listings WHERE pk = ?", (pk,))
        self._run("INSERT INTO gone (pk, vseq) VALUES (?, ?)", (pk, vseq))

    def recent_pks(self, limit: int) -> list[int]:
        """The pks of the `limit` listings stored last (newest first)."""
        rows = self._all("SELECT pk FROM listings ORDER BY pk DESC LIMIT ?", (int(limit),))
        return [int(row[0]) for row in rows]

    def count_listings(self) -> int:
        row = self._one("SELECT COUNT(*) FROM listings")
        return int(row[0]) if row else 0

    def vectors_since(self, vseq: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The pks and vectors of listings whose vector changed after generation `vseq`."""
        # sorted here: with ORDER BY pk, SQLite scans the whole table in pk order rather than
        # use the vseq index (87 ms at 100k listings, for every read after a write)
        rows = sorted(self._all("SELECT pk, vector FROM listings WHERE vseq > ?", (vseq,)))
        pks = np.asarray([row[0] for row in rows], dtype=np.int64)
        if not rows:
            return pks, np.zeros((0, 0), dtype=np.float32)
        return pks, np.stack([np.frombuffer(bytes(row[1]), dtype=np.float32) for row in rows])

    def vectors_of(self, pks: Sequence[int]) -> dict[int, npt.NDArray[np.float32]]:
        """The vectors of these listings that are stored, by pk."""
        wanted = _ints(pks)
        todo = [pk for pk in wanted if pk not in self._vectors]
        rows = self._all_in("SELECT pk, vector FROM listings WHERE pk IN ({})", todo)
        found = {int(r[0]): np.frombuffer(bytes(r[1]), dtype=np.float32) for r in rows}
        if self._in_write:
            self._vectors.update(found)
            found = self._vectors
        return {pk: found[pk] for pk in wanted if pk in found}

    def plains_since(self, vseq: int) -> list[tuple[int, str]]:
        """(pk, plain text) of listings whose text changed after generation `vseq`."""
        rows = sorted(self._all("SELECT pk, plain FROM listings WHERE vseq > ?", (vseq,)))
        return [(int(row[0]), str(row[1])) for row in rows]

    def gone_since(self, vseq: int) -> list[int]:
        return [int(row[0]) for row in self._all("SELECT pk FROM gone WHERE vseq > ?", (vseq,))]

    # -- products --------------------------------------------------------------------------

    def new_product(self) -> int:
        row = self._one(
            "INSERT INTO products (alive, created) VALUES (1, ?) RETURNING id", (now(),)
        )
        assert row is not None
        return int(row[0])

    def product(self, product: int) -> tuple[bool, int | None] | None:
        """(alive, merged into) of a product id ever given, else None."""
        row = self._one("SELECT alive, merged_into FROM products WHERE id = ?", (product,))
        return None if row is None else (bool(row[0]), row[1])

    def end_product(self, product: int, merged_into: int | None = None) -> None:
        self._run(
            "UPDATE products SET alive = 0, merged_into = ? WHERE id = ?", (merged_into, product)
        )

    def revive_product(self, product: int) -> None:
        self._run("UPDATE products SET alive = 1, merged_into = NULL WHERE id = ?", (product,))

    def count_products(self) -> int:
        row = self._one("SELECT COUNT(*) FROM products WHERE alive = 1")
        return int(row[0]) if row else 0

    # -- events ----------------------------------------------------------------------------

    def add_event(
        self,
        kind: str,
        product: int,
        *,
        other: int | None = None,
        listing: tuple[str, str] | None = None,
        reason: dict[str, Any] | None = None,
    ) -> int:
        """Append an event; its sequence number."""
        platform, listing_id = listing if listing is not None else (None, None)
        row = self._one(
            """INSERT INTO events (kind, product, other, platform, listing, reason, at)
            VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq""",
            (kind, product, other, platform, listing_id, _json(reason or {}), now()),
        )
        assert row is not None
        return int(row[0])

    def events(self, after: int, limit: int) -> list[Event]:
        rows = self._all(
            """SELECT seq, kind, product, other, platform, listing, reason, at FROM events
            WHERE seq > ? ORDER BY seq LIMIT ?""",
            (after, limit),
        )
        return [
            Event(int(r[0]), r[1], int(r[2]), r[3], r[4], r[5], json.loads(r[6]), r[7])
            for r in rows
        ]

    # -- labels ----------------------------------------------------------------------------

    def set_label(self, a: tuple[str, str], b: tuple[str, str], same: bool) -> None:
        a, b = sorted((a, b))
        self._run(
            "DELETE FROM labels WHERE a_platform = ? AND a_id = ? AND b_platform = ? AND b_id = ?",
            (*a, *b),
        )
        self._run(
            "INSERT INTO labels (a_platform, a_id, b_platform, b_id, same, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (*a, *b, int(same), now()),
        )

    def delete_label(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        """Forget a pair's label; whether there was one."""
        a, b = sorted((a, b))
        cursor = self._run(
            "DELETE FROM labels WHERE a_platform = ? AND a_id = ? AND b_platform = ? AND b_id = ?",
            (*a, *b),
        )
        return bool(cursor.rowcount)

    def labels_of(self, keys: Sequence[tuple[str, str]]) -> list[tuple[str, str, str, str, bool]]:
        """Every label naming one of these listings, as (a_platform, a_id, b_platform, b_id,
        same)."""
        found: set[tuple[str, str, str, str, bool]] = set()
        for platform, listing_id in set(keys):
            rows = self._all(
                """SELECT a_platform, a_id, b_platform, b_id, same FROM labels
                WHERE (a_platform = ? AND a_id = ?) OR (b_platform = ? AND b_id = ?)""",
                (platform, listing_id, platform, listing_id),
            )
            found.update((r[0], r[1], r[2], r[3], bool(r[4])) for r in rows)
        return sorted(found)

    def all_labels(self, *, by_time: bool = False) -> list[tuple[str, str, str, str, bool]]:
        """Every label, by pair, or (`by_time`) in the order they were given."""
        order = "at, " if by_time else ""
        rows = self._all(
            "SELECT a_platform, a_id, b_platform, b_id, same FROM labels "
            f"ORDER BY {order}a_platform, a_id, b_platform, b_id"
        )
        return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # -- API keys --------------------------------------------------------------------------

    def add_key(self, digest: str, name: str, scope: str) -> None:
        self._run(
            "INSERT INTO api_keys (hash, name, scope, created) VALUES (?, ?, ?, ?)",
            (digest, name, scope, now()),
        )

    def key_scope(self, digest: str) -> str | None:
        row = self._one("SELECT scope FROM api_keys WHERE hash = ?", (digest,))
        return None if row is None else str(row[0])

    def count_keys(self) -> int:
        row = self._one("SELECT COUNT(*) FROM api_keys")
        return int(row[0]) if row else 0


def _listing(row: Sequence[Any]) -> Listing:
    return Listing(
        pk=int(row[0]),
        platform=row[1],
        id=row[2],
        text=row[5],
        plain=row[6],
        product=int(row[7]),
        attributes=json.loads(row[3]),
        photo=row[4],
    )


def _stored(row: Sequence[Any]) -> Stored:
    return Stored(int(row[0]), row[1], row[2], row[3], row[4], int(row[5]))


def _ints(values: Sequence[Any]) -> list[int]:
    """Keys as Python ints (the drivers refuse numpy's)."""
    return [int(value) for value in values]


def _listing_values(listing: Listing) -> tuple[Any, ...]:
    return (
        listing.platform,
        listing.id,
        _json(listing.attributes),
        listing.photo,
        listing.text,
        listing.plain,
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _blob(vector: npt.NDArray[np.float32]) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


class Readers:
    """Read connections lent one per reading thread, made as needed up to `size`.

    SQLite in WAL mode and PostgreSQL both read side by side and beside a write: with one
    shared read connection, each match waited for the one before it (a FAISS search and the
    listings read, ~15 ms at 100k listings).
    """

    def __init__(self, dialect: Dialect, size: int = 8) -> None:
        self.dialect = dialect
        self.size = size
        self._free: queue.LifoQueue[Store] = queue.LifoQueue()
        self._made: list[Store] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def lend(self) -> Iterator[Store]:
        """A read connection of this thread's own until the block ends."""
        try:
            store = self._free.get_nowait()
        except queue.Empty:
            store = self._make() or self._free.get()
        try:
            yield store
        finally:
            self._free.put(store)

    def _make(self) -> Store | None:
        with self._lock:
            if len(self._made) >= self.size:
                return None
            store = Store(self.dialect, reader=True)
            self._made.append(store)
            return store

    def close(self) -> None:
        with self._lock:
            for store in self._made:
                store.close()
            self._made = []
