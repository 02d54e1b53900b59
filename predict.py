"""Entry point: `python predict.py --help` (the same as `arabic-news predict`)."""

import sys

from arabic_news.cli import main

if __name__ == "__main__":
    sys.exit(main(["predict", *sys.argv[1:]]))
