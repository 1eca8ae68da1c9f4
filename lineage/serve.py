"""`lineage serve`: the publication gate as an HTTP service a dataset registry calls.

    POST /v1/check     a dataset (a file's content, or its rows) and a use context; answers the
                       verdict and the lint report (the `lineage lint --format json` contract)
    GET  /healthz      liveness, no token needed
    GET  /openapi.json the OpenAPI document

Requests to /v1/check carry `Authorization: Bearer <token>`. Bodies above the size limit are
refused before they are read whole. Every expected failure is a 4xx with one clear message; the
policy pack is loaded once per process; the store (SQLite for one process, PostgreSQL for
several workers) is opened per request, read-only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lineage import __version__
from lineage.exceptions import LineageError

DEFAULT_MAX_BYTES = 32 << 20
_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".jsonl.gz")
# Environment a `--workers N` process reads its settings from (uvicorn starts each one afresh).
_ENV = "LINEAGE_SERVE_SETTINGS"


@dataclass
class ServeSettings:
    """What the service is started with."""

    token: str | None
    store: str | None = None
    policies: list[str] = field(default_factory=list)
    waivers: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_findings: int = 1000

    def to_env(self) -> str:
        import orjson

        return orjson.dumps(self.__dict__).decode()

    @classmethod
    def from_env(cls) -> ServeSettings:
        import orjson

        return cls(**orjson.loads(os.environ[_ENV]))


class DatasetFile(BaseModel):
    """A dataset file's content: text (JSONL, JSON, CSV) or base64 (Parquet, gzip)."""

    model_config = ConfigDict(extra="forbid")
    filename: str = Field(description="Its name; the extension says the format (.jsonl, .json, .csv, .parquet).")
    content: str | None = Field(None, description="The file's text.")
    content_base64: str | None = Field(None, description="The file's bytes, base64-encoded.")

    @model_validator(mode="after")
    def _one_content(self) -> DatasetFile:
        if (self.content is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of content and content_base64")
        if not self.filename.lower().endswith(_EXTENSIONS):
            raise ValueError(f"the filename must end with one of {', '.join(_EXTENSIONS)}")
        return self


class UseContextIn(BaseModel):
    """The use to judge the dataset for (lint's use context); unset keys take the service's defaults."""

    model_config = ConfigDict(extra="forbid")
    purpose: Literal["train", "fine-tune", "distill", "evaluate", "retrieval"] | None = None
    commercial: bool | None = None
    competes_with: list[str] | None = None
    base_model: str | None = None
    distribute_model: bool | None = None
    model_name: str | None = None
    model_type: str | None = None
    publish_dataset: bool | None = None


class CheckRequest(BaseModel):
    """A dataset to check: a file (`dataset`) or its rows as JSON objects (`records`)."""

    model_config = ConfigDict(extra="forbid")
    dataset: DatasetFile | None = None
    records: list[dict[str, Any]] | None = Field(None, description="The dataset's rows (a manifest of examples).")
    context: UseContextIn = Field(default_factory=UseContextIn)
    card: str | None = Field(None, description="The dataset card (README.md with its YAML header).")
    gate: bool = Field(True, description="Run the publication gate (card, redistribution); false: lint only.")
    max_untracked: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _one_dataset(self) -> CheckRequest:
        if (self.dataset is None) == (self.records is None):
            raise ValueError("give exactly one of dataset and records")
        if self.records is not None and not self.records:
            raise ValueError("records is empty")
        return self


class CheckResponse(BaseModel):
    """The verdict, and the lint report (see docs/lint.md for its fields)."""

    verdict: Literal["pass", "fail"]
    exit_code: int
    report: dict[str, Any]


class ErrorResponse(BaseModel):
    error: str


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The service's ASGI application."""
    from lineage.config import find_config
    from lineage.policy import load_pack

    settings = settings or ServeSettings.from_env()
    config = find_config()
    pack = load_pack(config.resolved_list("policies") + settings.policies)
    app = FastAPI(title="tos-lineage gate", version=__version__, docs_url=None, redoc_url=None,
                  description="The publication gate of tos-lineage for dataset registries.")

    app.add_middleware(Guard, settings=settings)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            reason = (first.get("ctx") or {}).get("error", "not JSON")
            return JSONResponse({"error": f"the request body is not valid JSON ({reason}): send a JSON object "
                                          "(see /openapi.json)"}, status_code=422)
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return JSONResponse({"error": f"invalid request body: {message}"}, status_code=422)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post("/v1/check", response_model=CheckResponse,
              responses={400: {"model": ErrorResponse}, 401: {"model": ErrorResponse},
                         413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})
    def check(body: CheckRequest) -> Any:
        try:
            report = _check(body, settings, config, pack)
        except LineageError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        return {"verdict": "fail" if report.exit_code else "pass", "exit_code": report.exit_code,
                "report": report.to_dict()}

    return app


class Guard:
    """Token and size checks in front of /v1/: a refused request is answered before its body is
    read (or, sent in chunks, as soon as it passes the limit)."""

    def __init__(self, app: Any, settings: ServeSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = self.settings.token
        if token is not None and not _authorised(headers.get(b"authorization", b""), token):
            await _respond(send, 401, "a bearer token is required: send Authorization: Bearer <token>",
                           ((b"www-authenticate", b"Bearer"),))
            return
        limit = self.settings.max_bytes
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                await _respond(send, 413, _too_large(limit))
                return
            await self.app(scope, receive, send)
            return
        # No length given (chunked): read the body here, up to the limit, then hand it on.
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await _respond(send, 413, _too_large(limit))
                return
            if not message.get("more_body", False):
                break
        replay = [{"type": "http.request", "body": bytes(body), "more_body": False}]

        async def replayed() -> dict[str, Any]:
            return replay.pop() if replay else await receive()

        await self.app(scope, replayed, send)


def _authorised(given: bytes, token: str) -> bool:
    scheme, _, value = given.decode("latin-1").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def _too_large(limit: int) -> str:
    return f"the request body is larger than the service's limit of {limit} bytes"


async def _respond(send: Any, status: int, error: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    import orjson

    body = orjson.dumps({"error": error})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers,
    ]})
    await send({"type": "http.response.body", "body": body})


def _check(body: CheckRequest, settings: ServeSettings, config: Any, pack: Any) -> Any:
    from lineage.linting import lint
    from lineage.publication import gate

    with tempfile.TemporaryDirectory(prefix="lineage-serve-") as folder:
        data = _write_dataset(body, Path(folder))
        context = {k: v for k, v in body.context.model_dump().items() if v is not None}
        options: dict[str, Any] = {
            "config": config, "store": settings.store, "waivers": settings.waivers, "pack": pack,
            "max_findings": settings.max_findings, **context,
        }
        if not body.gate:
            return lint([str(data)], **options)
        card = None
        if body.card is not None:
            card = Path(folder) / "README.md"
            card.write_text(body.card, encoding="utf-8")
        return gate([str(data)], card=str(card) if card else str(Path(folder) / "no-card" / "README.md"),
                    max_untracked=body.max_untracked, **options)


def _write_dataset(body: CheckRequest, folder: Path) -> Path:
    from lineage.exceptions import InputError

    if body.records is not None:
        import orjson

        path = folder / "records.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in body.records))
        return path
    assert body.dataset is not None
    name = Path(body.dataset.filename).name
    suffix = next(e for e in sorted(_EXTENSIONS, key=len, reverse=True) if name.lower().endswith(e))
    path = folder / f"dataset{suffix}"
    if body.dataset.content is not None:
        path.write_text(body.dataset.content, encoding="utf-8")
    else:
        try:
            path.write_bytes(base64.b64decode(body.dataset.content_base64 or "", validate=True))
        except (binascii.Error, ValueError):
            raise InputError("dataset.content_base64 is not base64", where=name) from None
    return path


def app_from_env() -> FastAPI:
    """The application of one `--workers` process, from the settings the parent passed on."""
    return create_app(ServeSettings.from_env())


def run(settings: ServeSettings, *, host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted."""
    import uvicorn

    if workers > 1:
        os.environ[_ENV] = settings.to_env()
        uvicorn.run("lineage.serve:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
