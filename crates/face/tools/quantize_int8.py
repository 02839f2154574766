#!/usr/bin/env python3
"""Static int8 quantisation of a face model with ONNX Runtime's own tooling (QDQ format).

ONNX Runtime's dynamic quantisation turns convolutions into ConvInteger, which runs about 4x
slower than float on x86 (measured on dlib_resnet128: 9 ms -> 41 ms); static quantisation with
per-channel int8 weights and uint8 activations (QDQ) runs the same graphs about 1.5x faster.
Activation ranges come from MinMax calibration over a directory of aligned face chips (PNG),
written by our own pipeline (`cargo run --release -p face --example dump_chip -- --list FILES
MANIFEST OUT_DIR`), so the ranges are those the gate feeds the model. The chips are derived
from a face data set: keep them out of the repository.

Usage (PyPI onnxruntime==1.31.1, onnx==1.23.2, numpy==2.4.6, pillow, sympy):
    python3 crates/face/tools/quantize_int8.py MODEL.onnx CHIPS_DIR OUT.onnx \
        --layout nchw|nhwc --size H W --mean M M M --std S S S [--count 256]

The same inputs give the same file (MinMax calibration is deterministic; chips are read in
name order). Models older than opset 13 are converted to opset 13 first (per-channel QDQ needs
it); the output is saved as IR 8 so ONNX Runtime 1.31 loads it.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image


class ChipReader(CalibrationDataReader):
    """Feeds the chips of a directory as the model's input tensor."""

    def __init__(self, input_name, chips, args):
        self.input_name = input_name
        self.items = iter(chips)
        self.args = args

    def get_next(self):
        path = next(self.items, None)
        if path is None:
            return None
        height, width = self.args.size
        image = Image.open(path).convert("RGB").resize((width, height), Image.BILINEAR)
        pixels = np.asarray(image, dtype=np.float32)
        pixels = (pixels - np.array(self.args.mean, np.float32)) / np.array(self.args.std, np.float32)
        if self.args.layout == "nchw":
            pixels = pixels.transpose(2, 0, 1)
        return {self.input_name: pixels[np.newaxis].astype(np.float32)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("chips")
    parser.add_argument("out")
    parser.add_argument("--layout", choices=["nchw", "nhwc"], required=True)
    parser.add_argument("--size", type=int, nargs=2, required=True, metavar=("H", "W"))
    parser.add_argument("--mean", type=float, nargs=3, default=[0.0, 0.0, 0.0])
    parser.add_argument("--std", type=float, nargs=3, default=[1.0, 1.0, 1.0])
    parser.add_argument("--count", type=int, default=256)
    args = parser.parse_args()

    chips = sorted(
        os.path.join(args.chips, name)
        for name in os.listdir(args.chips)
        if name.lower().endswith(".png")
    )[: args.count]
    if not chips:
        sys.exit(f"no .png chips in {args.chips}")

    with tempfile.TemporaryDirectory() as work:
        model = onnx.load(args.model)
        opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        source = args.model
        if opset < 13:
            source = os.path.join(work, "opset13.onnx")
            onnx.save(version_converter.convert_version(model, 13), source)
        prepared = os.path.join(work, "prepared.onnx")
        quant_pre_process(source, prepared)
        input_name = onnx.load(prepared).graph.input[0].name
        quantized = os.path.join(work, "quantized.onnx")
        quantize_static(
            prepared,
            quantized,
            ChipReader(input_name, chips, args),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        result = onnx.load(quantized)
        result.ir_version = 8
        onnx.save(result, args.out)
    print(f"{args.out}: {len(chips)} calibration chips, opset {opset} -> QDQ int8")


if __name__ == "__main__":
    main()
