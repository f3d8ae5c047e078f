from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from prodmatch.data import load_catalog
from prodmatch.linker import Linker
from prodmatch.review.active import QueueOptions
from prodmatch.review.app import create_app
from prodmatch.review.session import ReviewSession
from prodmatch.settings import MatchSettings

Server = Callable[..., tuple[subprocess.Popen[bytes], str]]


TRUE = {("a1", "b3"), ("a2", "b2"), ("a3", "b2"), ("a4", "b1"), ("a5", "b5")}


def _session(
    files: tuple[Path, Path], model: Path, labels: Path, **options: object
) -> ReviewSession:
    linker = Linker(MatchSettings(model=str(model), k=3), progress=False)
    left, right = (load_catalog(f) for f in files)
    return ReviewSession(linker, left, right, labels, QueueOptions(**options))  # type: ignore[arg-type]


def _pair(view: dict) -> tuple[str, str]:
    return view["pair"]["left_id"], view["pair"]["right_id"]


def test_labels_undo_and_reopen_continue_where_it_stopped(
    catalog_files: tuple[Path, Path], tiny_model: Path, tmp_path: Path
) -> None:
    labels = tmp_path / "labels.csv"
    client = TestClient(create_app(_session(catalog_files, tiny_model, labels)))
    assert "prodmatch review" in client.get("/").text
    first = client.get("/api/view").json()
    p1 = _pair(first)
    assert first["position"] == 0 and first["pair"]["label"] is None
    assert (
        client.post("/api/label", json={"left_id": p1[0], "right_id": p1[1], "label": "y"}).json()[
            "labelled"
        ]
        == 1
    )
    p2 = _pair(client.get("/api/view").json())
    assert p2 != p1
    state = client.post(
        "/api/label", json={"left_id": p2[0], "right_id": p2[1], "label": "n"}
    ).json()
    assert state["counts"] == {"y": 1, "n": 1, "u": 0}
    assert labels.read_text().splitlines() == [
        "ltable_id,rtable_id,label",
        f"{p1[0]},{p1[1]},1",
        f"{p2[0]},{p2[1]},0",
    ]
    back = client.get("/api/view", params={"position": 0}).json()
    assert _pair(back) == p1 and back["pair"]["label"] == "y"
    # the pair shown next, then undo the last label: the file and the next pair follow
    p3 = _pair(client.get("/api/view").json())
    assert client.post("/api/undo").json()["labelled"] == 1
    assert labels.read_text().splitlines()[1:] == [f"{p1[0]},{p1[1]},1"]
    assert _pair(client.get("/api/view").json()) == p2
    bad = client.post("/api/label", json={"left_id": "a1", "right_id": "b1", "label": "maybe"})
    assert bad.status_code == 400
    # a new session on the same file shows the same next pair, then the one after it
    again = TestClient(create_app(_session(catalog_files, tiny_model, labels)))
    view = again.get("/api/view").json()
    assert view["state"]["labelled"] == 1 and _pair(view) == p2
    again.post("/api/label", json={"left_id": p2[0], "right_id": p2[1], "label": "n"})
    assert _pair(again.get("/api/view").json()) == p3


def test_the_page_explains_the_score_it_shows(
    catalog_files: tuple[Path, Path], tiny_model: Path, tmp_path: Path
) -> None:
    client = TestClient(create_app(_session(catalog_files, tiny_model, tmp_path / "l.csv")))
    pair = client.get("/api/view").json()["pair"]
    explained = client.get(
        "/api/explain", params={"left_id": pair["left_id"], "right_id": pair["right_id"]}
    ).json()
    assert explained["score"] == pytest.approx(pair["score"], abs=1e-9)
    parts = sum(p["contribution"] for p in explained["signals"]["parts"])
    assert parts == pytest.approx(pair["score"], abs=1e-9)
    assert {t["side"] for t in explained["tokens"]} == {"left", "right"}


def test_the_queue_is_reranked_by_a_head_retrained_every_n_labels(
    catalog_files: tuple[Path, Path], tiny_model: Path, tmp_path: Path
) -> None:
    session = _session(
        catalog_files, tiny_model, tmp_path / "l.csv", retrain_every=6, random_share=0
    )
    before = session.rank_scores.copy()
    for _ in range(6):
        view = session.view()
        key = _pair(view)
        session.label(*key, "y" if key in TRUE else "n")
    deadline = time.monotonic() + 60
    while session.state()["training"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session.state()["retrained_at"] == 6
    assert not np.allclose(session.rank_scores, before)  # ranked by the new head


def test_a_killed_server_loses_no_acknowledged_label(review_server: Server, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    process, url = review_server(labels)
    given = []
    for value in ("y", "n", "u", "n"):
        pair = _pair(httpx.get(url + "/api/view").json())
        reply = httpx.post(
            url + "/api/label", json={"left_id": pair[0], "right_id": pair[1], "label": value}
        )
        assert reply.status_code == 200
        given.append((pair, value))
    process.kill()  # no shutdown, no flush: what was acknowledged must already be on disk
    process.wait()
    lines = labels.read_text().splitlines()[1:]
    known = [f"{p[0]},{p[1]},{1 if v == 'y' else 0}" for p, v in given if v != "u"]
    assert lines == known
    unsure = (tmp_path / "labels.unsure.csv").read_text().splitlines()[1:]
    assert unsure == [f"{given[2][0][0]},{given[2][0][1]},"]
    _, url = review_server(labels)
    view = httpx.get(url + "/api/view").json()
    assert view["state"]["labelled"] == 4
    assert _pair(view) not in {p for p, _ in given}


def test_the_page_shows_the_threshold_match_decides_with(tmp_path: Path) -> None:
    from prodmatch.data import catalog_from_frame
    from prodmatch.synth import generate_catalogs

    world = generate_catalogs(200, seed=4)
    left, right = (
        catalog_from_frame(f[["id", "title", "brand"]]) for f in (world.left, world.right)
    )
    linker = Linker(MatchSettings(scorer="tfidf", retrieval="sparse", k=5), progress=False)
    cut = linker.cut(linker.candidates(*linker.prepare(left, right)), left_rows=len(left))
    assert cut.source == "calibrated" and abs(cut.threshold - 0.37) > 1e-3  # not the fixed one
    session = ReviewSession(linker, left, right, tmp_path / "labels.csv", retrain=False)
    assert session.threshold == pytest.approx(cut.threshold)
    view = TestClient(create_app(session)).get("/api/view").json()
    assert view["state"]["threshold"] == pytest.approx(cut.threshold)
    pair = view["pair"]
    explained = session.explainer.explain(pair["left_id"], pair["right_id"], tokens=False)
    assert explained.threshold == pytest.approx(cut.threshold)
