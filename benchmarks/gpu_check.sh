#!/usr/bin/env bash
# GPU check, for a person with one CUDA GPU (no GPU was lent to the work that wrote this script, so no GPU figures
# are recorded in the repository yet). From the repository root, in the project's environment:
#
#     python3 -m venv .venv && . .venv/bin/activate && pip install -q torch==2.13.0 -e .   # PyPI's CUDA build
#     bash benchmarks/gpu_check.sh            # a few minutes on a recent GPU
#
# It trains the two sample configs in bf16 on the GPU (runs/gpu-sample-ner, runs/gpu-sample-topic), evaluates them
# on the sample dev set, and times inference (fp32 and bf16, batch 64) on 2,000 sample articles through
# `predict.py` (the tagging phase's documents/s from its summary line). Every figure goes into
# benchmarks/results/gpu_check.json, with the GPU's name and the library versions; logs go to runs/gpu-check/.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
out=runs/gpu-check
mkdir -p "$out"
python - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("error: torch sees no CUDA GPU (torch.cuda.is_available() is False). Fix: run on a GPU machine with a CUDA build of torch")
print("GPU:", torch.cuda.get_device_name(0), "| bf16:", torch.cuda.is_bf16_supported())
PY

for task in ner topic; do
  start=$SECONDS
  python train.py "configs/sample-$task.yaml" --set training.output_dir=runs/gpu-sample-$task \
      --set training.bf16=true --overwrite > "$out/train-$task.log" 2>&1
  echo $((SECONDS - start)) > "$out/train-$task.seconds"
  python evaluate.py --checkpoint runs/gpu-sample-$task --data data/sample/dev.jsonl --out "$out/eval-$task" \
      > "$out/eval-$task.log" 2>&1
done

python - <<'PY'
import json
texts = [json.loads(l)["text"] for s in ("train", "dev") for l in open(f"data/sample/{s}.jsonl", encoding="utf-8") if l.strip()]
with open("runs/gpu-check/articles.jsonl", "w", encoding="utf-8") as f:
    for i in range(2000):
        f.write(json.dumps({"id": f"a{i:05d}", "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n")
PY
for dtype in fp32 bf16; do
  python predict.py --checkpoint runs/gpu-sample-ner --topic-checkpoint runs/gpu-sample-topic \
      --input "$out/articles.jsonl" --output "$out/tagged-$dtype.jsonl" --device cuda --dtype "$dtype" \
      --batch-size 64 --overwrite 2> "$out/predict-$dtype.log"
done

python - <<'PY'
import json, re, platform
from pathlib import Path
import torch, transformers
out = Path("runs/gpu-check")
def report(task):
    data = json.loads((out / f"eval-{task}" / "report.json").read_text(encoding="utf-8"))[task]
    if task == "ner":
        return {"micro_f1": data["micro"]["f1"], "micro_f1_ci95": data["micro"].get("ci95")}
    return {"accuracy": data["accuracy"], "macro_f1": data["macro_f1"]}
def rate(dtype):
    last = [l for l in (out / f"predict-{dtype}.log").read_text(encoding="utf-8").replace("\r", "\n").splitlines() if l.startswith("wrote ")]
    m = re.search(r"in ([\d.]+) s, ([\d.]+) documents/s", last[-1]) if last else None
    return {"summary": last[-1] if last else None, "documents_per_second": float(m[2]) if m else None}
figures = {
    "gpu": torch.cuda.get_device_name(0),
    "torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version(),
    "train_seconds_bf16": {t: int((out / f"train-{t}.seconds").read_text()) for t in ("ner", "topic")},
    "dev_scores": {t: report(t) for t in ("ner", "topic")},
    "inference_2000_articles_ner_and_topic": {d: rate(d) for d in ("fp32", "bf16")},
}
Path("benchmarks/results/gpu_check.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
print(json.dumps(figures, indent=2, ensure_ascii=False))
PY
