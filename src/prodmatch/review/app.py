"""The review page's web app: one HTML page and a small JSON API over a `ReviewQueue`.

`review_router` holds the page and its API once; `prodmatch review` serves it alone on
127.0.0.1 (`create_app`), and `prodmatch serve` mounts it under /review of the registry's
app, behind the registry's API keys (`prodmatch.registry.app`). The page asks for its data
with addresses relative to itself, so it works wherever it is mounted. FastAPI and uvicorn
are the optional extra ``review``; nothing else imports this module.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at
# definition time, and they name classes imported inside `review_router`.

from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from prodmatch.errors import ProdmatchError
from prodmatch.review.queue import ReviewQueue

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

HOST = "127.0.0.1"


def page_html() -> str:
    return resources.files("prodmatch.review").joinpath("page.html").read_text(encoding="utf-8")


def _need_fastapi() -> None:
    try:
        import fastapi  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the install
        raise ProdmatchError(
            "the review page needs FastAPI and uvicorn: pip install 'prodmatch[review]'"
        ) from None


def review_router(
    session: ReviewQueue, *, read: Sequence[Any] = (), write: Sequence[Any] = ()
) -> "APIRouter":
    """The page and its API over `session`; `read` and `write` are the dependencies (key
    checks) of the routes that read and that label. The page itself is static: it holds no
    data, so it needs no key; it asks for one when its API answers 401 or 403.

    The routes stay out of the OpenAPI schema: they are the page's own, not the service's
    (a registry's labels go in through `POST /labels`, the documented route).
    """
    _need_fastapi()
    from fastapi import APIRouter, HTTPException, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import FileResponse, HTMLResponse

    router = APIRouter(include_in_schema=False)
    html = page_html()
    reads, writes = list(read), list(write)
    missing = HTTPException(400, "send left_id, right_id and label")

    @router.get("/", response_class=HTMLResponse)
    def index() -> str:
        return html

    @router.get("/api/view", dependencies=reads)
    def view(position: int | None = None) -> dict[str, Any]:
        return session.view(position)

    @router.get("/api/state", dependencies=reads)
    def state() -> dict[str, Any]:
        return session.state()

    @router.post("/api/label", dependencies=writes)
    async def label(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
            ids = str(body["left_id"]), str(body["right_id"]), str(body["label"])
        except (KeyError, TypeError, ValueError) as error:
            raise missing from error
        try:
            return await run_in_threadpool(session.label, *ids)
        except ProdmatchError as error:
            raise HTTPException(400, str(error)) from error

    @router.post("/api/undo", dependencies=writes)
    def undo() -> dict[str, Any]:
        return session.undo()

    @router.get("/api/explain", dependencies=reads)
    def explain(left_id: str, right_id: str) -> dict[str, Any]:
        try:
            return session.explain(left_id, right_id)
        except ProdmatchError as error:
            raise HTTPException(404, str(error)) from error

    @router.get("/photo/{side}/{position}/{k}", dependencies=reads)
    def photo(side: str, position: int, k: int) -> Any:
        try:
            return FileResponse(session.photo(side, position, k))
        except ProdmatchError as error:
            raise HTTPException(404, str(error)) from error

    return router


def create_app(session: ReviewQueue) -> "FastAPI":
    """The standalone page of one review session (no keys: it listens on 127.0.0.1)."""
    _need_fastapi()
    from fastapi import FastAPI

    app = FastAPI(title="prodmatch review", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(review_router(session))
    return app


def serve(session: ReviewQueue, port: int = 8765, *, log_level: str = "warning") -> None:
    """Run the page until interrupted (Ctrl-C)."""
    import uvicorn

    uvicorn.run(create_app(session), host=HOST, port=port, log_level=log_level)
