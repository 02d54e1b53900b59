"""`python -m arabic_news ...` runs the command line."""

from .cli import main

raise SystemExit(main())
