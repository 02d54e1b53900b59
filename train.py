"""Entry point: `python train.py --help` (the same as `arabic-news train`)."""

import sys

from arabic_news.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
