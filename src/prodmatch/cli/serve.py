"""`prodmatch serve` and `prodmatch registry`: a live product registry, over HTTP or filled
from files, with its API keys."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prodmatch.cli.app import _settings, app, console, friendly_errors
from prodmatch.cli.options import Columns, EngineOpt, IdCol, Model, Sep
from prodmatch.errors import ProdmatchError

if TYPE_CHECKING:
    from prodmatch.registry import Registry

registry_app = typer.Typer(
    help="Fill a product registry and manage its API keys.", no_args_is_help=True
)
key_app = typer.Typer(help="API keys of a registry.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
registry_app.add_typer(key_app, name="key")

Database = Annotated[
    str | None,
    typer.Option(help="A postgresql:// URL; default: SQLite in the registry folder."),
]


def _open(
    folder: Path,
    model: str | None,
    engine: str | None,
    columns: str | None,
    database: str | None,
    photos: str = "off",
) -> Registry:
    """The registry in `folder`: its saved settings, or new ones from the options."""
    from prodmatch.registry import Registry
    from prodmatch.registry.registry import SETTINGS_FILE

    saved = folder / SETTINGS_FILE
    if saved.exists() and (model or engine or columns):
        raise ProdmatchError(
            f"{folder} already has its settings ({saved}); a registry keeps one model"
        )
    settings = None if saved.exists() else _settings(None, model, None, columns, engine=engine)
    return Registry(folder, settings, database=database, photos=photos)


@app.command()
@friendly_errors
def serve(
    registry: Annotated[Path, typer.Option(help="The registry folder (made if missing).")],
    model: Model = None,
    engine: EngineOpt = None,
    columns: Columns = None,
    database: Database = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_batch: Annotated[int, typer.Option(help="Most listings in one request.")] = 1000,
    photos: Annotated[
        str,
        typer.Option(
            help="off: photo URLs are stored, never fetched; fetch: downloaded into the "
            "registry folder (size cap, timeout) and checked, failures reported per listing."
        ),
    ] = "off",
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without API keys (trusted networks only).")
    ] = False,
) -> None:
    """Serve a product registry over HTTP (OpenAPI docs at /docs)."""
    try:
        import uvicorn

        from prodmatch.registry.app import create_app, structured_logs
    except ImportError:
        raise ProdmatchError("serving needs FastAPI: pip install 'prodmatch[serve]'") from None
    from prodmatch.registry import settle_garbage_collector

    opened = _open(registry, model, engine, columns, database, photos)
    opened.warm()  # ready means a first request need not load the model
    settle_garbage_collector()
    structured_logs()
    if not no_auth and opened.store.count_keys() == 0:
        console.print(
            "[yellow]warning:[/] no API keys yet: every request gets 401 until one is made "
            f"with `prodmatch registry key add {registry} --scope write`"
        )
    web = create_app(opened, auth_required=not no_auth, max_batch=max_batch, close_on_shutdown=True)
    try:
        uvicorn.run(web, host=host, port=port, log_level="info", timeout_graceful_shutdown=30)
    finally:
        opened.close()  # in-flight writes have finished: uvicorn waited for them


@registry_app.command("load")
@friendly_errors
def load(
    folder: Path,
    catalog: Path,
    platform: Annotated[str, typer.Option(help="The platform these listings are on.")],
    sep: Sep = None,
    id_col: IdCol = "id",
    photo_col: Annotated[str | None, typer.Option(help="Column of photo URLs, if any.")] = None,
    model: Model = None,
    engine: EngineOpt = None,
    columns: Columns = None,
    database: Database = None,
    chunk_rows: Annotated[int, typer.Option(help="Listings stored per transaction.")] = 500,
) -> None:
    """Fill a registry from a catalog file, chunk by chunk; run again to resume (listings
    already stored with the same text are skipped without encoding)."""
    from prodmatch.data.chunks import estimate_rows, read_catalog_chunks
    from prodmatch.progress import progress_bar
    from prodmatch.registry import NewListing, settle_garbage_collector

    opened = _open(folder, model, engine, columns, database)
    counts: dict[str, int] = {}
    try:
        opened.warm()  # the model loaded before the collector is settled
        settle_garbage_collector()
        batches = (
            [
                NewListing(
                    platform,
                    str(listing_id),
                    {str(k): str(v) for k, v in row.items() if k != photo_col},
                    (str(row[photo_col]) or None) if photo_col else None,
                )
                for listing_id, row in chunk.records.to_dict("index").items()
            ]
            for chunk in read_catalog_chunks(catalog, rows=chunk_rows, sep=sep, id_col=id_col)
        )
        total = estimate_rows(catalog)
        with progress_bar(f"loading {catalog.name}", total, unit="listings") as advance:
            for results in opened.upsert_many(batches):
                for result in results:
                    counts[result["status"]] = counts.get(result["status"], 0) + 1
                advance(len(results))
    finally:
        opened.close()
    shown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    console.print(f"{catalog}: {shown}", highlight=False, soft_wrap=True)


@registry_app.command("labels")
@friendly_errors
def labels(
    folder: Path,
    output: Annotated[Path, typer.Option("--output", "-o", help="The pairs CSV to write.")],
    left: Annotated[
        str | None, typer.Option(help="Left platform: only labels between it and --right.")
    ] = None,
    right: Annotated[str | None, typer.Option(help="Right platform (with --left).")] = None,
    database: Database = None,
) -> None:
    """Write the registry's labels as training pairs (ltable_id,rtable_id,label). With
    --left and --right, the pairs between those platforms, oriented left to right: `prodmatch
    train --left LEFT.csv --right RIGHT.csv --train OUTPUT` reads them with the catalogs the
    platforms were loaded from."""
    from prodmatch.io import atomic_write_text, check_outputs
    from prodmatch.registry.registry import SETTINGS_FILE
    from prodmatch.registry.store import SQLITE_FILE

    check_outputs([folder / SQLITE_FILE, folder / SETTINGS_FILE], [output])
    opened = _open(folder, None, None, None, database)
    try:
        text = opened.export_labels(left, right)
    finally:
        opened.close()
    atomic_write_text(output, text)
    pairs = text.count("\n") - 1
    console.print(f"{output}: {pairs} labelled pairs", highlight=False, soft_wrap=True)


@key_app.command("add")
@friendly_errors
def key_add(
    folder: Path,
    scope: Annotated[str, typer.Option(help="read, or write (which may read too).")] = "read",
    name: Annotated[str, typer.Option(help="A note to tell keys apart.")] = "",
    database: Database = None,
) -> None:
    """Make an API key and print it once (only its SHA-256 digest is stored)."""
    from prodmatch.registry.auth import add_key

    opened = _open(folder, None, None, None, database)
    try:
        token = add_key(opened, scope, name)
    finally:
        opened.close()
    typer.echo(token)
