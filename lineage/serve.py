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
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from lineage import __version__
from lineage.exceptions import LineageError

DEFAULT_MAX_BYTES = 32 << 20
# Connections a worker serves at once; more get 503 (each may hold a body of up to the limit).
LIMIT_CONCURRENCY = 64
# How far compressed data (gzip, Parquet) may expand, as a multiple of the body limit.
EXPANSION = 8
_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".jsonl.gz")
# Environment a `--workers N` process reads its settings from (uvicorn starts each one afresh).
_ENV = "LINEAGE_SERVE_SETTINGS"


@dataclass
class ServeSettings:
    """What the service is started with."""

    token: str | None
    # Where the token came from, for --workers processes to read it again: never passed on itself.
    token_file: str | None = None
    store: str | None = None
    policies: list[str] = field(default_factory=list)
    waivers: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_findings: int = 1000

    def to_env(self) -> str:
        import orjson

        return orjson.dumps({**self.__dict__, "token": None, "insecure": self.token is None}).decode()

    @classmethod
    def from_env(cls) -> ServeSettings:
        import orjson

        values = orjson.loads(os.environ[_ENV])
        insecure = values.pop("insecure")
        if not insecure:
            values["token"] = (Path(values["token_file"]).read_text(encoding="utf-8").strip() if values["token_file"]
                               else os.environ["LINEAGE_SERVE_TOKEN"].strip())
        return cls(**values)


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
    territory: list[str] | None = None
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
    from lineage.policy.waivers import load_waivers

    settings = settings or ServeSettings.from_env()
    config = find_config()
    pack = load_pack(config.resolved_list("policies") + settings.policies)
    waivers = load_waivers(settings.waivers) if settings.waivers else []
    # Checks are CPU work: as many at once as there are CPUs; the rest wait their turn.
    slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
    app = FastAPI(title="tos-lineage gate", version=__version__, docs_url=None, redoc_url=None,
                  description="The publication gate of tos-lineage for dataset registries.")

    app.add_middleware(Guard, settings=settings)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "invalid request"
        if exc.status_code == 400:
            detail = "the request body cannot be parsed: send one JSON object, in UTF-8, uncompressed"
        return JSONResponse({"error": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

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
        with slots, tempfile.TemporaryDirectory(prefix="lineage-serve-") as folder:
            try:
                report = _check(body, Path(folder), settings, config, pack, waivers)
            except LineageError as exc:
                return JSONResponse({"error": _public(exc.message, folder, body)}, status_code=400)
            # The client's names, not the service's temporary files; not where the store is.
            report.store = None
            answer = {"verdict": "fail" if report.exit_code else "pass", "exit_code": report.exit_code,
                      "report": report.to_dict()}
            import orjson

            text = _public(orjson.dumps(answer).decode(), folder, body)
            return JSONResponse(orjson.loads(text))

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
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _respond(send, 413, _too_large(limit))
            return
        # Whatever the headers claim, the body is counted as it is read, up to the limit, then
        # handed on whole: a chunked body, or one that says one length and sends more, is cut off.
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
    scheme, _, value = given.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), token.encode("ascii"))


def _too_large(limit: int) -> str:
    return f"the request body is larger than the service's limit of {limit} bytes"


async def _respond(send: Any, status: int, error: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    import orjson

    body = orjson.dumps({"error": error})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers,
    ]})
    await send({"type": "http.response.body", "body": body})


def _public(text: str, folder: str, body: CheckRequest) -> str:
    """`text` with the temporary folder's paths given as the client named them."""
    name = Path(body.dataset.filename).name if body.dataset is not None else "records.jsonl"
    for inner in (f"{folder}/dataset{_suffix(name)}", f"{folder}/records.jsonl"):
        text = text.replace(inner, name)
    return text.replace(f"{folder}/no-card/README.md", "README.md").replace(f"{folder}/README.md", "README.md") \
        .replace(folder, ".")


def _suffix(name: str) -> str:
    return next((e for e in sorted(_EXTENSIONS, key=len, reverse=True) if name.lower().endswith(e)), "")


def _check(body: CheckRequest, folder: Path, settings: ServeSettings, config: Any, pack: Any, waivers: list[Any]) -> Any:
    from lineage.exceptions import InputError
    from lineage.linting import lint
    from lineage.publication import gate

    try:
        data = _write_dataset(body, folder, settings.max_bytes * EXPANSION)
        card = None
        if body.card is not None:
            card = folder / "README.md"
            card.write_text(body.card, encoding="utf-8")
    except UnicodeEncodeError:
        raise InputError("the request holds text that is not valid Unicode (a lone surrogate)",
                         fix="send the dataset and card as UTF-8 text") from None
    context = {k: v for k, v in body.context.model_dump().items() if v is not None}
    options: dict[str, Any] = {
        "config": config, "store": settings.store, "waivers": waivers, "pack": pack,
        "max_findings": settings.max_findings, **context,
    }
    if not body.gate:
        return lint([str(data)], **options)
    return gate([str(data)], card=str(card) if card else str(folder / "no-card" / "README.md"),
                max_untracked=body.max_untracked, **options)


def _write_dataset(body: CheckRequest, folder: Path, max_expanded: int) -> Path:
    """The request's dataset as a file in `folder`. Compressed data is expanded here, up to
    `max_expanded` bytes: a small body must not become an unbounded file."""
    import orjson

    from lineage.exceptions import InputError

    if body.records is not None:
        path = folder / "records.jsonl"
        try:
            path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in body.records))
        except orjson.JSONEncodeError as exc:
            raise InputError(f"a record cannot be written as JSON ({exc})", where="records") from None
        return path
    assert body.dataset is not None
    name = Path(body.dataset.filename).name
    suffix = _suffix(name)
    if body.dataset.content is not None:
        raw = body.dataset.content.encode("utf-8")
    else:
        try:
            raw = base64.b64decode(body.dataset.content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise InputError("dataset.content_base64 is not base64", where=name) from None
    if raw[:2] == b"\x1f\x8b":
        if not suffix.endswith(".gz"):
            raise InputError("the dataset is gzip-compressed but its name does not end with .gz", where=name)
        raw = _gunzip(raw, max_expanded, name)
        suffix = suffix.removesuffix(".gz")
    elif suffix.endswith(".gz"):
        raise InputError("the dataset's name ends with .gz but it is not gzip-compressed", where=name)
    path = folder / f"dataset{suffix}"
    path.write_bytes(raw)
    if suffix == ".parquet":
        _check_parquet(path, max_expanded, name)
    return path


def _gunzip(raw: bytes, limit: int, name: str) -> bytes:
    import zlib

    from lineage.exceptions import InputError

    inflate = zlib.decompressobj(wbits=31)
    try:
        out = inflate.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise InputError(f"the dataset is not valid gzip ({exc})", where=name) from None
    if len(out) > limit or inflate.unconsumed_tail:
        raise InputError(f"the dataset expands to more than the service's limit of {limit} bytes", where=name)
    return out


def _check_parquet(path: Path, limit: int, name: str) -> None:
    """Refuse a Parquet file whose columns expand past `limit` (as its footer says), before reading it."""
    from lineage.exceptions import InputError

    try:
        import pyarrow.parquet as pq

        metadata = pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow's errors for a file that is not Parquet
        raise InputError(f"the dataset is not a readable Parquet file ({str(exc).splitlines()[0][:120]})",
                         where=name) from None
    expanded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if expanded > limit:
        raise InputError(f"the dataset expands to more than the service's limit of {limit} bytes", where=name)


def app_from_env() -> FastAPI:
    """The application of one `--workers` process, from the settings the parent passed on."""
    return create_app(ServeSettings.from_env())


def run(settings: ServeSettings, *, host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted."""
    import uvicorn

    if workers > 1:
        os.environ[_ENV] = settings.to_env()
        uvicorn.run("lineage.serve:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", limit_concurrency=LIMIT_CONCURRENCY)
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning",
                    limit_concurrency=LIMIT_CONCURRENCY)
