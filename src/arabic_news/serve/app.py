"""The FastAPI app: `POST /v1/tag`, `GET /v1/model`, `GET /health`, the web page at `/`, and OpenAPI docs at `/docs`.

`create_app(tagger, settings)` builds it around a loaded NewsTagger. Every text goes through the MicroBatcher, so
concurrent requests share forward passes; each text's answer is the record `predict.py` writes for it (entities
with character offsets into the text as sent, label and score; topic, its score and every class's probability).

Bad requests get a JSON answer `{"error": MESSAGE, "field": FIELD}` or `{"error": MESSAGE, "limit": NAME}`, never a
500 or a traceback:
- 422: the body is not UTF-8 or not JSON, or a field is missing, has the wrong type, or is an empty list (the
  message and `field` name the field, e.g. `texts[2]`);
- 413: the body, a text or the number of texts is over its limit (the message names the limit and its flag);
- 503 with `Retry-After`: the queue is full.
The body is read by the app itself (not by FastAPI's parameter binding), so that each of these cases gets its own
status and message; the OpenAPI schema still documents the typed request model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ConfigError
from ..inference import NewsTagger
from .batching import MicroBatcher, QueueFull

log = logging.getLogger("arabic_news.serve")

RETRY_AFTER_S = 1
PAGE_FILES = {"page.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class ServeSettings:
    """The server's knobs; each has a flag of the same name on `arabic-news serve`."""

    max_batch: int = 32  # texts per forward pass
    max_wait_ms: float = 5.0  # how long the oldest queued text waits for a fuller batch
    max_queue: int = 1024  # texts waiting (not yet in a forward pass); beyond it requests get 503
    max_texts: int = 256  # texts per request
    max_chars: int = 100_000  # characters per text
    max_body_bytes: int = 8 * 1024 * 1024  # bytes per request body

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_queue", "max_texts", "max_chars", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{_flag(name)} must be at least 1, got {getattr(self, name)}", hint="raise it")
        if self.max_wait_ms < 0:
            raise ConfigError(f"--max-wait-ms must be 0 or more, got {self.max_wait_ms}", hint="use e.g. 5")
        if self.max_texts > self.max_queue:
            raise ConfigError(
                f"--max-texts {self.max_texts} is larger than --max-queue {self.max_queue}, so a request that big "
                "could never be queued",
                hint="make --max-queue at least --max-texts",
            )


def _flag(name: str) -> str:
    return name.replace("_", "-")


# ---- the typed request and response models (they make the OpenAPI schema at /docs) -------------------------------
class TagRequest(BaseModel):
    """One text or a list of texts; give exactly one of the two fields."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"text": "التقى ماكرون في باريس بوفد من الأمم المتحدة."}]},
    )
    text: str | None = Field(None, description="one article")
    texts: list[str] | None = Field(None, min_length=1, description="several articles; results come in this order")


class Entity(BaseModel):
    start: int = Field(description="character offset into the text as sent")
    end: int = Field(description="end offset, exclusive")
    label: str = Field(description="entity type, e.g. PERS, LOC, ORG, MISC")
    text: str = Field(description="text[start:end]")
    score: float | None = Field(None, description="mean probability of the predicted tags over the entity's tokens")


class TagResult(BaseModel):
    """The record `predict.py` writes for one text."""

    id: str = Field(description="the text's position in the request, from 0")
    text: str
    topic: str | None = Field(None, description="the topic, when a topic checkpoint is loaded")
    entities: list[Entity] = Field(description="empty when no NER checkpoint is loaded")
    topic_score: float | None = None
    topic_probabilities: dict[str, float] | None = Field(None, description="every class's probability")


class TagResponse(BaseModel):
    results: list[TagResult]


class TaskInfo(BaseModel):
    task: str = Field(description="ner or topic")
    checkpoint: str = Field(description="the checkpoint folder's name")
    labels: list[str] = Field(description="the model's output labels as stored in arabic_news.json")
    entity_types: list[str] | None = Field(None, description="NER: the entity types its tags name")
    encoder: str
    preprocessing: dict[str, Any]
    scores: dict[str, dict[str, float]] = Field(description="split -> headline scores, from the checkpoint card")
    lexical: dict[str, Any] | None = Field(
        None, description="topic: the fused TF-IDF + logistic regression component (settings, fusion, weight)"
    )


class Limits(BaseModel):
    max_texts: int
    max_chars: int
    max_body_bytes: int


class Batching(BaseModel):
    max_batch: int
    max_wait_ms: float
    max_queue: int


class ModelInfo(BaseModel):
    tasks: list[TaskInfo]
    limits: Limits
    batching: Batching


class Health(BaseModel):
    status: str
    queued: int = Field(description="texts waiting for a forward pass")
    batches: int = Field(description="forward passes run so far")
    texts: int = Field(description="texts tagged so far")


class ErrorAnswer(BaseModel):
    error: str
    field: str | None = Field(None, description="the request field at fault (422)")
    limit: str | None = Field(None, description="the limit that was exceeded (413, 503)")


class ApiError(Exception):
    """A bad request: answered with `status` and `{"error": message, "field" or "limit": ...}`."""

    def __init__(self, status: int, message: str, *, field: str | None = None, limit: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.message, self.field, self.limit, self.headers = status, message, field, limit, headers

    def response(self) -> JSONResponse:
        body = ErrorAnswer(error=self.message, field=self.field, limit=self.limit).model_dump(exclude_none=True)
        return JSONResponse(body, status_code=self.status, headers=self.headers)


# ---- the app ------------------------------------------------------------------------------------------------------
def create_app(tagger: NewsTagger, settings: ServeSettings | None = None) -> FastAPI:
    settings = settings or ServeSettings()
    batcher = MicroBatcher(
        _predictor(tagger, settings.max_batch), settings.max_batch, settings.max_wait_ms, settings.max_queue
    )
    info = _model_info(tagger, settings)
    page = {name: _page_file(name) for name in ("index.html", *PAGE_FILES)}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        try:
            yield
        finally:
            await batcher.stop()  # uvicorn has already let in-flight requests finish

    app = FastAPI(
        title="arabic-news",
        summary="Arabic news named entities and topics",
        version="1",
        lifespan=lifespan,
        responses={422: {"model": ErrorAnswer}},
    )
    app.state.batcher, app.state.settings = batcher, settings

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError) -> JSONResponse:
        return err.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(err.detail)}, status_code=err.status_code, headers=err.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        log.error("%s %s failed: %s: %s", request.method, request.url.path, type(err).__name__, err, exc_info=err)
        return JSONResponse({"error": f"the server failed: {type(err).__name__}; see its log"}, status_code=500)

    @app.post(
        "/v1/tag",
        response_model=TagResponse,
        response_model_exclude_none=True,
        responses={
            413: {"model": ErrorAnswer, "description": "the body, a text or the number of texts is over its limit"},
            422: {"model": ErrorAnswer, "description": "invalid UTF-8 or JSON, a missing or wrong-typed field"},
            503: {"model": ErrorAnswer, "description": "the queue is full; retry after Retry-After seconds"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": TagRequest.model_json_schema()}},
            }
        },
        summary="Tag one text or several",
    )
    async def tag(request: Request) -> dict:
        """Entities (with character offsets into each text as sent) and the topic of each text, in order."""
        texts = _parse_texts(await _read_body(request, settings.max_body_bytes), settings)
        try:
            records = await batcher.submit(texts)
        except QueueFull as full:
            raise ApiError(
                503,
                f"the server is busy ({full}); retry after {RETRY_AFTER_S} s",
                limit="max_queue",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            ) from None
        return {"results": [{**record, "id": str(i)} for i, record in enumerate(records)]}

    @app.get("/v1/model", response_model=ModelInfo, response_model_exclude_none=True, summary="The loaded models")
    async def model() -> ModelInfo:
        """Task(s), labels, encoder, preprocessing and scores from each checkpoint's arabic_news.json; the limits."""
        return info

    @app.get("/health", response_model=Health, summary="Liveness and queue length")
    async def health() -> Health:
        stats = batcher.stats
        return Health(status="ok", queued=batcher.queued, batches=stats.batches, texts=stats.texts)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page["index.html"])

    @app.get("/page/{name}", include_in_schema=False)
    async def page_file(name: str) -> Response:
        if name not in PAGE_FILES:
            raise ApiError(404, f"no page file {name!r}")
        return Response(page[name], media_type=PAGE_FILES[name])

    return app


WINDOWS_PER_FORWARD = 32  # NewsTagger.pipe's default batch of windows


def _predictor(tagger: NewsTagger, max_batch: int):
    """`max_batch` counts texts; a long text is several windows, and the texts' windows go through the model
    `max(32, max_batch)` at a time (so `--max-batch 1` still reads one long article in batches of windows)."""
    windows = max(WINDOWS_PER_FORWARD, max_batch)

    def predict(texts: list[str]) -> list[dict]:
        return [p.to_document("").to_dict() for p in tagger.pipe(texts, batch_size=windows)]

    return predict


def _model_info(tagger: NewsTagger, settings: ServeSettings) -> ModelInfo:
    tasks = []
    for model in (tagger.ner, tagger.topic):
        if model is None:
            continue
        meta = model.metadata
        types = (
            sorted({label.split("-", 1)[1] for label in meta.labels if "-" in label}) if meta.task == "ner" else None
        )
        tasks.append(
            TaskInfo(
                task=meta.task,
                checkpoint=model.path.name if model.path is not None else "",
                labels=list(meta.labels),
                entity_types=types,
                encoder=meta.encoder,
                preprocessing=meta.preprocessing.to_dict(),
                scores=meta.scores,
                lexical=meta.lexical or None,
            )
        )
    limits = Limits(**{k: v for k, v in asdict(settings).items() if k in Limits.model_fields})
    batching = Batching(**{k: v for k, v in asdict(settings).items() if k in Batching.model_fields})
    return ModelInfo(tasks=tasks, limits=limits, batching=batching)


def _page_file(name: str) -> str:
    return (resources.files(__package__) / "page" / name).read_text(encoding="utf-8")


# ---- reading a request ----------------------------------------------------------------------------------------
DRAIN_BYTES = 4 * 1024 * 1024  # what is read and dropped of a body over the limit, so the client reads the 413


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 once it is known to be over `limit` bytes. The rest of an oversized body is read
    and dropped (up to DRAIN_BYTES more), because a server that closes a connection with unread data resets it and
    the client may never see the answer; a body declared larger than that is refused without reading it."""
    too_big = ApiError(
        413, f"the request body is over the limit of {limit} bytes (--max-body-bytes)", limit="max_body_bytes"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + DRAIN_BYTES:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit + DRAIN_BYTES:
            raise too_big
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise too_big
    return b"".join(chunks)


def _parse_texts(body: bytes, settings: ServeSettings) -> list[str]:
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ApiError(
            422,
            f"body: byte 0x{body[err.start]:02x} at byte offset {err.start} is not valid UTF-8; send the JSON as UTF-8",
            field="body",
        ) from None
    try:
        raw = json.loads(decoded)
    except json.JSONDecodeError as err:
        raise ApiError(
            422, f"body: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}", field="body"
        ) from None
    if not isinstance(raw, dict):
        raise ApiError(
            422, f'body: expected a JSON object such as {{"text": "..."}}, got {_json_type(raw)}', field="body"
        )
    given = [name for name in ("text", "texts") if name in raw]
    if not given:
        raise ApiError(422, 'text: missing; send {"text": "..."} or {"texts": ["...", ...]}', field="text")
    if len(given) == 2:
        raise ApiError(422, 'texts: give either "text" or "texts", not both', field="texts")
    try:
        request = TagRequest.model_validate(raw)
    except ValidationError as err:
        problem = err.errors()[0]
        field = _field_name(problem["loc"])
        raise ApiError(422, f"{field}: {_describe(problem)}", field=field) from None
    texts = [request.text] if request.text is not None else list(request.texts or [])
    if request.text is None and request.texts is None:
        raise ApiError(422, f"{given[0]}: must be {_expected(given[0])}, got null", field=given[0])
    if len(texts) > settings.max_texts:
        raise ApiError(
            413, f"texts: {len(texts)} texts; the limit is {settings.max_texts} (--max-texts)", limit="max_texts"
        )
    for i, text in enumerate(texts):
        field = "text" if request.text is not None else f"texts[{i}]"
        if len(text) > settings.max_chars:
            raise ApiError(
                413,
                f"{field}: {len(text)} characters; the limit is {settings.max_chars} (--max-chars)",
                limit="max_chars",
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ApiError(
                422,
                f"{field}: an unpaired surrogate \\u{ord(text[err.start]):04x} at character {err.start} is not a "
                "Unicode character; send the text's real characters",
                field=field,
            ) from None
    return texts


def _field_name(loc: tuple) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def _expected(field: str) -> str:
    return "a string" if field == "text" else "a non-empty list of strings"


def _describe(problem: dict) -> str:
    kind, loc, value = problem["type"], problem["loc"], problem.get("input")
    if kind == "extra_forbidden":
        return 'unknown field; send {"text": "..."} or {"texts": ["...", ...]}'
    if kind == "too_short":
        return "must hold at least one text, got an empty list"
    if kind == "list_type":
        return f"must be a list of strings, got {_json_type(value)}"
    if kind == "string_type":
        return f"must be a string, got {_json_type(value)}"
    return f"{problem['msg']} (loc {list(loc)})"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
