"""The registry on a real PostgreSQL server: the same behaviour as on SQLite."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("psycopg")

from registry_fakes import EXPECTED_EVENTS, EXPECTED_PRODUCTS, event_log, item, run_script


def test_scripted_sequence_gives_the_same_products_as_sqlite(
    open_registry: Any, postgres_url: str, tmp_path: Any
) -> None:
    on_postgres = open_registry(tmp_path / "pg", database=postgres_url)
    on_sqlite = open_registry(tmp_path / "lite")
    for registry in (on_postgres, on_sqlite):
        run_script(registry)
    assert event_log(on_postgres.events()) == event_log(on_sqlite.events()) == EXPECTED_EVENTS
    for key in EXPECTED_PRODUCTS:
        assert on_postgres.product(on_postgres.product_of(*key.split("/"))) == on_sqlite.product(
            on_sqlite.product_of(*key.split("/"))
        )
    assert not (tmp_path / "pg" / "registry.sqlite3").exists()


def test_two_processes_share_one_database(
    open_registry: Any, postgres_url: str, tmp_path: Any
) -> None:
    """A second server process's index catches up with writes the first one made."""
    first = open_registry(tmp_path / "one", database=postgres_url)
    second = open_registry(tmp_path / "two", database=postgres_url)
    first.upsert([item("amazon", "a1", "canon powershot sd990 camera silver")])
    joined = second.upsert([item("ebay", "e1", "canon powershot sd990 silver camera")])
    assert joined[0]["product"] == 1
    first.delete("amazon", "a1")
    found = second.match([item("x", "q", "canon powershot sd990")], k=5)[0]
    assert [(c["platform"], c["id"]) for c in found] == [("ebay", "e1")]
    assert len(first.index) == len(second.index) == 1


def test_a_bad_url_is_one_clear_error(open_registry: Any, tmp_path: Any) -> None:
    from prodmatch.errors import ProdmatchError

    with pytest.raises(ProdmatchError, match="postgresql:// URL"):
        open_registry(tmp_path / "x", database="mysql://somewhere/db")
