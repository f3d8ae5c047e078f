"""The review page's web app: one HTML page and a small JSON API over a `ReviewSession`.

Served on 127.0.0.1 only (a labelling page for the person at this machine, not a service).
FastAPI and uvicorn are the optional extra ``review``; nothing else imports this module.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at
# definition time, and they name classes imported inside `create_app`.

from importlib import resources
from typing import Any

from prodmatch.errors import ProdmatchError
from prodmatch.review.session import ReviewSession

HOST = "127.0.0.1"


def page_html() -> str:
    return resources.files("prodmatch.review").joinpath("page.html").read_text(encoding="utf-8")


def create_app(session: ReviewSession) -> Any:
    """The FastAPI app of one review session."""
    try:
        from fastapi import FastAPI, HTTPException, Request
        from fastapi.responses import FileResponse, HTMLResponse
    except ImportError:  # pragma: no cover - depends on the install
        raise ProdmatchError(
            "the review page needs FastAPI and uvicorn: pip install 'prodmatch[review]'"
        ) from None

    app = FastAPI(title="prodmatch review", docs_url=None, redoc_url=None, openapi_url=None)
    html = page_html()

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return html

    @app.get("/api/view")
    def view(position: int | None = None) -> dict[str, Any]:
        return session.view(position)

    @app.get("/api/state")
    def state() -> dict[str, Any]:
        return session.state()

    @app.post("/api/label")
    async def label(request: Request) -> dict[str, Any]:
        body = await request.json()
        try:
            return session.label(str(body["left_id"]), str(body["right_id"]), str(body["label"]))
        except (KeyError, TypeError) as error:
            raise HTTPException(400, "send left_id, right_id and label") from error
        except ProdmatchError as error:
            raise HTTPException(400, str(error)) from error

    @app.post("/api/undo")
    def undo() -> dict[str, Any]:
        return session.undo()

    @app.get("/api/explain")
    def explain(left_id: str, right_id: str) -> dict[str, Any]:
        try:
            return session.explain(left_id, right_id)
        except ProdmatchError as error:
            raise HTTPException(404, str(error)) from error

    @app.get("/photo/{side}/{position}/{k}")
    def photo(side: str, position: int, k: int) -> Any:
        try:
            return FileResponse(session.photo(side, position, k))
        except ProdmatchError as error:
            raise HTTPException(404, str(error)) from error

    return app


def serve(session: ReviewSession, port: int = 8765, *, log_level: str = "warning") -> None:
    """Run the page until interrupted (Ctrl-C)."""
    import uvicorn

    uvicorn.run(create_app(session), host=HOST, port=port, log_level=log_level)
