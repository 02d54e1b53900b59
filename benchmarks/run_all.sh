#!/usr/bin/env bash
# Every benchmark figure, one after another (each uses all cores); logs in runs/bench-logs/. About 2.5 hours on
# the 2-core development CPU. Corpora: DATA_DIR=DIR benchmarks/run_all.sh --data-dir DIR (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/bench-logs
run() { name=$1; shift; echo "== $name: $*"; "$@" 2>&1 | tee "runs/bench-logs/$name.log" | grep -v '%|' || return 1; }
# quality first (their figures do not depend on a quiet machine), speed last
run anercorp_model python -m benchmarks.anercorp --systems model --seeds 42 43 44 "$@"
run anercorp_crf   python -m benchmarks.anercorp --systems crf "$@"
run train_memory   python -m benchmarks.train_memory "$@"
run ant_model      python -m benchmarks.ant --systems model --seeds 42 43 44 "$@"
run ant_baselines  python -m benchmarks.ant --systems svm lr "$@"
run fusion_rules   python -m benchmarks.fusion_rules --checkpoints runs/ant-e5-lexical-seed42 runs/ant-e5-lexical-seed43 runs/ant-e5-lexical-seed44 "$@"
run main_job_ner   python -m benchmarks.main_job --seeds 42 43 44
run main_job_topic python -m benchmarks.main_job --config configs/sample-topic.yaml --seeds 42 43 44
run train_step     python -m benchmarks.train_step
run vocab_trim     python -m benchmarks.vocab_trim
run attention_dropout python -m benchmarks.attention_dropout
run frozen_cache   python -m benchmarks.frozen_cache
run inference      python -m benchmarks.inference_speed --checkpoint runs/anercorp-e5-seed42 --data "${DATA_DIR:-../shared/data}/anercorp/test.conll"
run training_speed python -m benchmarks.training_speed "$@"
run conll_speed    python -m benchmarks.conll_speed
