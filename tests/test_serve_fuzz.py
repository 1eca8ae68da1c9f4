"""`lineage serve` fuzzed from its own OpenAPI schema with schemathesis: whatever a client sends,
the service answers with no server error, a status the schema declares and a body that matches it.

In-process, through the ASGI application: no port, no network.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import (  # noqa: E402
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from lineage.serve import ServeSettings, create_app  # noqa: E402
from lineage.store import Store  # noqa: E402

TOKEN = "fuzz-token-0123456789"


def _app() -> object:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="lineage-fuzz-"))
    store = str(folder / "lineage.db")
    Store.open(store, create=True).close()
    return create_app(ServeSettings(token=TOKEN, store=store, max_bytes=1 << 20, max_findings=50))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_service_fail(case: object) -> None:
    case.call_and_validate(  # type: ignore[attr-defined]
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


@schema.parametrize()
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_without_the_token_every_check_is_refused(case: object) -> None:
    response = case.call(headers={"Authorization": "Bearer wrong"})  # type: ignore[attr-defined]
    if case.path.startswith("/v1/"):  # type: ignore[attr-defined]
        assert response.status_code == 401
        assert set(response.json()) == {"error"}


# Bodies schemathesis would not send: anything at all, and plausible rows with random text.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_MESSAGE = st.fixed_dictionaries({
    "role": st.sampled_from(["user", "assistant", "system", "tool", "x"]),
    "content": st.one_of(st.text(max_size=40), st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=2)),
})
_ROWS = st.lists(
    st.one_of(st.fixed_dictionaries({"messages": st.lists(_MESSAGE, max_size=4)}),
              st.fixed_dictionaries({"prompt": st.text(max_size=30), "completion": st.text(max_size=30)}),
              st.dictionaries(st.text(max_size=8), _JSON, max_size=3)),
    min_size=1, max_size=5,
)


@pytest.fixture(scope="module")
def client() -> object:
    from starlette.testclient import TestClient

    return TestClient(_app())


def _answer_is_declared(response: object) -> None:
    from lineage.serve import CheckResponse, ErrorResponse

    assert response.status_code in (200, 400, 413, 422), response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    if response.status_code == 200:  # type: ignore[attr-defined]
        checked = CheckResponse.model_validate(body)
        assert checked.verdict == ("fail" if checked.exit_code else "pass")
    else:
        assert ErrorResponse.model_validate(body).error


@given(body=st.one_of(_JSON, st.binary(max_size=200)))
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_any_body_is_answered_as_declared(client: object, body: object) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body, allow_nan=True).encode()
    _answer_is_declared(client.post("/v1/check", content=content, headers=headers))  # type: ignore[attr-defined]


@given(rows=_ROWS, gate=st.booleans(), card=st.one_of(st.none(), st.text(max_size=60)))
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_rows_of_any_shape_are_judged_or_refused_in_one_message(
    client: object, rows: list, gate: bool, card: str | None,
) -> None:
    body = {"records": rows, "gate": gate, "card": card}
    response = client.post("/v1/check", json=body, headers={"Authorization": f"Bearer {TOKEN}"})  # type: ignore[attr-defined]
    _answer_is_declared(response)
    event(f"status {response.status_code}")
    if response.status_code == 400:
        assert "\n" not in response.json()["error"]
