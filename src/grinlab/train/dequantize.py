"""The float network inside an int8 (QDQ) export: every weight's DequantizeLinear evaluated once
into a float initializer, every activation's QuantizeLinear -> DequantizeLinear pair removed, or made a Relu where its range
starts at zero: ONNX Runtime's quantizer drops the Relu after a Conv or an Add and lets the uint8
range [0, max] do its work.

Why: ``grinlab export --int8`` writes QDQ graphs (``train.quantize``), and only those are committed
for the shipped models, so a run that wants to start from a shipped network (``grinlab train
--init-from src/grinlab/models/emotion8.onnx``) has only the int8 file. Its weights are the float
weights rounded to int8 steps per channel; taken back to float they make a network whose answers
are the int8 model's without the activation rounding: a start for fine-tuning as good as the float
export (which was never committed), not a copy of the int8 model's exact function.
"""

from __future__ import annotations

import numpy as np

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


def is_qdq(model) -> bool:
    """True when the ONNX model holds QuantizeLinear/DequantizeLinear nodes (an int8 QDQ export)."""
    return any(n.op_type in QDQ_OPS for n in model.graph.node)


def _dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int) -> np.ndarray:
    x = q.astype(np.float64)
    zp = np.zeros(1) if zero_point is None else zero_point.astype(np.float64)
    scale = scale.astype(np.float64)
    if scale.ndim == 1 and scale.size > 1:  # per channel along ``axis``
        shape = [1] * x.ndim
        shape[axis % x.ndim] = scale.size
        scale, zp = scale.reshape(shape), zp.reshape(shape) if zp.size > 1 else zp
    return ((x - zp) * scale).astype(np.float32)


def dequantized_model(model):
    """A copy of the QDQ ``model`` (onnx.ModelProto) with float weights and no quantization nodes.
    Raises ValueError when a DequantizeLinear reads an activation that no QuantizeLinear wrote
    (a graph that is not a QDQ export)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {out: n for n in graph.node for out in n.output}
    rename: dict[str, str] = {}  # activation after its quantize/dequantize pair -> before it
    relus = []
    new_weights = []
    keep = []

    def array(name: str) -> np.ndarray | None:
        return numpy_helper.to_array(inits[name]) if name in inits else None

    for node in graph.node:
        if node.op_type == "QuantizeLinear":
            continue
        if node.op_type != "DequantizeLinear":
            keep.append(node)
            continue
        src = node.input[0]
        if src in inits:
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            zp = array(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            value = _dequantize(array(src), array(node.input[1]), zp, axis)
            new_weights.append(numpy_helper.from_array(value, node.output[0]))
            continue
        quantize = producer.get(src)
        if quantize is None or quantize.op_type != "QuantizeLinear":
            raise ValueError(f"DequantizeLinear {node.name} reads {src}, which no QuantizeLinear writes")
        if _range_starts_at_zero(quantize, inits, numpy_helper):
            relu_out = node.output[0] + "_relu"
            relus.append(helper.make_node("Relu", [quantize.input[0]], [relu_out], name=relu_out))
            rename[node.output[0]] = relu_out
        else:
            rename[node.output[0]] = quantize.input[0]

    def resolve(name: str) -> str:
        while name in rename:
            name = rename[name]
        return name

    keep += relus
    for node in keep:
        for i, name in enumerate(node.input):
            node.input[i] = resolve(name)
    for out in graph.output:  # an output that was a dequantized activation: same name, float value
        if out.name in rename:
            keep.append(helper.make_node("Identity", [resolve(out.name)], [out.name]))
    used = {name for n in keep for name in n.input}
    weights = [i for i in graph.initializer if i.name in used] + [w for w in new_weights if w.name in used]
    graph.ClearField("initializer")
    graph.initializer.extend(weights)
    produced = {out for n in keep for out in n.output}
    value_info = [v for v in graph.value_info if v.name in produced]
    graph.ClearField("value_info")
    graph.value_info.extend(value_info)
    graph.ClearField("node")
    graph.node.extend(_topological(keep, {i.name for i in graph.input} | {w.name for w in weights}))
    onnx.checker.check_model(model)
    return model


def _range_starts_at_zero(quantize, inits, numpy_helper) -> bool:
    """The QuantizeLinear's zero point is its type's lowest value: it clips negatives to 0."""
    if len(quantize.input) < 3 or quantize.input[2] not in inits:
        return True  # no zero point: uint8 with zero point 0
    zp = numpy_helper.to_array(inits[quantize.input[2]])
    return bool(np.all(zp == np.iinfo(zp.dtype).min))


def _topological(nodes, available: set[str]):
    """``nodes`` ordered so that each comes after the nodes it reads (ONNX requires it)."""
    ordered, pending, have = [], list(nodes), set(available) | {""}
    while pending:
        ready = [n for n in pending if all(i in have for i in n.input)]
        if not ready:
            raise ValueError("the dequantized graph has a cycle or reads a tensor nothing writes")
        for n in ready:
            ordered.append(n)
            have.update(n.output)
        pending = [n for n in pending if n not in ready]
    return ordered
