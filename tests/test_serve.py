"""`arabic-news serve` end to end: a real uvicorn server on a free 127.0.0.1 port, tiny checkpoints trained here
(`test_inference.tiny_checkpoint`, shared with that module), and real HTTP requests through urllib.

- the contract for good requests: each text's answer is the record `predict.py` writes for it;
- every bad request: its status and its message (422 naming the field, 413 naming the limit, 503 with Retry-After),
  and never a 500 or a traceback;
- micro-batching gives the same results as one-at-a-time serving, and concurrent clients get their own results;
- graceful shutdown finishes a request that is in flight; the command line binds 127.0.0.1 and stops on SIGTERM;
- the web page in headless Chromium (skipped, with the reason, when Debian's chromium or chromedriver is absent).

To hold a request inside the model (queue full, shutdown while busy), a `GatedTagger` waits on an event before it
predicts; the server, the batcher and the model code are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason='the serve extra is not installed: pip install -e ".[serve]"')
import uvicorn  # noqa: E402

from arabic_news import cli, load  # noqa: E402
from arabic_news.inference import NewsTagger  # noqa: E402
from arabic_news.serve.app import ServeSettings, create_app  # noqa: E402
from arabic_news.serve.batching import MicroBatcher, QueueFull  # noqa: E402

from .conftest import ROOT, sample_documents  # noqa: E402

SEED_TEXT = next(iter(sorted((ROOT / "seeds").glob("*.txt")))).read_text(encoding="utf-8")
TEXTS = [d.text for d in sample_documents()] + [SEED_TEXT]
SETTINGS = ServeSettings(
    max_batch=8, max_wait_ms=20, max_queue=64, max_texts=16, max_chars=5000, max_body_bytes=100_000
)


# ---- a live server and a client -------------------------------------------------------------------------------
class LiveServer:
    """uvicorn serving `app` in a thread on a socket bound to a free 127.0.0.1 port (bound here: no race)."""

    def __init__(self, app):
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        assert not self.thread.is_alive()

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def call(url: str, path: str, body=None, *, raw: bytes | None = None, headers=None, method=None):
    """(status, headers, parsed JSON or text) of one request; a JSON `body`, or `raw` bytes as they are."""
    data = raw if raw is not None else (None if body is None else json.dumps(body, ensure_ascii=False).encode())
    request = urllib.request.Request(url + path, data=data, headers=headers or {}, method=method)
    if data is not None and not (headers and "Content-Type" in headers):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, got_headers, payload = response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        status, got_headers, payload = err.code, err.headers, err.read()
    text = payload.decode("utf-8")
    if got_headers.get("Content-Type", "").startswith("application/json"):
        return status, got_headers, json.loads(text)
    return status, got_headers, text


def tag(url: str, body) -> list[dict]:
    status, _, answer = call(url, "/v1/tag", body)
    assert status == 200, answer
    return answer["results"]


def same_record(got: dict, want: dict) -> None:
    """Equal records, scores to 1e-4 (a text padded in a batch computes in another order than alone)."""
    assert got["text"] == want["text"]
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in got["entities"]] == [
        (e["start"], e["end"], e["label"], e["text"]) for e in want["entities"]
    ]
    assert [e["score"] for e in got["entities"]] == pytest.approx([e["score"] for e in want["entities"]], abs=1e-4)
    assert got.get("topic") == want.get("topic")
    assert got.get("topic_probabilities", {}) == pytest.approx(want.get("topic_probabilities", {}), abs=1e-4)


class GatedTagger(NewsTagger):
    """The real tagger, except that each prediction waits until `gate` is set (and says it has begun)."""

    def __init__(self, tagger: NewsTagger):
        super().__init__(tagger.ner, tagger.topic)
        self.gate, self.entered = threading.Event(), threading.Event()

    def pipe(self, texts, batch_size=32, chunk=256):
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return super().pipe(texts, batch_size, chunk)


def in_thread(fn, *args):
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", fn(*args)), daemon=True)
    thread.start()
    return thread, box


def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ---- fixtures ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tagger(ner_ckpt, topic_ckpt) -> NewsTagger:
    return load(ner_ckpt, topic_ckpt, device="cpu", dtype="fp32")  # bf16 scores move ~1e-4 with batch neighbours


@pytest.fixture(scope="module")
def server(tagger):
    with LiveServer(create_app(tagger, SETTINGS)) as live:
        yield live


@pytest.fixture(scope="module")
def one_at_a_time(tagger) -> dict[str, dict]:
    """Each text's record from a server that runs one text per forward pass (max_batch 1), asked one at a time."""
    with LiveServer(create_app(tagger, ServeSettings(max_batch=1, max_wait_ms=0))) as live:
        return {text: tag(live.url, {"text": text})[0] for text in TEXTS}


# ---- good requests ---------------------------------------------------------------------------------------------
def test_one_text_gives_the_record_predict_writes(server, tagger):
    (result,) = tag(server.url, {"text": SEED_TEXT})
    assert result == tagger(SEED_TEXT).to_document("0").to_dict()  # what predict.py writes for it, id aside
    assert result["entities"], "the tiny model finds entities in the seed article"
    for e in result["entities"]:
        assert SEED_TEXT[e["start"] : e["end"]] == e["text"] and 0 <= e["score"] <= 1
    assert set(result["topic_probabilities"]) == set(tagger.topic.labels)
    assert sum(result["topic_probabilities"].values()) == pytest.approx(1, abs=1e-4)


def test_several_texts_come_back_in_order(server):
    results = tag(server.url, {"texts": TEXTS[:5]})
    assert [r["id"] for r in results] == ["0", "1", "2", "3", "4"]
    assert [r["text"] for r in results] == TEXTS[:5]


def test_an_empty_text_is_tagged(server):
    (result,) = tag(server.url, {"texts": [""]})
    assert result["entities"] == [] and result["topic"]


def test_offsets_count_characters_of_the_text_as_sent(server):
    text = "😀 قال ماكرون في باريس"  # a character outside the BMP before the names
    for result in tag(server.url, {"text": text}):
        for e in result["entities"]:
            assert text[e["start"] : e["end"]] == e["text"]


def test_model_health_and_openapi(server, ner_ckpt, topic_ckpt):
    status, _, info = call(server.url, "/v1/model")
    assert status == 200
    by_task = {t["task"]: t for t in info["tasks"]}
    assert by_task["ner"]["checkpoint"] == ner_ckpt.name and by_task["topic"]["checkpoint"] == topic_ckpt.name
    assert set(by_task["ner"]["entity_types"]) == {"PERS", "LOC", "ORG", "MISC"}
    assert "B-PERS" in by_task["ner"]["labels"] and by_task["ner"]["preprocessing"]["granularity"] == "subword"
    assert by_task["ner"]["encoder"] and "scores" in by_task["topic"]
    assert info["limits"] == {"max_texts": 16, "max_chars": 5000, "max_body_bytes": 100_000}
    assert info["batching"] == {"max_batch": 8, "max_wait_ms": 20, "max_queue": 64}
    status, _, health = call(server.url, "/health")
    assert status == 200 and health["status"] == "ok" and health["queued"] == 0
    status, _, schema = call(server.url, "/openapi.json")
    assert status == 200
    body = schema["paths"]["/v1/tag"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"text", "texts"}
    assert {"TagResponse", "TagResult", "Entity", "ModelInfo", "ErrorAnswer"} <= set(schema["components"]["schemas"])
    assert {"413", "422", "503"} <= set(schema["paths"]["/v1/tag"]["post"]["responses"])
    status, _, docs = call(server.url, "/docs")
    assert status == 200 and "swagger" in docs.lower()


# ---- bad requests ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, status, field, fragment",
    [
        (b'{"text": "abc"', 422, "body", "body: invalid JSON at line 1 column 15"),
        ('{"text": "باريس"}'.encode("cp1256"), 422, "body", "body: byte 0xc8 at byte offset 10 is not valid UTF-8"),
        (b"", 422, "body", "body: invalid JSON"),
        (b"[1, 2]", 422, "body", "body: expected a JSON object"),
        (b"{}", 422, "text", "text: missing"),
        (b'{"txt": "a"}', 422, "text", "text: missing"),
        (b'{"text": 5}', 422, "text", "text: must be a string, got a number"),
        (b'{"text": null}', 422, "text", "text: must be a string, got null"),
        (b'{"texts": []}', 422, "texts", "texts: must hold at least one text, got an empty list"),
        (b'{"texts": "abc"}', 422, "texts", "texts: must be a list of strings, got a string"),
        (b'{"texts": ["a", 7]}', 422, "texts[1]", "texts[1]: must be a string, got a number"),
        (b'{"text": "a", "texts": ["b"]}', 422, "texts", 'texts: give either "text" or "texts", not both'),
        (b'{"text": "a", "lang": "ar"}', 422, "lang", "lang: unknown field"),
        (b'{"text": "\\ud800 abc"}', 422, "text", "text: an unpaired surrogate \\ud800 at character 0"),
    ],
    ids=[
        "invalid-json",
        "invalid-utf8",
        "empty-body",
        "not-an-object",
        "no-field",
        "misspelt-field",
        "text-not-a-string",
        "text-null",
        "empty-list",
        "texts-not-a-list",
        "texts-item-not-a-string",
        "both-fields",
        "unknown-field",
        "lone-surrogate",
    ],
)
def test_bad_request_gets_422_naming_the_field(server, raw, status, field, fragment):
    got, _, answer = call(server.url, "/v1/tag", raw=raw)
    assert got == status, answer
    assert answer["field"] == field
    assert answer["error"].startswith(fragment), answer["error"]
    assert "Traceback" not in json.dumps(answer)


@pytest.mark.parametrize(
    "body, limit, fragment",
    [
        ({"text": "ب" * 5001}, "max_chars", "text: 5001 characters; the limit is 5000 (--max-chars)"),
        ({"texts": ["a", "ب" * 5001]}, "max_chars", "texts[1]: 5001 characters; the limit is 5000 (--max-chars)"),
        ({"texts": ["a"] * 17}, "max_texts", "texts: 17 texts; the limit is 16 (--max-texts)"),
        ({"text": "a" * 100_001}, "max_body_bytes", "the request body is over the limit of 100000 bytes"),
    ],
    ids=["text-too-long", "one-of-the-texts-too-long", "too-many-texts", "body-too-big"],
)
def test_over_the_limit_gets_413_naming_the_limit(server, body, limit, fragment):
    status, _, answer = call(server.url, "/v1/tag", body)
    assert status == 413, answer
    assert answer["limit"] == limit and answer["error"].startswith(fragment), answer


def test_body_too_big_without_content_length_gets_413(server):
    """A chunked body (no Content-Length) is counted as it arrives."""
    chunks = iter([b'{"text": "', b"a" * 60_000, b"a" * 60_000, b'"}'])
    status, _, answer = call(server.url, "/v1/tag", raw=chunks, headers={"Content-Type": "application/json"})
    assert status == 413 and answer["limit"] == "max_body_bytes"


def test_unknown_path_and_wrong_method_get_json_errors(server):
    status, _, answer = call(server.url, "/v2/tag", {"text": "a"})
    assert status == 404 and answer == {"error": "Not Found"}
    status, _, answer = call(server.url, "/v1/tag")
    assert status == 405 and answer == {"error": "Method Not Allowed"}


def test_queue_full_gets_503_with_retry_after(tagger):
    gated = GatedTagger(tagger)
    settings = ServeSettings(max_batch=1, max_wait_ms=0, max_queue=1, max_texts=1)
    with LiveServer(create_app(gated, settings)) as live:
        first, first_box = in_thread(tag, live.url, {"text": TEXTS[0]})
        assert gated.entered.wait(10)  # the first text is in the model
        second, second_box = in_thread(tag, live.url, {"text": TEXTS[1]})
        wait_until(lambda: live.app.state.batcher.queued == 1)  # the second fills the queue
        status, headers, answer = call(live.url, "/v1/tag", {"text": TEXTS[2]})
        assert status == 503 and headers["Retry-After"] == "1"
        assert answer["limit"] == "max_queue" and "busy" in answer["error"] and "retry after 1 s" in answer["error"]
        gated.gate.set()
        first.join(30), second.join(30)
        assert first_box["value"][0]["text"] == TEXTS[0] and second_box["value"][0]["text"] == TEXTS[1]
        assert tag(live.url, {"text": TEXTS[2]})[0]["text"] == TEXTS[2]  # served again once the queue drained


def test_graceful_shutdown_finishes_the_request_in_flight(tagger):
    gated = GatedTagger(tagger)
    live = LiveServer(create_app(gated, ServeSettings(max_batch=4, max_wait_ms=0)))
    request, box = in_thread(tag, live.url, {"text": SEED_TEXT})
    assert gated.entered.wait(10)
    live.server.should_exit = True  # what uvicorn does on SIGINT/SIGTERM
    time.sleep(0.3)
    assert request.is_alive(), "the request must still be waiting for the model"
    gated.gate.set()
    request.join(30)
    assert box["value"][0]["text"] == SEED_TEXT and box["value"][0]["entities"]
    live.thread.join(30)
    assert not live.thread.is_alive()


def test_a_model_failure_gets_a_json_500_and_the_server_goes_on(tagger):
    class FailingTagger(NewsTagger):
        def pipe(self, texts, batch_size=32, chunk=256):
            if "boom" in texts:
                raise RuntimeError("the model broke")
            return super().pipe(texts, batch_size, chunk)

    with LiveServer(create_app(FailingTagger(tagger.ner, tagger.topic), ServeSettings(max_wait_ms=0))) as live:
        status, _, answer = call(live.url, "/v1/tag", {"text": "boom"})
        assert status == 500 and answer == {"error": "the server failed: RuntimeError; see its log"}
        assert tag(live.url, {"text": TEXTS[0]})[0]["text"] == TEXTS[0]


# ---- micro-batching and concurrency ----------------------------------------------------------------------------
def test_micro_batching_gives_the_same_results_as_one_at_a_time(tagger, one_at_a_time):
    with LiveServer(create_app(tagger, ServeSettings(max_batch=16, max_wait_ms=200))) as live:
        start = threading.Barrier(len(TEXTS))

        def client(text: str) -> dict:
            start.wait()
            return tag(live.url, {"text": text})[0]

        with ThreadPoolExecutor(len(TEXTS)) as pool:
            batched = list(pool.map(client, TEXTS))
        stats = live.app.state.batcher.stats
    assert stats.largest_batch > 1 and stats.batches < len(TEXTS), "requests were gathered into shared batches"
    for text, result in zip(TEXTS, batched):
        same_record(result, one_at_a_time[text])


def test_concurrent_clients_get_their_own_results(server, one_at_a_time):
    """16 clients, each sending its own texts (single texts and lists, in its own order) several times."""

    def client(k: int) -> list[tuple[str, dict]]:
        mine = [TEXTS[(k + j) % len(TEXTS)] for j in range(3)]
        got = []
        for _ in range(3):
            got += [(text, tag(server.url, {"text": text})[0]) for text in mine]
            got += list(zip(mine[::-1], tag(server.url, {"texts": mine[::-1]})))
        return got

    with ThreadPoolExecutor(16) as pool:
        answers = [pair for pairs in pool.map(client, range(16)) for pair in pairs]
    assert len(answers) == 16 * 3 * 6
    for text, result in answers:
        same_record(result, one_at_a_time[text])


def test_batcher_fills_batches_up_to_max_batch_and_keeps_each_requests_order():
    batches: list[list[str]] = []

    def predict(texts: list[str]) -> list[str]:
        batches.append(list(texts))
        return [t.upper() for t in texts]

    async def five_requests():
        batcher = MicroBatcher(predict, max_batch=3, max_wait_ms=100, max_queue=100)
        await batcher.start()
        results = await asyncio.gather(*(batcher.submit([f"a{i}", f"b{i}"]) for i in range(5)))
        await batcher.stop()
        return results

    assert asyncio.run(five_requests()) == [[f"A{i}", f"B{i}"] for i in range(5)]
    assert [len(b) for b in batches] == [3, 3, 3, 1]  # full batches at once; the rest after max_wait


def test_batcher_admits_a_request_whole_or_not_at_all_and_drains_on_stop():
    gate, entered = threading.Event(), threading.Event()

    def predict(texts: list[str]) -> list[str]:
        entered.set()
        gate.wait(10)
        return list(texts)

    async def scenario():
        batcher = MicroBatcher(predict, max_batch=1, max_wait_ms=0, max_queue=3)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit(["x"]))
        while not entered.is_set():  # until the worker has taken "x" into the model
            await asyncio.sleep(0.001)
        queued = asyncio.ensure_future(batcher.submit(["y", "z"]))
        await asyncio.sleep(0)
        with pytest.raises(QueueFull):
            await batcher.submit(["u", "v"])  # 2 + 2 > 3: none of its texts is queued
        assert batcher.queued == 2
        last = asyncio.ensure_future(batcher.submit(["w"]))  # 2 + 1 fits
        await asyncio.sleep(0)
        gate.set()
        await batcher.stop()  # finishes every queued text first
        return await first, await queued, await last

    assert asyncio.run(scenario()) == (["x"], ["y", "z"], ["w"])


# ---- the web page in a real browser -----------------------------------------------------------------------------
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium(user_data_dir: Path, width: int = 1200, height: int = 900):
    """Debian's headless Chromium through its chromedriver (never a downloaded one: no Selenium Manager)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


@pytest.fixture
def browser(tmp_path):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        reason = f"{' and '.join(missing)} not found: apt-get install chromium chromium-driver (.ci/run does)"
        print(f"skipped: {reason}")
        pytest.skip(reason)
    pytest.importorskip("selenium", reason='selenium is not installed: pip install -e ".[test]"')
    driver = chromium(tmp_path / "chromium-profile")
    yield driver
    driver.quit()


def test_page_shows_the_api_entities_right_to_left_in_chromium(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "models").text)  # GET /v1/model answered
    textarea = browser.find_element(By.ID, "text")
    upload = tmp_path / "article.txt"
    upload.write_text(TEXTS[0], encoding="utf-8")
    browser.find_element(By.ID, "file").send_keys(str(upload))  # a file upload fills the text box
    WebDriverWait(browser, 10).until(lambda d: textarea.get_property("value") == TEXTS[0])
    textarea.clear()
    textarea.send_keys(SEED_TEXT)  # typed, key by key
    assert textarea.get_property("value") == SEED_TEXT
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state"))

    (api,) = tag(server.url, {"text": SEED_TEXT})
    marks = browser.find_elements(By.CSS_SELECTOR, "#entities mark.entity")
    shown = [m.find_element(By.CLASS_NAME, "entity-text").get_property("textContent") for m in marks]
    assert shown == [e["text"] for e in api["entities"]] and shown
    assert [m.get_attribute("data-label") for m in marks] == [e["label"] for e in api["entities"]]
    assert [int(m.get_attribute("data-start")) for m in marks] == [e["start"] for e in api["entities"]]
    article_text = browser.execute_script(
        "return Array.from(document.getElementById('entities').childNodes)"
        ".map(n => n.nodeType === 3 ? n.textContent : n.querySelector('.entity-text').textContent).join('')"
    )
    assert article_text == SEED_TEXT  # the highlighted view holds the whole text, in order
    labels = {m.find_element(By.CLASS_NAME, "entity-label").text.split()[0] for m in marks}
    legend = {s.text for s in browser.find_elements(By.CSS_SELECTOR, "#legend .legend-item")}
    assert labels <= legend
    bars = browser.find_elements(By.CSS_SELECTOR, "#topic-bars li")
    assert len(bars) == len(api["topic_probabilities"])
    assert browser.find_element(By.ID, "topic").get_property("textContent").startswith(api["topic"])
    shown_json = json.loads(browser.find_element(By.ID, "json").get_property("textContent"))
    assert shown_json == {"results": [api]}
    browser.set_window_size(390, 844)  # a phone: nothing wider than the screen
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


# ---- the command line --------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_command_binds_loopback_and_stops_on_sigterm(ner_ckpt):
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "arabic_news", "serve", "--checkpoint", str(ner_ckpt), "--port", str(port)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the server did not come up"
            try:
                if call(url, "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        (result,) = tag(url, {"text": SEED_TEXT})
        assert result["entities"] and "topic" not in result  # an NER checkpoint only
        status, _, info = call(url, "/v1/model")
        assert [t["task"] for t in info["tasks"]] == ["ner"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    # uvicorn finishes its graceful shutdown, then re-raises the signal, so the exit says "ended by SIGTERM"
    assert process.returncode in (0, -signal.SIGTERM), err
    assert f"Uvicorn running on http://127.0.0.1:{port}" in err
    assert "Application shutdown complete" in err
    assert "Traceback" not in err


def test_serve_settings_that_cannot_work_are_refused(ner_ckpt, capsys):
    assert cli.main(["serve", "--checkpoint", str(ner_ckpt), "--max-queue", "4", "--max-texts", "8"]) == 1
    err = capsys.readouterr().err
    assert "error: --max-texts 8 is larger than --max-queue 4" in err and "Fix: " in err


def test_missing_serve_extra_names_it(ner_ckpt):
    code = (
        "import sys; sys.modules['fastapi'] = None; from arabic_news.cli import main; "
        f"sys.exit(main(['serve', '--checkpoint', {str(ner_ckpt)!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "error: serving needs fastapi, which is not installed" in done.stderr
    assert 'pip install -e ".[serve]"' in done.stderr and "Traceback" not in done.stderr
