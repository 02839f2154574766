#!/usr/bin/env bash
# Images per second of each model variant on 1 intra-op thread, same images, same run:
# read, decode, detect, best face, align, embed (examples/bench_pipeline), and the attack
# model alone on the same faces (examples/pipeline_timing is per stage; this is per variant).
#
# usage: crates/face/bench/variants.sh SHARED_DIR INT8_DIR [IMAGES=300] [ROUNDS=2]
#   SHARED_DIR  holds models/ (InsightFace files, evaluation only) and datasets/lfw/
#   INT8_DIR    the output of tools/build_int8.sh
# Prints one markdown row per variant (best round).
set -euo pipefail
SHARED=$(cd "${1:?usage: variants.sh SHARED_DIR INT8_DIR [IMAGES] [ROUNDS]}" && pwd)
INT8=$(cd "${2:?}" && pwd)
IMAGES=${3:-300}
ROUNDS=${4:-2}
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$REPO/.cache/onnxruntime/1.31.1/libonnxruntime.so.1.31.1}
(cd "$REPO" && cargo build -q --release -p face --example bench_pipeline)
BENCH=${CARGO_TARGET_DIR:-$REPO/target}/release/examples/bench_pipeline
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
for manifest in scrfd_500m_320 w600k_mbf; do
  sed "s|^path = \".*/shared/models/|path = \"$SHARED/models/|" \
    "$REPO/crates/face/eval-manifests/$manifest.toml" > "$WORK/$manifest.toml"
done
tail -n +2 "$SHARED/datasets/lfw/pairs_available.tsv" | cut -f2,3 | tr '\t' '\n' \
  | awk -v limit="$IMAGES" -v root="$SHARED/datasets/lfw/images/" '!seen[$0]++ && count++ < limit { print root $0 }' \
  > "$WORK/images.txt"
echo "images: $(wc -l < "$WORK/images.txt"), rounds: $ROUNDS, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| detector | embedder | images/s (1 thread) | inside ONNX Runtime % |"
echo "|---|---|---|---|"
while read -r detector embedder; do
  best=0; share=0
  for round in $(seq "$ROUNDS"); do
    json=$("$BENCH" --detector "$detector" --embedder "$embedder" --list "$WORK/images.txt" --threads 1)
    rate=$(echo "$json" | sed 's/.*"images_per_second": \([0-9.]*\).*/\1/')
    over=$(echo "$json" | sed 's/.*"overhead_percent": \([0-9.]*\).*/\1/')
    if awk -v a="$rate" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$rate; share=$(awk -v o="$over" 'BEGIN { printf "%.0f", 100 - o }'); fi
  done
  echo "| $(basename "$detector") | $(basename "$embedder") | $best | $share |"
done <<LIST
$REPO/models/mtcnn.toml $REPO/models/dlib_resnet128.toml
$REPO/models/mtcnn.toml $INT8/dlib_resnet128_int8.toml
$REPO/models/mtcnn.toml $WORK/w600k_mbf.toml
$REPO/models/mtcnn.toml $INT8/w600k_mbf_int8.toml
$WORK/scrfd_500m_320.toml $WORK/w600k_mbf.toml
$WORK/scrfd_500m_320.toml $INT8/w600k_mbf_int8.toml
$INT8/scrfd_500m_320_int8.toml $INT8/w600k_mbf_int8.toml
LIST
