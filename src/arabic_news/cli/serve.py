"""`arabic-news serve`: the HTTP API and the web page over one or two checkpoints (needs the `serve` extra)."""

from __future__ import annotations

import sys
from pathlib import Path

from .common import add_engine_options, load_tagger

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve checkpoints over HTTP (JSON API and a web page)",
        description="Serve an NER and/or topic checkpoint: POST /v1/tag, GET /v1/model, GET /health, the page at /, "
        "OpenAPI docs at /docs. Needs the serve extra: pip install -e '.[serve]'.",
    )
    p.add_argument("--checkpoint", required=True, type=Path, help="an NER or topic checkpoint folder")
    p.add_argument("--topic-checkpoint", type=Path, help="a second checkpoint (the topic model)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-batch", type=int, default=32, help="texts per forward pass (1: one request at a time)")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a text waits for a fuller batch")
    p.add_argument("--max-queue", type=int, default=1024, help="texts that may wait; beyond it requests get 503")
    p.add_argument("--max-texts", type=int, default=256, help="texts per request (413 beyond)")
    p.add_argument("--max-chars", type=int, default=100_000, help="characters per text (413 beyond)")
    p.add_argument("--max-body-bytes", type=int, default=8 * 1024 * 1024, help="bytes per request body (413 beyond)")
    add_engine_options(p)
    p.set_defaults(run=run_serve)


def run_serve(args) -> int:
    from ..serve import require_serve_extra

    require_serve_extra()  # before the models load: a missing extra is said at once
    import torch
    import uvicorn

    from ..serve.app import ServeSettings, create_app

    settings = ServeSettings(
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        max_queue=args.max_queue,
        max_texts=args.max_texts,
        max_chars=args.max_chars,
        max_body_bytes=args.max_body_bytes,
    )
    if args.threads:
        torch.set_num_threads(args.threads)
    tagger = load_tagger(args)
    if args.host not in LOOPBACK:
        print(
            f"warning: serving on {args.host}: anyone who can reach this address can use the API (no authentication)",
            file=sys.stderr,
        )
    uvicorn.run(create_app(tagger, settings), host=args.host, port=args.port, log_level="info")
    return 0
