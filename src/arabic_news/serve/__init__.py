"""The HTTP server: `arabic-news serve` puts a NewsTagger behind a small JSON API with micro-batching, and serves a
web page that shows the entities and the topic of a pasted article.

- `app.py`: `create_app(tagger, ServeSettings(...))`, the FastAPI app (typed request/response models, limits, the
  error answers) and the page's routes;
- `batching.py`: `MicroBatcher`, which gathers concurrent requests' texts into one forward pass off the event loop;
- `page/`: the page's HTML, CSS and JavaScript, served as they are (no build step, nothing from a CDN).

FastAPI and uvicorn are an optional extra: `require_serve_extra()` says which to install when they are missing.
"""

from __future__ import annotations

from ..errors import ArabicNewsError

SERVE_EXTRA_HINT = 'pip install -e ".[serve]" (or pip install "arabic-news[serve]"), which adds fastapi and uvicorn'


def require_serve_extra() -> None:
    """Raise a one-line error naming the `serve` extra when FastAPI or uvicorn is not installed."""
    import importlib.util

    missing = [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise ArabicNewsError(
            f"serving needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed",
            hint=SERVE_EXTRA_HINT,
        )
