"""Make docs/serve-page.png: serve checkpoints on a free loopback port, open the page in Debian's headless Chromium,
put an article in, submit, and save a screenshot of the whole page.

    python docs/serve_screenshot.py --checkpoint runs/sample-ner --topic-checkpoint runs/sample-topic

Needs the serve extra, selenium, and the `chromium` and `chromium-driver` Debian packages.
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--topic-checkpoint", type=Path)
    p.add_argument("--text", type=Path, default=sorted((ROOT / "seeds").glob("*.txt"))[0], help="the article shown")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "serve-page.png")
    p.add_argument("--width", type=int, default=1000)
    args = p.parse_args()

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from arabic_news import load
    from arabic_news.serve.app import create_app

    paths = [args.checkpoint] + ([args.topic_checkpoint] if args.topic_checkpoint else [])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server = uvicorn.Server(uvicorn.Config(create_app(load(*paths, device="cpu")), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="arabic-news-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={args.width},900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))
    try:
        driver.get(url)
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "models").text)
        driver.execute_script(
            "document.getElementById('text').value = arguments[0]", args.text.read_text(encoding="utf-8")
        )
        driver.find_element(By.ID, "submit").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state"))
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(args.width, height + 40)
        driver.save_screenshot(str(args.out))
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(30)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
