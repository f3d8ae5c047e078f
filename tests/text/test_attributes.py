"""Attributes an embedding blurs, read from hand-made listings and compared per pair."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from prodmatch.data import catalog_from_frame
from prodmatch.data.catalog import Catalog
from prodmatch.linker import Linker, Side
from prodmatch.settings import MatchSettings
from prodmatch.text import normalize_text
from prodmatch.text.attributes import (
    ATTRIBUTE_COLUMNS,
    Attributes,
    attribute_signals,
    brand_agreement,
    brand_of,
    editions_of,
    listing_attributes,
    platforms_of,
    price_ratio,
    quantities_of,
    set_agreement,
    tagged_attributes,
    unit_agreement,
    years_of,
)
from prodmatch.text.price import ExchangeRates

COLUMNS = ["title", "manufacturer", "price"]


def _listing(title: str, brand: str = "", price: str = "") -> Attributes:
    return listing_attributes({"title": title, "manufacturer": brand, "price": price}, COLUMNS)


def test_quantities_are_compared_by_kind_in_one_unit() -> None:
    drive = quantities_of(normalize_text("Seagate 500 GB 7200 RPM"))
    assert drive == {"bytes": frozenset({500.0}), "rpm": frozenset({7200.0})}
    big = quantities_of(normalize_text("Seagate 1TB 7200rpm"))
    assert unit_agreement(drive, big) == 0.0  # rpm meets, bytes does not
    assert unit_agreement(big, quantities_of(normalize_text("1000GB 7200 rpm"))) == 1.0
    screen = quantities_of(normalize_text('15.6" laptop'))
    assert screen == {"length": frozenset({15.6 * 25.4})}
    assert unit_agreement(screen, quantities_of("396mm")) == 1.0  # within 2%
    assert unit_agreement(screen, quantities_of(normalize_text("17.3 inch"))) == -1.0
    assert unit_agreement(screen, drive) == 0.0  # no kind in common: no evidence


def test_years_editions_and_platforms_are_words_standing_alone() -> None:
    assert years_of("office 2007 home 12007") == frozenset({"2007"})
    assert editions_of("ipod nano 8gb") == frozenset({"nano"})
    assert editions_of("adobe photoshop elements") == frozenset()
    assert platforms_of("office 2008 for mac") == frozenset({"mac"})
    assert platforms_of("win xp / windows vista pc") == frozenset({"windows"})
    assert platforms_of("xbox360 halo") == frozenset({"xbox"})


def test_set_agreement_signs() -> None:
    mac, win = frozenset({"mac"}), frozenset({"windows"})
    assert set_agreement(mac, mac | win) == 1
    assert set_agreement(mac, win) == -1
    assert set_agreement(mac, frozenset()) == 0  # one side does not say
    nano = frozenset({"nano"})
    assert set_agreement(nano, frozenset(), exact=True) == -1  # ipod nano against ipod
    assert set_agreement(nano, nano | {"pro"}, exact=True) == -1
    assert set_agreement(frozenset(), frozenset(), exact=True) == 0


def test_brand_is_the_brand_column_else_the_title_first_word() -> None:
    assert brand_of("Sony Corp.", "bravia tv") == "sony"
    assert brand_of("", normalize_text("Microsoft Office 2007")) == "microsoft"
    assert brand_of("", "") is None
    assert brand_agreement("sony", "sony") == 1 and brand_agreement("sony", "lg") == -1
    assert brand_agreement(None, "lg") == 0


def test_price_ratio_is_currency_aware_with_a_missing_flag() -> None:
    assert price_ratio(_listing("a", price="$50"), _listing("b", price="$100.00")) == (0.5, 0)
    assert price_ratio(_listing("a", price="$80"), _listing("b")) == (0.5, 1)
    # two currencies with no table to join them: not comparable
    assert price_ratio(_listing("a", price="$80"), _listing("b", price="80 €"))[1] == 1
    rates = ExchangeRates({"USD": 1.0, "EUR": 1.25})
    euro = listing_attributes({"title": "b", "price": "80 €"}, COLUMNS, rates)
    dollar = listing_attributes({"title": "a", "price": "$100"}, COLUMNS, rates)
    assert price_ratio(dollar, euro) == (1.0, 0)


def test_attribute_signals_of_pairs() -> None:
    left = [
        _listing("Microsoft Office 2008 for Mac", price="$400"),
        _listing("Seagate 500GB drive", "Seagate"),
    ]
    right = [
        _listing("Microsoft Office 2007 Professional Windows", price="$200"),
        _listing("Seagate 500 GB hard drive"),
    ]
    got = attribute_signals(left, right, np.array([0, 1]), np.array([0, 1]))
    assert set(got) == set(ATTRIBUTE_COLUMNS)
    assert got["price_ratio"].tolist() == [0.5, 0.5] and got["price_missing"].tolist() == [0, 1]
    assert got["brand_agreement"].tolist() == [1, 1]
    assert got["year_agreement"].tolist() == [-1, 0]
    assert got["platform_agreement"].tolist() == [-1, 0]
    assert got["edition_agreement"].tolist() == [-1, 0]
    assert got["unit_agreement"].tolist() == [0, 1]


def test_the_linker_adds_them_only_when_asked(tiny_model: object) -> None:
    frame = pd.DataFrame(
        {"id": ["1"], "title": ["Office 2008 for Mac"], "manufacturer": [""], "price": ["$5"]}
    )
    catalog = catalog_from_frame(frame)
    linker = Linker(MatchSettings(model=str(tiny_model), scorer="tfidf"), progress=False)
    side = linker.side(catalog)
    assert "year_agreement" not in linker.features(side, side, [0], [0])
    both = linker.features(side, side, [0], [0], attributes=True)
    assert both.loc[0, "year_agreement"] == 1 and both.loc[0, "price_ratio"] == 1.0
    assert both.loc[0, "price_missing"] == 0


def test_tagged_texts_are_read_by_their_tags(tiny_model: object) -> None:
    got = tagged_attributes("[title] office 2008 for mac [manufacturer] microsoft [price] 49.99")
    assert got.years == frozenset({"2008"}) and got.platforms == frozenset({"mac"})
    assert (got.brand, got.price, got.currency) == ("microsoft", 49.99, None)
    # a side kept only as tagged texts (the registry's) reads them so
    frame = pd.DataFrame({"id": ["1"], "title": ["Office 2008 for Mac"], "price": ["$5"]})
    linker = Linker(MatchSettings(model=str(tiny_model), scorer="tfidf"), progress=False)
    full = linker.side(catalog_from_frame(frame))
    kept = Catalog("kept", pd.DataFrame(index=pd.Index(["1"], name="id")))
    bare = Side.of_texts(kept, full.texts, full.plain)
    (tagged,), (read,) = linker.attributes(bare), linker.attributes(full)
    assert read.currency == "USD" and tagged == replace(read, currency=None)  # tags drop it


@pytest.mark.parametrize("title", ["", "no units here"])
def test_a_listing_with_nothing_to_say_gives_no_evidence(title: str) -> None:
    empty = _listing(title)
    got = attribute_signals([empty], [empty], np.array([0]), np.array([0]))
    assert got["unit_agreement"][0] == 0 and got["year_agreement"][0] == 0
    assert got["price_missing"][0] == 1
