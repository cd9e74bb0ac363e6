#!/usr/bin/env bash
# Every set the issue-23 before/after tables report, scored with `rag eval` into evals/reports/issue23/$1/.
# Usage: bash evals/issue23_sets.sh before|after
set -u
cd "$(dirname "$0")/.."
out=evals/reports/issue23/$1
mkdir -p "$out"
F18=../shared/corpora/18f-handbook/pages
OSIO=../shared/corpora/training/osiolabs-handbook/pages
run() { name=$1; shift; .venv/bin/rag eval "$@" --json "$out/$name.json" > "$out/$name.txt" 2>&1; }
run guide_blind3 --dataset evals/datasets/guide_blind3.jsonl
run shapes_blind2 --dataset evals/datasets/shapes_blind2.jsonl
run golden --dataset evals/golden.jsonl
run shapes --dataset evals/datasets/shapes.jsonl
run fresh2 --dataset evals/datasets/fresh2.jsonl
run external --dataset evals/datasets/external.jsonl
run 18f_tune --dataset evals/datasets/18f.jsonl --corpus $F18 --split tune
run 18f_heldout --dataset evals/datasets/18f.jsonl --corpus $F18 --split heldout
run osiolabs --dataset evals/training/osiolabs.jsonl --corpus $OSIO
