#!/usr/bin/env bash
# Same machine, same run, same ONNX files, same images: our pipeline (examples/bench_pipeline)
# against InsightFace's own Python package (FaceAnalysis on onnxruntime), 1 and 2 threads.
#
# usage: crates/face/bench/compare_insightface.sh SHARED_DIR [IMAGES] [ROUNDS] [INT8_DIR]
#   SHARED_DIR  directory holding models/ (scrfd_500m_bnkps.onnx, w600k_mbf_arcface512.onnx)
#               and datasets/lfw/ (pairs_available.tsv, images/)
#   IMAGES      number of LFW images (the first of pairs_available.tsv, default 1000)
#   ROUNDS      alternating rounds per thread count, best kept (default 2)
#   INT8_DIR    optional: the output of tools/build_int8.sh; adds our fast pipeline (SCRFD
#               fp32 at 320 + w600k int8: LFW 99.22 %, InsightFace's default pipeline's accuracy;
#               the int8 SCRFD loses faces) as a third side. InsightFace also runs at its own
#               default detector size (640) beside 320.
# env: ORT_DYLIB_PATH (default <repo>/.cache/onnxruntime/1.31.1/libonnxruntime.so.1.31.1),
#      CARGO_TARGET_DIR (default <repo>/target), BENCH_VENV (default <repo>/.cache/bench-insightface-venv)
# Needs: python3 (3.11), network to PyPI on first run; /usr/bin/time.
set -euo pipefail
SHARED=$(cd "${1:?usage: compare_insightface.sh SHARED_DIR [IMAGES] [ROUNDS]}" && pwd)
IMAGES=${2:-1000}
ROUNDS=${3:-2}
INT8=${4:-}
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$REPO/.cache/onnxruntime/1.31.1/libonnxruntime.so.1.31.1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
VENV=${BENCH_VENV:-$REPO/.cache/bench-insightface-venv}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. InsightFace's Python package, pinned, beside the same onnxruntime version as ours.
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q insightface==2.1 onnxruntime==1.31.1
fi

# 2. Our bench binary.
(cd "$REPO" && cargo build -q --release -p face --example bench_pipeline)
BENCH=$CARGO_TARGET_DIR/release/examples/bench_pipeline

# 3. The same model files for both: a directory with exactly the two ONNX files for
#    FaceAnalysis, manifests pointing at the same files for us.
mkdir -p "$WORK/models"
ln -s "$SHARED/models/scrfd_500m_bnkps.onnx" "$SHARED/models/w600k_mbf_arcface512.onnx" "$WORK/models/"
for manifest in scrfd_500m_320 w600k_mbf; do
  sed "s|^path = \".*/shared/models/|path = \"$SHARED/models/|" \
    "$REPO/crates/face/eval-manifests/$manifest.toml" > "$WORK/$manifest.toml"
done
tail -n +2 "$SHARED/datasets/lfw/pairs_available.tsv" | cut -f2,3 | tr '\t' '\n' \
  | awk -v limit="$IMAGES" -v root="$SHARED/datasets/lfw/images/" '!seen[$0]++ && count++ < limit { print root $0 }' \
  > "$WORK/images.txt"
echo "images: $(wc -l < "$WORK/images.txt"), rounds: $ROUNDS, load average: $(cut -d' ' -f1-3 /proc/loadavg)"

run_ours() {
  /usr/bin/time -v -o "$WORK/time.txt" "$BENCH" --detector "$WORK/scrfd_500m_320.toml" \
    --embedder "$WORK/w600k_mbf.toml" --list "$WORK/images.txt" --threads "$1"
}
run_ours_int8() {
  /usr/bin/time -v -o "$WORK/time.txt" "$BENCH" --detector "$WORK/scrfd_500m_320.toml" \
    --embedder "$INT8/w600k_mbf_int8.toml" --list "$WORK/images.txt" --threads "$1" \
    | sed 's|"side": "face (Rust)"|"side": "face int8 (Rust)"|'
}
run_theirs() {
  /usr/bin/time -v -o "$WORK/time.txt" "$VENV/bin/python" -W ignore "$REPO/crates/face/bench/insightface_bench.py" \
    --models-dir "$WORK/models" --list "$WORK/images.txt" --threads "$1" --det-size 320
}
run_theirs_640() {
  /usr/bin/time -v -o "$WORK/time.txt" "$VENV/bin/python" -W ignore "$REPO/crates/face/bench/insightface_bench.py" \
    --models-dir "$WORK/models" --list "$WORK/images.txt" --threads "$1" --det-size 640 \
    | sed 's|"side": "insightface (Python)"|"side": "insightface 640 (Python)"|'
}
SIDES="ours theirs theirs_640"
[ -n "$INT8" ] && SIDES="ours ours_int8 theirs theirs_640"
for threads in 1 2; do
  for round in $(seq "$ROUNDS"); do
    for side in $SIDES; do
      json=$(run_$side "$threads")
      rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
      echo "$json" | sed "s|}$|, \"time_v_max_rss_kib\": $rss, \"round\": $round}|" | tee -a "$WORK/results.jsonl"
    done
  done
done

# 4. Ratios (best round of each side per thread count).
"$VENV/bin/python" - "$WORK/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\n| threads | ours | InsightFace | ours img/s | InsightFace img/s | throughput ratio | ours peak RSS MiB | InsightFace peak RSS MiB | memory ratio | ours cold start ms | InsightFace cold start ms | ours overhead % | InsightFace overhead % |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
sides = sorted({r["side"] for r in rows})
ours_sides = [s for s in sides if s.startswith("face")]
their_sides = [s for s in sides if s.startswith("insightface")]
for threads in (1, 2):
    best = {}
    for side in sides:
        candidates = [r for r in rows if r["threads"] == threads and r["side"] == side]
        best[side] = max(candidates, key=lambda r: r["images_per_second"])
    for ours in ours_sides:
        for theirs in their_sides:
            o, t = best[ours], best[theirs]
            orss, trss = o["time_v_max_rss_kib"] / 1024, t["time_v_max_rss_kib"] / 1024
            print(f"| {threads} | {ours} | {theirs} | {o['images_per_second']:.1f} | {t['images_per_second']:.1f} | {o['images_per_second'] / t['images_per_second']:.2f}x "
                  f"| {orss:.0f} | {trss:.0f} | {orss / trss:.2f} | {o['cold_start_to_first_decision_ms']:.0f} | {t['cold_start_to_first_decision_ms']:.0f} "
                  f"| {o['overhead_percent']:.1f} | {t['overhead_percent']:.1f} |")
PY
