#!/usr/bin/env bash
# Every benchmark figure, one after another (each uses all cores); logs in runs/bench-logs/. About 80 minutes on
# the 2-core development CPU. Corpora: DATA_DIR=DIR benchmarks/run_all.sh --data-dir DIR (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/bench-logs
run() { name=$1; shift; echo "== $name: $*"; "$@" 2>&1 | tee "runs/bench-logs/$name.log" | grep -v '%|' || return 1; }
# quality first (their figures do not depend on a quiet machine), speed last
run anercorp_model python benchmarks/anercorp.py --systems model "$@"
run anercorp_crf   python benchmarks/anercorp.py --systems crf "$@"
run ant_model      python benchmarks/ant.py --systems model "$@"
run ant_svm        python benchmarks/ant.py --systems svm "$@"
run train_step     python benchmarks/train_step.py
run inference      python benchmarks/inference_speed.py --checkpoint runs/anercorp-e5-seed42 --data "${DATA_DIR:-../shared/data}/anercorp/test.conll"
run training_speed python benchmarks/training_speed.py "$@"
