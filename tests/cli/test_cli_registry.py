"""`prodmatch registry load` and `registry key add`, with the tiny model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from prodmatch.cli import app

runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_load_fills_a_registry_and_resumes(tiny_model: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "amazon.csv"
    catalog.write_text(
        "id,title,image\n"
        "a1,canon powershot sd990 camera,https://img.example/a1.jpg\n"
        "a2,sony bravia kdl40 tv,\n"
        "a3,canon powershot sd990 digital camera,\n",
        encoding="utf-8",
    )
    folder = tmp_path / "registry"
    args = ("registry", "load", folder, catalog, "--platform", "amazon", "--photo-col", "image")
    code, output = _run(*args, "--model", tiny_model, "--chunk-rows", "2")
    assert code == 0, output
    assert "3 created" in output
    assert "loading amazon.csv: 3/3 (100%)" in output and "listings/s" in output  # rate, eta
    code, output = _run(*args)  # again: the registry keeps its settings, nothing is re-encoded
    assert code == 0, output
    assert "3 unchanged" in output

    from prodmatch.registry import Registry

    with Registry(folder) as registry:
        assert registry.get("amazon", "a1").photo == "https://img.example/a1.jpg"
        assert registry.get("amazon", "a1").attributes == {"title": "canon powershot sd990 camera"}
        assert registry.product_of("amazon", "a3") == registry.product_of("amazon", "a1")
        assert registry.product_of("amazon", "a2") != registry.product_of("amazon", "a1")
    code, output = _run(*args, "--model", tiny_model)
    assert code == 2 and "already has its settings" in output


def test_key_add_prints_a_key_once(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    catalog = tmp_path / "c.csv"
    catalog.write_text("id,title\n1,x\n", encoding="utf-8")
    assert (
        _run("registry", "load", folder, catalog, "--platform", "p", "--model", tiny_model)[0] == 0
    )
    code, output = _run("registry", "key", "add", folder, "--scope", "write")
    assert code == 0, output
    token = output.strip()
    assert token.startswith("pm_") and len(token) > 40
    assert token not in (folder / "registry.sqlite3").read_bytes().decode("latin-1")
    code, output = _run("registry", "key", "add", folder, "--scope", "admin")
    assert code == 2 and "scope must be one of read, write" in output


def test_labels_export_as_the_pairs_train_reads(tiny_model: Path, tmp_path: Path) -> None:
    """`registry labels --left P --right Q` writes what `train --left P.csv --right Q.csv
    --train` reads, oriented P to Q even where Q sorts first; labels of other platforms stay
    out."""
    from prodmatch.cli import _training_data
    from prodmatch.registry import Registry

    rows = {
        "walmart": "id,title\nw1,canon sd990 silver\nw2,nikon p100 black\n",
        "amazon": "id,title\na1,canon powershot sd990\na2,nikon coolpix p100\n",
        "ebay": "id,title\ne1,canon sd990 camera\n",
    }
    folder = tmp_path / "registry"
    for platform, text in rows.items():
        catalog = tmp_path / f"{platform}.csv"
        catalog.write_text(text, encoding="utf-8")
        model = ("--model", tiny_model) if platform == "walmart" else ()
        code, output = _run("registry", "load", folder, catalog, "--platform", platform, *model)
        assert code == 0, output
    with Registry(folder) as registry:
        registry.label(("walmart", "w1"), ("amazon", "a1"), True)
        registry.label(("amazon", "a2"), ("walmart", "w1"), False)
        registry.label(("ebay", "e1"), ("amazon", "a1"), True)  # not between the two
    out = tmp_path / "labels.csv"
    code, output = _run(
        "registry", "labels", folder, "--left", "walmart", "--right", "amazon", "-o", out
    )
    assert code == 0 and "2 labelled pairs" in output, output
    _, _, train, _ = _training_data(
        None, tmp_path / "walmart.csv", tmp_path / "amazon.csv", out, None, None, "id"
    )
    assert sorted(map(tuple, train.to_numpy().tolist())) == [("w1", "a1", 1), ("w1", "a2", 0)]
    code, output = _run("registry", "labels", folder, "--left", "walmart", "-o", out)
    assert code == 2 and "give both platforms" in output


def test_load_and_serve_load_the_model_then_settle_the_collector_before_work(
    tiny_model: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    import uvicorn

    import prodmatch.registry
    from prodmatch.registry import Registry

    folder = tmp_path / "registry"
    catalog = tmp_path / "shop.csv"
    catalog.write_text("id,title\ns1,canon powershot sd990 camera\n", encoding="utf-8")
    order: list[str] = []
    warm, upsert_many = Registry.warm, Registry.upsert_many
    monkeypatch.setattr(Registry, "warm", lambda self: (order.append("warm"), warm(self)))
    monkeypatch.setattr(
        Registry, "upsert_many", lambda self, b: (order.append("load"), upsert_many(self, b))[1]
    )
    monkeypatch.setattr(
        prodmatch.registry, "settle_garbage_collector", lambda: order.append("settle")
    )
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: order.append("listen"))
    code, output = _run(
        "registry", "load", folder, catalog, "--platform", "shop", "--model", tiny_model
    )
    assert code == 0, output
    assert order == ["warm", "settle", "load"]
    code, output = _run("serve", "--registry", folder, "--no-auth")
    assert code == 0, output
    assert order[3:] == ["warm", "settle", "listen"]
