#!/usr/bin/env python3
"""InsightFace side of compare_insightface.sh: the same images through InsightFace's own
FaceAnalysis (PyPI `insightface`, onnxruntime CPU), loading the ONNX files from MODELS_DIR.

Per image: cv2.imread, FaceAnalysis.get(img, max_num=1) (detection, best face, norm_crop
alignment, recognition). Prints one JSON object with the same fields as examples/bench_pipeline.
"""

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402


def peak_rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models-dir", required=True, help="directory holding only the detector and recognizer .onnx")
    parser.add_argument("--list", required=True, help="file with one image path per line")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--det-size", type=int, default=320)
    args = parser.parse_args()

    import cv2
    import numpy as np
    import onnxruntime
    from insightface.app import FaceAnalysis

    cv2.setNumThreads(args.threads)
    # Time spent inside onnxruntime: wrap InferenceSession.run at class level, so that every
    # session counts, including the static-shape detector sessions SCRFD creates per input size.
    inference = [0.0]
    original_run = onnxruntime.InferenceSession.run

    def timed_run(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return original_run(self, *a, **k)
        finally:
            inference[0] += time.perf_counter() - t0

    onnxruntime.InferenceSession.run = timed_run
    created = []
    original_init = onnxruntime.InferenceSession.__init__

    def recording_init(self, *a, **k):
        original_init(self, *a, **k)
        created.append(self)

    onnxruntime.InferenceSession.__init__ = recording_init

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    app = FaceAnalysis(
        name=args.models_dir,
        allowed_modules=["detection", "recognition"],
        providers=["CPUExecutionProvider"],
        sess_options=options,
    )
    app.prepare(ctx_id=-1, det_size=(args.det_size, args.det_size))

    images = [line.strip() for line in open(args.list) if line.strip()]
    img = cv2.imread(images[0])
    faces = app.get(img, max_num=1)
    if faces:
        e = faces[0].normed_embedding
        float(np.dot(e, e))  # the decision against itself
    first_decision = time.perf_counter() - STARTED

    for session in created:
        threads = session.get_session_options().intra_op_num_threads
        if threads != args.threads:
            sys.exit(f"a session has {threads} intra-op threads, wanted {args.threads}")
    inference[0] = 0.0
    decode = 0.0
    found = 0
    start = time.perf_counter()
    for path in images:
        t0 = time.perf_counter()
        img = cv2.imread(path)
        decode += time.perf_counter() - t0
        faces = app.get(img, max_num=1)
        found += 1 if faces else 0
    total = time.perf_counter() - start
    count = len(images)
    pipeline_ms = (total - decode) * 1e3 / count
    inference_ms = inference[0] * 1e3 / count
    print(
        json.dumps(
            {
                "side": "insightface (Python)",
                "threads": args.threads,
                "images": count,
                "faces_found": found,
                "images_per_second": round(count / total, 2),
                "peak_rss_mib": round(peak_rss_mib(), 1),
                "cold_start_to_first_decision_ms": round(first_decision * 1e3, 1),
                "decode_ms_per_image": round(decode * 1e3 / count, 2),
                "pipeline_ms_per_image_without_decode": round(pipeline_ms, 2),
                "onnxruntime_ms_per_image": round(inference_ms, 2),
                "overhead_percent": round(100.0 * (pipeline_ms - inference_ms) / max(inference_ms, 1e-9), 1),
                "sessions": len(created),
                "insightface": __import__("insightface").__version__,
                "onnxruntime": onnxruntime.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
