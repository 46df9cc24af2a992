"""An exported zoo network back in torch: the weights of a ``grinlab export`` ONNX file loaded into
the zoo architecture its card names, so a distillation teacher can run on the training GPU beside
the student (ONNX Runtime would run it on the CPU, or need a CUDA build of ONNX Runtime).

The exporter folds each BatchNorm into the convolution before it, so the ONNX file holds one weight
and one bias per convolution. Here each convolution gets the folded weight and its BatchNorm becomes
"add the folded bias" (mean 0, variance 1 - eps, scale 1): the same function, checked against ONNX
Runtime on every conversion. Each convolution, in execution order (forward hooks on the zoo model),
takes the first unused Conv node of the graph whose weight has its shape: the exporter keeps
execution order, but ONNX Runtime's int8 preparation may put a residual block's shortcut before
its second convolution.

A teacher-weights file (``.pt``) holds that state dict (float16 by default: half the bytes of the
ONNX file, for carrying teachers to a GPU machine) with the ONNX file's card, whose name and sha256
a distilled student's card then names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import GrinlabError
from .heads import fit_kept_head, new_head

FORMAT = "grinlab-teacher-weights-1"
PARITY_TOLERANCE = 1e-4  # max |p_torch - p_onnx| on the conversion's check inputs (float32)


def _card(onnx_path: Path) -> dict:
    card_path = onnx_path.with_suffix(".json")
    if not card_path.is_file():
        raise GrinlabError(
            f"{onnx_path}: no model card {card_path.name} beside it; export it with grinlab export"
        )
    from ..modelcard import ModelCard

    return ModelCard.load(card_path).to_dict()  # a damaged card is one GrinlabError


INT8_SUFFIX = " (int8)"  # how grinlab export --int8 marks a card's architecture


def _build(card: dict, source: str, int8: bool = False) -> nn.Module:
    from .zoo import create_model, list_models

    arch = str(card.get("architecture", ""))
    if arch.endswith(INT8_SUFFIX) and int8:
        arch = arch.removesuffix(INT8_SUFFIX)
    elif arch.endswith(INT8_SUFFIX):
        raise GrinlabError(
            f"{source}: an int8 export is not a zoo network torch can load; give the float export of the "
            "same run (grinlab export without --int8)"
        )
    if arch not in list_models():
        raise GrinlabError(
            f"{source}: its card names architecture {card.get('architecture')!r}, not a zoo network; "
            "only float zoo networks exported by grinlab export can run in torch"
        )
    pre = card["preprocessing"]
    return create_model(arch, len(card["labels"]), pre["channels"], tuple(pre["size"])).eval()


def _execution_order(model: nn.Module, kinds: tuple[type, ...], sample: torch.Tensor) -> list[nn.Module]:
    order: list[nn.Module] = []
    hooks = [
        m.register_forward_hook(lambda mod, i, o: order.append(mod))
        for m in model.modules()
        if isinstance(m, kinds)
    ]
    try:
        with torch.no_grad():
            model(sample)
    finally:
        for h in hooks:
            h.remove()
    return order


def zoo_model_from_onnx(onnx_path: str | Path, int8: bool = False) -> tuple[nn.Module, dict]:
    """(float32 torch model in eval mode, card) with the ONNX file's weights, checked against ONNX
    Runtime. Raises GrinlabError when the file is not a float zoo network as grinlab exports it.

    With ``int8`` an int8 export is accepted too: its weights taken back to float
    (``dequantize.dequantized_model``), checked against that float graph. That is a start for
    training, not the int8 model's exact function, so a teacher never takes this path."""
    import onnx
    from onnx import numpy_helper

    from .dequantize import dequantized_model, is_qdq

    path = Path(onnx_path)
    card = _card(path)
    model = _build(card, path.name, int8=int8)
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # protobuf raises DecodeError and others for a damaged file
        raise GrinlabError(
            f"{path}: not a readable ONNX file ({type(exc).__name__}); export it again with grinlab export"
        ) from None
    if int8 and is_qdq(proto):
        try:
            proto = dequantized_model(proto)
        except ValueError as exc:
            raise GrinlabError(f"{path.name}: not an int8 export of grinlab export ({exc})") from None
    graph = proto.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    gemms = [n for n in graph.node if n.op_type == "Gemm"]
    pre = card["preprocessing"]
    sample = torch.zeros(1, pre["channels"], *pre["size"])
    t_convs = _execution_order(model, (nn.Conv2d,), sample)
    t_bns = _execution_order(model, (nn.BatchNorm2d,), sample)
    t_linears = _execution_order(model, (nn.Linear,), sample)
    if len(gemms) == 2 and len(t_linears) != 2:
        # the export of a transfer run (grinlab train --init-from): the zoo trunk under the new
        # two-layer head, whose width the first Gemm's weight (out x in) gives
        hidden = int(inits[gemms[0].input[1]].shape[0])
        model.head = new_head(model, len(card["labels"]), hidden).eval()
        t_linears = _execution_order(model, (nn.Linear,), sample)
    if len(convs) != len(t_convs) or len(gemms) != len(t_linears) or len(t_bns) not in (0, len(t_convs)):
        raise GrinlabError(
            f"{path.name}: its graph ({len(convs)} Conv, {len(gemms)} Gemm) does not match the zoo's "
            f"{card.get('architecture')} ({len(t_convs)} convolutions, {len(t_linears)} linear layers)"
        )
    with torch.no_grad():
        unused = list(convs)
        for k, conv in enumerate(t_convs):
            node = next((n for n in unused if _shape(inits, n.input[1]) == tuple(conv.weight.shape)), None)
            if node is None:
                raise GrinlabError(
                    f"{path.name}: no Conv of the graph fits the zoo's convolution {k} "
                    f"(weight {tuple(conv.weight.shape)})"
                )
            unused.remove(node)
            weight = inits[node.input[1]]
            bias = inits.get(node.input[2]) if len(node.input) > 2 else None
            conv.weight.copy_(torch.from_numpy(np.array(weight)))
            bias_t = torch.from_numpy(np.array(bias)) if bias is not None else torch.zeros(conv.out_channels)
            if t_bns:  # BatchNorm folded away: it becomes "+ bias"
                bn = t_bns[k]
                bn.weight.fill_(1.0)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
                bn.bias.copy_(bias_t)
                if conv.bias is not None:
                    conv.bias.zero_()
            elif conv.bias is not None:
                conv.bias.copy_(bias_t)
        for node, linear in zip(gemms, t_linears, strict=True):
            linear.weight.copy_(torch.from_numpy(np.array(inits[node.input[1]])))
            linear.bias.copy_(torch.from_numpy(np.array(inits[node.input[2]])))
    _check_parity(model, path, card, proto)
    return model, card


def _shape(inits: dict, name: str) -> tuple | None:
    return tuple(inits[name].shape) if name in inits else None


def _check_parity(model: nn.Module, path: Path, card: dict, proto) -> None:
    import onnxruntime as ort

    from ..classify.onnx_classifier import reads_logits, softmax

    pre = card["preprocessing"]
    x = np.random.default_rng(0).normal(size=(16, pre["channels"], *pre["size"])).astype(np.float32)
    try:
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        output = session.get_outputs()[0]
        out = session.run(None, {session.get_inputs()[0].name: x})[0]
    except Exception as exc:  # ORT's own exception types; e.g. a card whose input size is not the graph's
        raise GrinlabError(
            f"{path.name}: ONNX Runtime cannot run it on its card's input {tuple(x.shape[1:])} "
            f"({str(exc).splitlines()[0]}); re-export the model so card and file agree"
        ) from None
    expected = softmax(out) if reads_logits(card.get("outputs"), output.name) else out
    with torch.no_grad():
        got = torch.softmax(model(torch.from_numpy(x)), 1).numpy()
    diff = float(np.abs(got - expected).max())
    if diff > PARITY_TOLERANCE:
        raise GrinlabError(
            f"{path.name}: the torch copy differs from ONNX Runtime by {diff:.2g}; not a zoo export"
        )


def save_teacher_weights(onnx_path: str | Path, out: str | Path, dtype: torch.dtype = torch.float16) -> Path:
    """Write ``out`` (.pt): the ONNX teacher's weights for its zoo network, and its card."""
    from ..modelcard import sha256_file

    path = Path(onnx_path)
    model, card = zoo_model_from_onnx(path)
    card = {**card, "sha256": sha256_file(path), "onnx_file": path.name}
    state = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save({"format": FORMAT, "card": card, "state_dict": state}, tmp)
    tmp.replace(out)
    return out


def _read(path: Path) -> dict:
    """A teacher-weights file's contents (format, card, state_dict), or one GrinlabError line."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file: one line, not a pickle traceback
        raise GrinlabError(
            f"{path}: not a teacher-weights file (unreadable as a torch file); rebuild it with "
            "benchmarks/teacher_weights.py from the teacher's .onnx"
        ) from e
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise GrinlabError(f"{path}: not a {FORMAT} file; make it with benchmarks/teacher_weights.py")
    return blob


def teacher_weights_card(path: str | Path) -> dict:
    """The card of the ONNX file a teacher-weights file was made from (its command, sha256, ...)."""
    return _read(Path(path))["card"]


def load_teacher_weights(path: str | Path) -> tuple[nn.Module, dict]:
    """(float32 torch model in eval mode, the source ONNX file's card) from a teacher-weights file."""
    path = Path(path)
    blob = _read(path)
    card = blob["card"]
    model = _build(card, path.name)
    state = {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
    fit_kept_head(model, state, len(card["labels"]))  # a transfer run's export has the new head
    model.load_state_dict(state)
    return model.eval(), card


def unfold_batchnorm(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> int:
    """Give the folded BatchNorm layers of ``model`` (as ``zoo_model_from_onnx`` leaves them: mean 0,
    variance 1 - eps, scale 1, the folded bias) the statistics of their inputs on ``x``, keeping the
    function: running mean mu and variance var of each channel, scale sqrt(var + eps), bias mu + b.

    Folded layers compute ``z + b`` in eval mode but normalise by batch statistics in train mode,
    which would rescale every channel at the first training step; unfolded, a training batch like
    ``x`` normalises to about what eval mode computes, so fine-tuning starts from the exported net.
    Returns the number of layers unfolded (those still at their folded statistics)."""
    bns = [
        m
        for m in model.modules()
        if isinstance(m, nn.BatchNorm2d)
        and bool((m.running_mean == 0).all())
        and torch.allclose(m.running_var, torch.full_like(m.running_var, 1.0 - m.eps))
        and bool((m.weight == 1).all())
    ]
    if not bns:
        return 0
    moments = {bn: [0.0, 0.0, 0] for bn in bns}  # sum, sum of squares, count per channel

    def record(bn, inputs):
        z = inputs[0].detach().double()
        acc = moments[bn]
        acc[0] = acc[0] + z.sum(dim=(0, 2, 3))
        acc[1] = acc[1] + (z * z).sum(dim=(0, 2, 3))
        acc[2] += z.numel() // z.shape[1]

    hooks = [bn.register_forward_pre_hook(record) for bn in bns]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for chunk in x.split(batch_size):
                model(chunk)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    with torch.no_grad():
        for bn, (s, ss, n) in moments.items():
            mean = s / n
            var = (ss / n - mean * mean).clamp_min(0.0)
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(var.float())
            bn.weight.copy_(torch.sqrt(var + bn.eps).float())
            bn.bias.add_(mean.float())
    return len(bns)
