"""Load on `arabic-news serve` over loopback: micro-batching against one-at-a-time serving.

    python -m benchmarks.serve_load --checkpoint runs/sample-ner --out benchmarks/results/serve_load.json

For each mode (`batched`: --max-batch 32 --max-wait-ms 5; `one_at_a_time`: --max-batch 1) a server is started as
its own process (`python -m arabic_news serve`, on a free 127.0.0.1 port), then, for each kind of text and each
number of concurrent clients (1, 4, 16), the clients (threads, each with its own keep-alive connection) send
`POST /v1/tag {"text": ...}` until --requests requests are answered or --seconds have passed, whichever comes first.
Texts: `seed` is the seed article (seeds/, 342 words); `short` the first sentence of each article of
data/sample/dev.jsonl (about 40 words). One untimed request per client warms each configuration up.

Figures per configuration: requests/s and words/s (words of the texts answered, whitespace-split), latency
p50/p95/p99 in ms, errors (any answer but 200, or a failed connection), and the server's resident set size (VmRSS)
after it and its peak (VmHWM). With --long N, the batched server then answers N short requests from 16 clients and
its VmRSS is sampled every 500 requests, to show whether memory grows with the number of requests served.

Before any server starts, the model alone (`arabic_news.load` in this process, the server's threads and dtype) tags
the same texts one at a time and in batches of 16 (`NewsTagger.pipe`): the words/s ratio of the two is what
batching gives the model itself on this hardware, with no HTTP at all. The servers' ratio at 16 clients can exceed it,
because one-at-a-time serving also does each request's HTTP work in series with the model.

Everything is bounded (request count and time per configuration) and the servers are stopped by the script (SIGTERM,
then SIGKILL after 30 s), also when it fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common import (
    REPO_ROOT,
    RESULTS_DIR,
    median,
    print_table,
    repo_relative,
    run_main,
    setup_logging,
    timed,
    write_results,
)

MODES = {"batched": ["--max-batch", "32", "--max-wait-ms", "5"], "one_at_a_time": ["--max-batch", "1"]}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, type=Path, help="an NER (or topic) checkpoint folder")
    p.add_argument("--topic-checkpoint", type=Path)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--modes", nargs="+", choices=tuple(MODES), default=list(MODES))
    p.add_argument("--requests", type=int, default=200, help="requests per configuration (at most)")
    p.add_argument("--seconds", type=float, default=20.0, help="time per configuration (at most)")
    p.add_argument("--long", type=int, default=0, metavar="N", help="then N short requests for the RSS trend")
    p.add_argument("--threads", type=int, help="the server's torch threads (default: torch's choice)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of the model-alone measurement (median)")
    p.add_argument("--out", type=Path, default=Path(os.path.relpath(RESULTS_DIR / "serve_load.json")))
    return p.parse_args(argv)


def texts() -> dict[str, list[str]]:
    seed = [path.read_text(encoding="utf-8") for path in sorted((REPO_ROOT / "seeds").glob("*.txt"))]
    short = []
    for line in (REPO_ROOT / "data" / "sample" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        short.append(text.split(".")[0].strip() + ".")
    return {"seed": seed, "short": short}


# ---- the server process ------------------------------------------------------------------------------------------
class ServerProcess:
    def __init__(self, args: argparse.Namespace, mode: str):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        argv = [sys.executable, "-m", "arabic_news", "serve", "--checkpoint", str(args.checkpoint)]
        if args.topic_checkpoint:
            argv += ["--topic-checkpoint", str(args.topic_checkpoint)]
        if args.threads:
            argv += ["--threads", str(args.threads)]
        argv += ["--port", str(self.port), "--max-queue", "4096", *MODES[mode]]
        self.log = open(os.devnull, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 180
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"error: the server exited with status {self.process.returncode}: {' '.join(argv)}")
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("error: the server did not answer /health within 180 s")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                time.sleep(0.3)

    def memory_kb(self) -> dict[str, int]:
        status = Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
        return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in status) if k in ("VmRSS", "VmHWM")}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# ---- the clients -------------------------------------------------------------------------------------------------
def load(port: int, pool: list[str], clients: int, requests: int, seconds: float, on_answer=None) -> dict:
    """`clients` threads send texts from `pool` (round robin) until `requests` are answered or `seconds` pass."""
    lock = threading.Lock()
    state = {"sent": 0, "errors": 0, "words": 0}
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def client(k: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        n = k
        while time.monotonic() < deadline:
            with lock:
                if state["sent"] >= requests:
                    break
                state["sent"] += 1
            text = pool[n % len(pool)]
            n += clients
            body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
            started = time.perf_counter()
            try:
                connection.request("POST", "/v1/tag", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
                ok = response.status == 200 and json.loads(answer)["results"][0]["text"] == text
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                state["errors"] += not ok
                state["words"] += len(text.split()) if ok else 0
                done = len(latencies)
            if on_answer is not None:
                on_answer(done)
        connection.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": state["errors"],
        "seconds": round(wall, 3),
        "requests_per_s": round(len(latencies) / wall, 2),
        "words_per_s": round(state["words"] / wall, 1),
        "latency_ms": {f"p{q}": round(1000 * percentile(latencies, q), 1) for q in (50, 95, 99)},
    }


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


# ---- main --------------------------------------------------------------------------------------------------------
def main() -> int:
    args = parse_args()
    setup_logging()
    pools = texts()
    sections: dict[str, dict] = {"model_alone": model_alone(args, pools, batch=max(args.clients))}
    for mode in args.modes:
        server = ServerProcess(args, mode)
        try:
            runs = []
            for kind, pool in pools.items():
                for clients in args.clients:
                    load(server.port, pool, clients, requests=clients, seconds=5)  # warm-up, not counted
                    figures = load(server.port, pool, clients, args.requests, args.seconds)
                    memory = server.memory_kb()
                    figures.update(texts=kind, rss_mb=round(memory["VmRSS"] / 1024, 1))
                    runs.append(figures)
                    print(f"{mode} {kind} clients={clients}: {json.dumps(figures)}", flush=True)
            section = {"server_flags": MODES[mode], "runs": runs, "peak_rss_mb": None}
            if mode == "batched" and args.long:
                section["long_run"] = long_run(server, pools["short"], args.long)
            section["peak_rss_mb"] = round(server.memory_kb()["VmHWM"] / 1024, 1)
            sections[mode] = section
        finally:
            server.stop()
    sections["data"] = {
        "checkpoint": repo_relative(args.checkpoint),
        "topic_checkpoint": repo_relative(args.topic_checkpoint) if args.topic_checkpoint else None,
        "texts": {
            kind: {"count": len(pool), "words": sum(len(t.split()) for t in pool)} for kind, pool in pools.items()
        },
        "requests_per_configuration": args.requests,
        "seconds_per_configuration": args.seconds,
        "server_threads": args.threads,
    }
    headline = {}
    if "batched" in sections and "one_at_a_time" in sections:
        headline["speedup_words_per_s_16_clients"] = speedups(sections, max(args.clients))
    headline["model_alone_batching_speedup"] = {
        kind: figures["speedup"] for kind, figures in sections["model_alone"]["texts"].items()
    }
    print_tables(sections, args.modes)
    write_results(args.out, "serve_load", sections, headline)
    return 0


def model_alone(args: argparse.Namespace, pools: dict[str, list[str]], batch: int) -> dict:
    """Words/s of the model in this process, one text a call against `batch` texts a call, on the same texts: what
    batching gives with no server, queue or HTTP in the way."""
    import torch

    from arabic_news import load as load_model
    from arabic_news.cli.common import checkpoint_paths

    if args.threads:
        torch.set_num_threads(args.threads)
    tagger = load_model(*checkpoint_paths(args))  # the server's defaults: dtype "auto", the engine's device
    figures = {}
    for kind, pool in pools.items():
        figures[kind] = batching_speedup(tagger, [pool[i % len(pool)] for i in range(batch)], args.rounds)
        print(f"model alone, {kind}: {json.dumps(figures[kind])}", flush=True)
    return {"batch": batch, "rounds": args.rounds, "threads": args.threads or torch.get_num_threads(), "texts": figures}


def batching_speedup(tagger, texts: list[str], rounds: int) -> dict:
    """`texts` (one full batch, as 16 clients would fill it) tagged one a call and all in one call, alternating."""
    words = sum(len(t.split()) for t in texts)
    list(tagger.pipe(texts, batch_size=len(texts)))  # warm-up
    rates: dict[str, list[float]] = {"one_at_a_time": [], "batched": []}
    for _ in range(rounds):  # alternating, so that drift on a shared machine hits both
        _, single = timed(lambda: [list(tagger.pipe([t])) for t in texts])
        _, batched = timed(lambda: list(tagger.pipe(texts, batch_size=len(texts))))
        rates["one_at_a_time"].append(words / single)
        rates["batched"].append(words / batched)
    rate = {mode: round(median(values), 1) for mode, values in rates.items()}
    return {
        "texts": len(texts),
        "words": words,
        "words_per_s": rate,
        "speedup": round(rate["batched"] / rate["one_at_a_time"], 2),
    }


def long_run(server: ServerProcess, pool: list[str], n: int) -> dict:
    samples = [{"requests": 0, "rss_mb": round(server.memory_kb()["VmRSS"] / 1024, 1)}]
    lock = threading.Lock()

    def sample(done: int) -> None:
        if done % 500 == 0:
            with lock:
                samples.append({"requests": done, "rss_mb": round(server.memory_kb()["VmRSS"] / 1024, 1)})

    figures = load(server.port, pool, 16, n, seconds=600, on_answer=sample)
    figures["rss_samples"] = samples
    rss = [s["rss_mb"] for s in samples[1:]] or [samples[0]["rss_mb"]]
    figures["rss_growth_mb_after_first_500"] = round(rss[-1] - rss[0], 1)
    print(f"long run: {json.dumps(figures)}", flush=True)
    return figures


def speedups(sections: dict, clients: int) -> dict[str, float]:
    out = {}
    for kind in ("seed", "short"):
        rate = {
            mode: next(
                r["words_per_s"] for r in sections[mode]["runs"] if r["texts"] == kind and r["clients"] == clients
            )
            for mode in ("batched", "one_at_a_time")
        }
        out[kind] = round(rate["batched"] / rate["one_at_a_time"], 2) if rate["one_at_a_time"] else None
    return out


def print_tables(sections: dict, modes: list[str]) -> None:
    rows = [
        [
            mode,
            r["texts"],
            r["clients"],
            r["requests"],
            r["requests_per_s"],
            r["words_per_s"],
            r["latency_ms"]["p50"],
            r["latency_ms"]["p95"],
            r["latency_ms"]["p99"],
            r["errors"],
            r["rss_mb"],
        ]
        for mode in modes
        for r in sections[mode]["runs"]
    ]
    header = ["mode", "texts", "clients", "requests", "req/s", "words/s", "p50 ms", "p95 ms", "p99 ms", "errors"]
    print_table("Serving over loopback", [*header, "RSS MB"], rows)
    alone = sections["model_alone"]
    print_table(
        f"The model alone, batches of {alone['batch']} against one text a call (median of {alone['rounds']})",
        ["texts", "words", "one at a time words/s", "batched words/s", "speedup"],
        [
            [kind, f["words"], f["words_per_s"]["one_at_a_time"], f["words_per_s"]["batched"], f["speedup"]]
            for kind, f in alone["texts"].items()
        ],
    )


if __name__ == "__main__":
    run_main(main)
