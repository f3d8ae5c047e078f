"""The registry over HTTP (FastAPI's TestClient): routes, keys, limits and bad payloads."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient
from registry_fakes import EXPECTED_EVENTS, EXPECTED_PRODUCTS, event_log

from prodmatch.registry import Event
from prodmatch.registry.app import create_app
from prodmatch.registry.auth import add_key

CANON = {"platform": "amazon", "id": "a1", "attributes": {"title": "canon powershot sd990"}}


@pytest.fixture
def served(open_registry: Any) -> Any:
    """A client, a write key and a read key over a fresh registry."""
    registry = open_registry()
    write, read = add_key(registry, "write"), add_key(registry, "read")
    client = TestClient(create_app(registry, max_batch=3, max_body=20_000))
    return client, {"X-API-Key": write}, {"Authorization": f"Bearer {read}"}


def test_scripted_sequence_over_http(served: Any) -> None:
    from registry_fakes import SCRIPT

    client, write, read = served
    for action, argument in SCRIPT:
        if action == "upsert":
            body = {
                "listings": [
                    {"platform": i.platform, "id": i.id, "attributes": i.attributes}
                    for i in argument
                ]
            }
            response = client.put("/listings", json=body, headers=write)
        elif action == "label":
            a, b, same = argument
            body = {
                "a": dict(zip(("platform", "id"), a, strict=True)),
                "b": dict(zip(("platform", "id"), b, strict=True)),
                "same": same,
            }
            response = client.post("/labels", json=body, headers=write)
        else:
            response = client.delete(f"/listings/{argument[0]}/{argument[1]}", headers=write)
        assert response.status_code == 200, response.text
    feed = client.get("/events", params={"after": 0}, headers=read).json()
    events = [Event(**{k: v for k, v in e.items()}) for e in feed["events"]]
    assert event_log(events) == EXPECTED_EVENTS
    assert feed["cursor"] == events[-1].seq
    assert (
        client.get("/events", params={"after": feed["cursor"]}, headers=read).json()["events"] == []
    )
    for key, product in EXPECTED_PRODUCTS.items():
        answer = client.get(f"/listings/{key}/product", headers=read).json()
        assert answer["id"] == product
    merged = client.get("/products/2", headers=read).json()
    assert (merged["alive"], merged["merged_into"], merged["listings"]) == (False, 1, [])


def test_similar_finds_the_same_product_on_another_platform(served: Any) -> None:
    client, write, read = served
    listings = [
        CANON,
        {"platform": "ebay", "id": "e1", "attributes": {"title": "canon powershot sd990 silver"}},
        {"platform": "ebay", "id": "e2", "attributes": {"title": "sony bravia kdl40 tv"}},
    ]
    assert client.put("/listings", json={"listings": listings}, headers=write).status_code == 200
    found = client.get(
        "/listings/amazon/a1/similar", params={"platform": "ebay", "k": 2}, headers=read
    )
    assert [(c["id"], c["same_product"]) for c in found.json()["similar"]] == [
        ("e1", True),
        ("e2", False),
    ]
    match = client.post("/match", json={"listings": [CANON | {"id": "new"}], "k": 1}, headers=read)
    best = match.json()["matches"][0][0]
    assert (best["id"], best["match"]) == ("a1", True)
    assert set(best["signals"]) >= {"dense", "sparse", "code_agreement"}
    assert client.get("/products/999", headers=read).status_code == 404


ROUTES = [
    ("put", "/listings", {"listings": [CANON]}, "write"),
    ("get", "/listings/amazon/a1", None, "read"),
    ("delete", "/listings/amazon/a1", None, "write"),
    ("get", "/listings/amazon/a1/product", None, "read"),
    ("get", "/listings/amazon/a1/similar", None, "read"),
    ("get", "/products/1", None, "read"),
    ("get", "/events", None, "read"),
    (
        "post",
        "/labels",
        {"a": {"platform": "a", "id": "1"}, "b": {"platform": "b", "id": "2"}, "same": True},
        "write",
    ),
    ("get", "/labels/export", None, "read"),
    ("post", "/match", {"listings": [CANON]}, "read"),
    ("get", "/metrics", None, "read"),
]


@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES)
def test_every_route_needs_a_key_of_its_scope(
    served: Any, method: str, path: str, body: Any, scope: str
) -> None:
    client, _, read = served
    kwargs = {"json": body} if body is not None else {}
    assert getattr(client, method)(path, **kwargs).status_code == 401
    bad = {"X-API-Key": "pm_not-a-key"}
    assert getattr(client, method)(path, headers=bad, **kwargs).status_code == 401
    status = getattr(client, method)(path, headers=read, **kwargs).status_code
    assert status == 403 if scope == "write" else status in (200, 404)


def test_health_needs_no_key_and_metrics_count_requests(served: Any) -> None:
    client, write, read = served
    client.put("/listings", json={"listings": [CANON]}, headers=write)
    assert client.get("/health").json() == {
        "status": "ready",
        "listings": 1,
        "products": 1,
        "indexed": 1,
    }
    text = client.get("/metrics", headers=read).text
    assert 'prodmatch_requests_total{method="PUT",route="/listings",status="200"} 1' in text
    assert "prodmatch_listings 1" in text
    assert 'prodmatch_request_seconds_bucket{method="PUT",route="/listings",le="+Inf"} 1' in text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"listings": [CANON | {"platform": "a/b"}]}, "platform"),
        ({"listings": [CANON | {"attributes": {}}]}, "attributes"),
        ({"listings": [CANON | {"photo": "/etc/passwd"}]}, "photo"),
        ({"listings": [CANON | {"photo": "file:///etc/passwd"}]}, "photo"),
        ({"listings": [CANON | {"extra": 1}]}, "extra"),
        ({"listings": [{k: v for k, v in CANON.items() if k != "id"}]}, "id"),
        ({"listings": []}, "listings"),
        ({"items": []}, "listings"),
    ],
)
def test_bad_payloads_are_422_naming_the_field(served: Any, body: Any, field: str) -> None:
    client, write, _ = served
    response = client.put("/listings", json=body, headers=write)
    assert response.status_code == 422
    assert field in [str(part) for error in response.json()["detail"] for part in error["loc"]]


def test_limits_are_413(served: Any) -> None:
    client, write, _ = served
    many = [CANON | {"id": str(n)} for n in range(4)]
    assert client.put("/listings", json={"listings": many}, headers=write).status_code == 413
    huge = CANON | {"attributes": {f"f{n}": "x" * 9000 for n in range(3)}}
    response = client.put("/listings", json={"listings": [huge]}, headers=write)
    assert response.status_code == 413
    assert "over 20000 bytes" in response.json()["detail"]


def test_duplicates_in_a_batch_and_unknown_listings_are_clear(served: Any) -> None:
    client, write, read = served
    twice = client.put("/listings", json={"listings": [CANON, CANON]}, headers=write)
    assert twice.status_code == 422 and "twice" in twice.json()["detail"]
    missing = client.get("/listings/amazon/nope", headers=read)
    assert missing.status_code == 404 and "no listing 'nope'" in missing.json()["detail"]
    label = {"a": {"platform": "x", "id": "1"}, "b": {"platform": "y", "id": "2"}, "same": False}
    assert client.post("/labels", json=label, headers=write).status_code == 404


def test_labels_export_is_csv(served: Any) -> None:
    client, write, read = served
    other = CANON | {"platform": "ebay", "id": "e1"}
    client.put("/listings", json={"listings": [CANON, other]}, headers=write)
    label = {
        "a": {"platform": "ebay", "id": "e1"},
        "b": {"platform": "amazon", "id": "a1"},
        "same": False,
    }
    answer = client.post("/labels", json=label, headers=write).json()
    assert answer["a"] != answer["b"]  # split at once
    exported = client.get("/labels/export", headers=read)
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[1] == "a1,e1,0,amazon,ebay"


def test_request_log_lines_are_json(served: Any) -> None:
    import json
    import logging

    from prodmatch.registry.app import JsonLines

    client, _, read = served
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("prodmatch.registry")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client.get("/events", headers=read)
    finally:
        logger.removeHandler(handler)
    line = json.loads(JsonLines().format(records[-1]))
    assert (line["method"], line["path"], line["status"]) == ("GET", "/events", 200)
