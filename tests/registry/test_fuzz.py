"""The API fuzzed from its own OpenAPI schema (schemathesis): no input gives a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from registry_fakes import WordEncoder, item  # noqa: E402

from prodmatch.registry import Registry  # noqa: E402
from prodmatch.registry.app import create_app  # noqa: E402


def test_no_input_gives_a_server_error(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "fuzz", encoder=WordEncoder())  # type: ignore[arg-type]
    registry.upsert([item("amazon", "a1", "canon sd990"), item("ebay", "e1", "canon sd990 x")])
    app = create_app(registry, auth_required=False, max_batch=20)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case: Any) -> None:
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, response.text)

        no_server_error()
    registry.close()
