"""The review page inside the registry's app (`/review/`): the registry's pairs, its keys, and
labels that act as `POST /labels` does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient
from registry_fakes import SCRIPT, item

from prodmatch.registry.app import create_app
from prodmatch.registry.auth import add_key
from prodmatch.registry.review import RegistryReview, parse_id
from prodmatch.review.active import QueueOptions

# a1 and e2 end up in product 1, e1 and w1 in product 2 (see registry_fakes.EXPECTED_EVENTS)
FIRST_UPSERTS = [argument for action, argument in SCRIPT[:4]]


@pytest.fixture
def filled(open_registry: Any) -> Any:
    registry = open_registry()
    for batch in FIRST_UPSERTS:
        registry.upsert(batch)
    return registry


@pytest.fixture
def page(filled: Any) -> Any:
    """A client of the registry's app, and headers with a write key and a read key."""
    write, read = add_key(filled, "write"), add_key(filled, "read")
    client = TestClient(create_app(filled))
    return client, {"X-API-Key": write}, {"X-API-Key": read}


def _label(client: Any, headers: dict[str, str], left: str, right: str, value: str) -> Any:
    body = {"left_id": left, "right_id": right, "label": value}
    return client.post("/review/api/label", json=body, headers=headers)


def test_a_not_same_on_the_page_splits_the_product_with_an_event(filled: Any, page: Any) -> None:
    client, write, read = page
    assert "prodmatch review" in client.get("/review/").text
    assert filled.product_of("amazon", "a1") == filled.product_of("ebay", "e2") == 1
    before = filled.events()[-1].seq
    reply = _label(client, write, "amazon/a1", "ebay/e2", "n")
    assert reply.status_code == 200, reply.text
    assert reply.json()["counts"] == {"y": 0, "n": 1, "u": 0}
    assert filled.labels() == [(("amazon", "a1"), ("ebay", "e2"), False)]
    events = filled.events(after=before)
    assert [(e.kind, e.product, e.other) for e in events] == [("split", 3, 1)]
    assert events[0].reason["label"] == "not same"
    assert filled.product_of("ebay", "e2") == 3 != filled.product_of("amazon", "a1")
    # the page walks the registry's labels: position 0 is this pair, shown with its label
    back = client.get("/review/api/view", params={"position": 0}, headers=read).json()
    assert (back["pair"]["left_id"], back["pair"]["right_id"]) == ("amazon/a1", "ebay/e2")
    assert back["pair"]["label"] == "n"
    assert back["pair"]["rows"][0]["attribute"] == "product"
    # a "same" merges, with its event; both labels export as training pairs
    assert _label(client, write, "ebay/e1", "amazon/a1", "y").status_code == 200
    assert [e.kind for e in filled.events(after=events[-1].seq)] == ["merge"]
    exported = client.get("/labels/export", headers=read).text.splitlines()
    assert exported[1:] == ["a1,e1,1,amazon,ebay", "a1,e2,0,amazon,ebay"]
    oriented = client.get(
        "/labels/export", params={"left": "ebay", "right": "amazon"}, headers=read
    )
    assert oriented.text.splitlines()[1:] == ["e1,a1,1,ebay,amazon", "e2,a1,0,ebay,amazon"]


def test_the_page_needs_a_read_key_to_look_and_a_write_key_to_label(page: Any) -> None:
    client, write, read = page
    assert client.get("/review/").status_code == 200  # the page itself holds no data
    for path in ("/review/api/view", "/review/api/state"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-API-Key": "pm_wrong"}).status_code == 401
        assert client.get(path, headers=read).status_code == 200
    explain = {"left_id": "amazon/a1", "right_id": "ebay/e2"}
    assert client.get("/review/api/explain", params=explain).status_code == 401
    assert _label(client, {}, "amazon/a1", "ebay/e2", "n").status_code == 401
    assert _label(client, read, "amazon/a1", "ebay/e2", "n").status_code == 403
    assert client.post("/review/api/undo", headers=read).status_code == 403
    assert _label(client, write, "amazon/a1", "nowhere", "n").status_code == 400
    unknown = _label(client, write, "amazon/a1", "ebay/zz", "n")
    assert unknown.status_code == 400 and "no listing 'zz'" in unknown.json()["detail"]
    # the page's own routes stay out of the service's documented API
    assert not [p for p in client.get("/openapi.json").json()["paths"] if "review" in p]


def test_the_next_pair_is_the_least_certain_and_the_pool_follows_new_listings(
    filled: Any,
) -> None:
    review = RegistryReview(filled, QueueOptions(random_share=0), rebuild_s=0)
    first = review.view()
    pool = review.pool
    nearest = int(np.argmin(np.abs(pool["score"].to_numpy() - review.threshold)))
    assert (first["pair"]["left_id"], first["pair"]["right_id"]) == (
        pool["left_id"][nearest],
        pool["right_id"][nearest],
    )
    keys = list(zip(pool["left_id"], pool["right_id"], strict=True))
    assert all(parse_id(left) < parse_id(right) for left, right in keys)  # as labels are kept
    size = len(pool)
    waiting = RegistryReview(filled, rebuild_s=3600)  # rebuilds at most once an hour
    assert waiting.state()["candidates"] == size
    filled.upsert([item("amazon", "a9", "canon powershot sd990 silver camera")])
    assert waiting.state()["candidates"] == size
    assert review.state()["candidates"] > size
    now = zip(review.pool["left_id"], review.pool["right_id"], strict=True)
    assert any("amazon/a9" in pair for pair in now)


def test_unsure_and_undo(filled: Any) -> None:
    review = RegistryReview(filled, QueueOptions(random_share=0))
    review.label("amazon/a1", "ebay/e2", "n")
    products = {key: filled.product_of(*key) for key in (("amazon", "a1"), ("ebay", "e2"))}
    review.label("ebay/e1", "walmart/w1", "u")
    assert review.state()["counts"] == {"y": 0, "n": 1, "u": 1}
    assert [x.key for x in review.store.labels][-1] == ("ebay/e1", "walmart/w1")
    assert filled.labels() == [(("amazon", "a1"), ("ebay", "e2"), False)]  # unsure: not stored
    review.undo()  # the unsure one
    review.undo()  # the "not same": forgotten, the products stay as it left them
    assert filled.labels() == [] and review.state()["labelled"] == 0
    assert {key: filled.product_of(*key) for key in products} == products
