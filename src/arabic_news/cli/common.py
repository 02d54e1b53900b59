"""What every subcommand shares: the exit status for a handled error, and logging set up once."""

from __future__ import annotations

import logging

EXIT_ERROR = 1


def setup_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("arabic_news").setLevel(logging.INFO)
