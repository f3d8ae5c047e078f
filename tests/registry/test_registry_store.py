"""The store's reads within a write: what it kept follows the write's own changes, and
nothing is kept past the write (other connections' commits are seen)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from prodmatch.registry.store import WRITER_CACHE_MB, Listing, Store, Stored, dialect_for


def listing(product: int, text: str) -> Listing:
    return Listing(0, "shop", text, text, text, product, {"title": text}, None)


def vector(value: float) -> np.ndarray:
    return np.full(4, value, dtype=np.float32)


def pks(listings: list[Stored]) -> list[int]:
    return [x.pk for x in listings]


def test_a_write_reads_its_own_changes_after_reading_a_product(tmp_path: Path) -> None:
    store = Store(dialect_for(tmp_path, None))
    with store.write():
        a, b = store.new_product(), store.new_product()
        one = store.insert_listing(listing(a, "one"), vector(1), 1)
        assert pks(store.members(a)) == [one]
        assert store.vectors_of([one])[one].tolist() == [1] * 4
        two = store.insert_listing(listing(a, "two"), vector(2), 1)
        assert pks(store.members(a)) == [one, two]
        store.move_listings([two], b)
        assert (pks(store.members(a)), pks(store.members(b))) == ([one], [two])
        fresh = replace(listing(a, "uno"), pk=one, attributes={"title": "uno", "colour": "red"})
        store.update_listing(fresh, vector(3), 2)
        assert store.members(a)[0].text == "uno"
        assert store.listings_of(a)[0].attributes == fresh.attributes
        assert store.vectors_of([one])[one].tolist() == [3] * 4
        assert pks(store.members(b)) == [two] and two in store.vectors_of([two])
        store.delete_listing(two, 2)
        assert store.members(b) == [] and store.vectors_of([two]) == {}
    store.close()


def test_nothing_read_is_kept_past_the_write(tmp_path: Path) -> None:
    dialect = dialect_for(tmp_path, None)
    store, other, reader = Store(dialect), Store(dialect), Store(dialect, reader=True)
    with store.write():
        product = store.new_product()
        first = store.insert_listing(listing(product, "one"), vector(1), 1)
        assert pks(store.members(product)) == [first]
        store.vectors_of([first])
    with other.write():  # another writer (process) changes what the first one read
        second = other.insert_listing(listing(product, "two"), vector(2), 2)
        other.update_listing(replace(listing(product, "one"), pk=first), vector(5), 2)
    with store.write():
        assert pks(store.members(product)) == [first, second]
        assert store.vectors_of([first])[first].tolist() == [5] * 4
    assert pks(reader.members(product)) == [first, second]  # reads keep nothing
    with other.write():
        third = other.insert_listing(listing(product, "three"), vector(3), 3)
    assert pks(reader.members(product)) == [first, second, third]
    for each in (store, other, reader):
        each.close()


def test_products_listings_are_read_together_oldest_first(tmp_path: Path) -> None:
    store = Store(dialect_for(tmp_path, None))
    with store.write():
        a, b, empty = store.new_product(), store.new_product(), store.new_product()
        made = [
            store.insert_listing(listing(p, f"t{n}"), vector(n), 1)
            for n, p in enumerate([a, b, a, b, a])
        ]
    read = store.members_of([b, empty, a, b])
    assert {p: pks(found) for p, found in read.items()} == {
        a: [made[0], made[2], made[4]],
        b: [made[1], made[3]],
        empty: [],
    }
    assert pks(store.members(a)) == pks(read[a])
    whole = store.listings_of(a)  # the same listings, with what they were sent with
    assert [Stored(x.pk, x.platform, x.id, x.text, x.plain, x.product) for x in whole] == read[a]
    assert [x.attributes for x in whole] == [{"title": f"t{n}"} for n in (0, 2, 4)]
    store.close()


def test_the_writing_connection_caches_more_pages_than_readers(tmp_path: Path) -> None:
    dialect = dialect_for(tmp_path, None)
    writer, reader = Store(dialect), Store(dialect, reader=True)
    cache_kib = -WRITER_CACHE_MB * 1024  # SQLite reads a negative size as KiB
    assert writer.connection.execute("PRAGMA cache_size").fetchone()[0] == cache_kib
    assert reader.connection.execute("PRAGMA cache_size").fetchone()[0] == -2000  # default
    writer.close()
    reader.close()
