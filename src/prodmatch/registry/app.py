"""The registry over HTTP: a FastAPI app (OpenAPI docs at /docs), run by `prodmatch serve`.

Every route but /health needs an API key (`Authorization: Bearer KEY` or `X-API-Key: KEY`)
unless the app is made with `auth=False`: 401 without a valid key, 403 when a read key
writes. Bodies past `max_body` bytes and batches past `max_batch` listings get 413, bad
payloads 422 naming the field, unknown listings and products 404; no error is a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from prodmatch.errors import ProdmatchError
from prodmatch.registry import auth
from prodmatch.registry.metrics import Metrics
from prodmatch.registry.registry import NotFound, Registry, listing_dict
from prodmatch.registry.schemas import LabelIn, ListingId, ListingsIn, MatchIn, Platform
from prodmatch.registry.store import Event

log = logging.getLogger("prodmatch.registry")
MAX_BATCH = 1000
MAX_BODY = 8 * 1024 * 1024

# The largest integer SQLite and PostgreSQL store (a signed 64-bit BIGINT): ids and cursors past
# it are refused as a 422, not turned into a server error by the database driver.
DB_INT_MAX = 2**63 - 1


def create_app(
    registry: Registry,
    *,
    auth_required: bool = True,
    max_batch: int = MAX_BATCH,
    max_body: int = MAX_BODY,
    close_on_shutdown: bool = False,
    review_page: bool = True,
) -> FastAPI:
    """An app serving `registry` (already open, so the app is ready when it answers).

    With `review_page` the review page is served at /review/ over the registry's own pairs
    (`prodmatch.registry.review`), behind the same keys: a read key to look, a write key to
    label.

    With `close_on_shutdown` the registry is closed (its index saved) when the server stops:
    uvicorn waits for requests in flight first, then ends the process with the signal it got,
    so code after `uvicorn.run` would never run.
    """

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            registry.close()

    app = FastAPI(title="prodmatch registry", version="1", lifespan=lifespan)
    metrics = Metrics()
    app.state.registry = registry

    def need(scope: str) -> Callable[[Request], None]:
        def check(request: Request) -> None:
            if not auth_required:
                return
            token = request.headers.get("x-api-key")
            bearer = request.headers.get("authorization", "")
            if token is None and bearer.lower().startswith("bearer "):
                token = bearer[7:].strip()
            granted = auth.scope_of(registry, token)
            if granted is None:
                raise HTTPException(
                    401, "a valid API key is needed", {"WWW-Authenticate": "Bearer"}
                )
            if not auth.allows(granted, scope):
                raise HTTPException(403, f"this key may not {scope}")

        return check

    read, write = Depends(need("read")), Depends(need("write"))

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body):
            return JSONResponse({"detail": f"request body over {max_body} bytes"}, status_code=413)
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        metrics.observe(request.method, path, response.status_code, elapsed)
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 2),
            },
        )
        return response

    @app.exception_handler(NotFound)
    async def not_found(_: Request, error: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(ProdmatchError)
    async def bad_input(_: Request, error: ProdmatchError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(Exception)
    async def failed(_: Request, error: Exception) -> JSONResponse:
        log.exception("request failed")
        return JSONResponse({"detail": f"internal error: {type(error).__name__}"}, status_code=500)

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Ready: the index is loaded and agrees with the database it was built from."""
        return {"status": "ready", **registry.counts()}

    @app.get("/metrics", response_class=PlainTextResponse, dependencies=[read])
    def prometheus() -> str:
        return metrics.render(registry.counts())

    @app.put("/listings", dependencies=[write])
    def upsert(body: ListingsIn) -> dict[str, Any]:
        if len(body.listings) > max_batch:
            raise HTTPException(413, f"at most {max_batch} listings a batch")
        return {"listings": registry.upsert([item.to_listing() for item in body.listings])}

    @app.get("/listings/{platform}/{listing_id}", dependencies=[read])
    def get_listing(platform: Platform, listing_id: ListingId) -> dict[str, Any]:
        return listing_dict(registry.get(platform, listing_id))

    @app.delete("/listings/{platform}/{listing_id}", dependencies=[write])
    def delete_listing(platform: Platform, listing_id: ListingId) -> dict[str, Any]:
        return event_dict(registry.delete(platform, listing_id))

    @app.get("/listings/{platform}/{listing_id}/product", dependencies=[read])
    def product_of(platform: Platform, listing_id: ListingId) -> dict[str, Any]:
        return registry.product(registry.product_of(platform, listing_id))

    @app.get("/listings/{platform}/{listing_id}/similar", dependencies=[read])
    def similar(
        platform: Platform,
        listing_id: ListingId,
        on: Platform | None = Query(None, alias="platform"),
        k: int = Query(10, ge=1, le=100),
    ) -> dict[str, Any]:
        """The same (first) or most similar products on platform `platform` (any other if
        not given), best first."""
        return {"similar": registry.similar(platform, listing_id, on, k)}

    @app.get("/products/{product}", dependencies=[read])
    def get_product(product: int = Path(ge=0, le=DB_INT_MAX)) -> dict[str, Any]:
        return registry.product(product)

    @app.get("/events", dependencies=[read])
    def events(
        after: int = Query(0, ge=0, le=DB_INT_MAX), limit: int = Query(1000, ge=1, le=10_000)
    ) -> dict[str, Any]:
        """Events after cursor `after`, in order; pass the last `seq` back to resume."""
        found = registry.events(after, limit)
        cursor = found[-1].seq if found else after
        return {"events": [event_dict(event) for event in found], "cursor": cursor}

    @app.post("/labels", dependencies=[write])
    def label(body: LabelIn) -> dict[str, Any]:
        a, b = (body.a.platform, body.a.id), (body.b.platform, body.b.id)
        return registry.label(a, b, body.same)

    @app.get("/labels/export", response_class=PlainTextResponse, dependencies=[read])
    def export_labels(
        left: Platform | None = Query(None), right: Platform | None = Query(None)
    ) -> PlainTextResponse:
        """The labels as training pairs; with `left` and `right` (platforms), those between
        the two, oriented left to right, for `prodmatch train --left --right`."""
        return PlainTextResponse(registry.export_labels(left, right), media_type="text/csv")

    @app.post("/match", dependencies=[read])
    def match(body: MatchIn) -> dict[str, Any]:
        """Candidates for listings that are not stored, with scores and signals."""
        if len(body.listings) > max_batch:
            raise HTTPException(413, f"at most {max_batch} listings a request")
        found = registry.match([item.to_listing() for item in body.listings], body.k)
        return {"matches": found}

    if review_page:
        from prodmatch.registry.review import RegistryReview
        from prodmatch.review.app import review_router

        pages = review_router(RegistryReview(registry), read=[read], write=[write])
        app.include_router(pages, prefix="/review")
    return app


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, message and the request's fields."""

    FIELDS = ("method", "path", "status", "ms")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "message": record.getMessage(),
            **{name: getattr(record, name) for name in self.FIELDS if hasattr(record, name)},
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def structured_logs(level: int = logging.INFO) -> None:
    """The registry's request log as JSON lines on standard error."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def event_dict(event: Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "kind": event.kind,
        "product": event.product,
        "other": event.other,
        "platform": event.platform,
        "listing": event.listing,
        "reason": event.reason,
        "at": event.at,
    }
