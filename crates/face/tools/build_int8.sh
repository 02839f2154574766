#!/usr/bin/env bash
# Builds the int8 variants of the face models with ONNX Runtime's own static quantisation
# (tools/quantize_int8.py), calibrated on chips our own pipeline cuts from the chip-live set.
#
# usage: crates/face/tools/build_int8.sh SET_DIR SHARED_DIR OUT_DIR
#   SET_DIR     the chip-live set (examples/chip_live_set), for calibration images
#   SHARED_DIR  holds models/ with the evaluation-only InsightFace files (w600k, SCRFD)
#   OUT_DIR     receives *_int8.onnx and a manifest for each (paths absolute: evaluation use)
# env: ORT_DYLIB_PATH; QUANT_VENV (default <repo>/.cache/quant-venv: onnxruntime 1.31.1,
#      onnx 1.23.2, numpy 2.4.6, pillow 13.0.0, sympy 1.14.0 from PyPI on first run).
# Calibration images: the first 128 chip photos and the first 128 camera frames of folds 1-5
# (file-name order), so the test folds 6-10 never shape the quantisation. Same inputs, same
# files: the script prints their sha256.
set -euo pipefail
SET=$(cd "${1:?usage: build_int8.sh SET_DIR SHARED_DIR OUT_DIR}" && pwd)
SHARED=$(cd "${2:?}" && pwd)
mkdir -p "${3:?}"; OUT=$(cd "$3" && pwd)
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$REPO/.cache/onnxruntime/1.31.1/libonnxruntime.so.1.31.1}
VENV=${QUANT_VENV:-$REPO/.cache/quant-venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q onnxruntime==1.31.1 onnx==1.23.2 numpy==2.4.6 pillow==13.0.0 sympy==1.14.0
fi
(cd "$REPO" && cargo build -q --release -p face --example dump_chip)
DUMP=${CARGO_TARGET_DIR:-$REPO/target}/release/examples/dump_chip
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
awk -F'\t' 'NR > 1 && $1 <= 5 { print $2; print $3 }' "$SET/pairs.tsv" | sort -u > "$WORK/half.txt"
awk -v set="$SET/" '/^chip\// && c++ < 128 { print set $0 }' "$WORK/half.txt" > "$WORK/images.txt"
awk -v set="$SET/" '/^live\// && l++ < 128 { print set $0 }' "$WORK/half.txt" >> "$WORK/images.txt"
mkdir -p "$WORK/dlib" "$WORK/arcface" "$WORK/frames"
(cd "$REPO" && "$DUMP" models/dlib_resnet128.toml "$WORK/dlib" $(cat "$WORK/images.txt"))
sed "s|^path = \".*/shared/models/|path = \"$SHARED/models/|" "$REPO/crates/face/eval-manifests/w600k_mbf.toml" > "$WORK/w600k.toml"
(cd "$REPO" && "$DUMP" "$WORK/w600k.toml" "$WORK/arcface" $(cat "$WORK/images.txt"))
"$VENV/bin/python" - "$WORK/images.txt" "$WORK/frames" <<'PY'
import sys
from PIL import Image
for i, path in enumerate(open(sys.argv[1]).read().split()):
    if "/live/" in path:
        Image.open(path).convert("RGB").save(f"{sys.argv[2]}/f{i:03d}.png")
PY
Q="$VENV/bin/python $REPO/crates/face/tools/quantize_int8.py"
$Q "$REPO/models/dlib_resnet128.onnx" "$WORK/dlib" "$OUT/dlib_resnet128_int8.onnx" --layout nchw --size 150 150
$Q "$REPO/models/face_antispoofing_expo.onnx" "$WORK/dlib" "$OUT/face_antispoofing_expo_int8.onnx" --layout nhwc --size 256 256 --std 255 255 255
$Q "$SHARED/models/w600k_mbf_arcface512.onnx" "$WORK/arcface" "$OUT/w600k_mbf_int8.onnx" --layout nchw --size 112 112 --mean 127.5 127.5 127.5 --std 127.5 127.5 127.5
$Q "$SHARED/models/scrfd_500m_bnkps.onnx" "$WORK/frames" "$OUT/scrfd_500m_int8.onnx" --layout nchw --size 320 320 --mean 127.5 127.5 127.5 --std 128 128 128

# Manifests: the fp32 ones with the int8 file (absolute path) and its sha256.
manifest() { # SOURCE_MANIFEST ONNX NAME OUT
  local sha; sha=$(sha256sum "$2" | cut -d' ' -f1)
  awk -v path="$2" -v sha="$sha" -v name="$3" -v models="$REPO/models" '
    /^name = / { print "name = \"" name "\""; next }
    /^path = / && !done_path { print "path = \"" path "\""; done_path = 1; next }
    /^sha256 = / && !done_sha { print "sha256 = \"" sha "\""; done_sha = 1; next }
    /^calibration = / { next }
    { gsub(/path = "dlib_shape_predictor_5.dat"/, "path = \"" models "/dlib_shape_predictor_5.dat\""); print }
  ' "$1" > "$4"
}
manifest "$REPO/models/dlib_resnet128.toml" "$OUT/dlib_resnet128_int8.onnx" dlib_resnet128_int8 "$OUT/dlib_resnet128_int8.toml"
manifest "$REPO/models/face_antispoofing_expo.toml" "$OUT/face_antispoofing_expo_int8.onnx" face_antispoofing_expo_int8 "$OUT/face_antispoofing_expo_int8.toml"
manifest "$WORK/w600k.toml" "$OUT/w600k_mbf_int8.onnx" w600k_mbf_int8 "$OUT/w600k_mbf_int8.toml"
sed "s|^path = \".*/shared/models/|path = \"$SHARED/models/|" "$REPO/crates/face/eval-manifests/scrfd_500m_320.toml" > "$WORK/scrfd.toml"
manifest "$WORK/scrfd.toml" "$OUT/scrfd_500m_int8.onnx" scrfd_500m_bnkps_320_int8 "$OUT/scrfd_500m_320_int8.toml"
sha256sum "$OUT"/*.onnx
