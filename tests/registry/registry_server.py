"""A registry server with the test encoder, run as a real uvicorn process by the tests:
`python registry_server.py FOLDER PORT`."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from registry_fakes import WordEncoder

from prodmatch.registry import Registry
from prodmatch.registry.app import create_app


def main(folder: str, port: int) -> None:
    registry = Registry(Path(folder), encoder=WordEncoder())  # type: ignore[arg-type]
    try:
        uvicorn.run(
            create_app(registry, auth_required=False, close_on_shutdown=True),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=30,
        )
    finally:
        registry.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
