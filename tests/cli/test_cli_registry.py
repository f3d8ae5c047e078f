"""`prodmatch registry load` and `registry key add`, with the tiny model."""

from __future__ import annotations

from pathlib import Path

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
