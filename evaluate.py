"""Entry point: `python evaluate.py --help` (the same as `arabic-news evaluate`)."""

import sys

from arabic_news.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
