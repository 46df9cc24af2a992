"""Every registered network, tested for free (timm-style): shapes, the structural contract, size
budget, learning on real faces, ONNX Runtime parity."""

from __future__ import annotations

import re
import sys

import cv2
import numpy as np
import pytest
import torch

from grinlab.errors import GrinlabError
from grinlab.train.zoo import count_params, create_model, get_entry, list_models
from grinlab.train.zoo.torchvision_backbone import adapt_first_conv

try:
    import torchvision  # noqa: F401

    HAVE_TV = True
except Exception:  # missing, or built for another torch
    HAVE_TV = False

TORCHVISION = [m for m in list_models() if m.startswith("torchvision_")]
NATIVE = [m for m in list_models() if m not in TORCHVISION]
# Over the 5M CPU budget on purpose: the paper-width VGG and ResNet-50 are GPU nets; ResNet-34 at
# its CPU width 32 is 5.3M (ResNet-34 has ~4x the params of ResNet-18 at any width).
OVER_BUDGET = {"vgg_paper", "resnet50", "resnet34"}
CHEAP = ["simple_cnn", "mini_xception", "resnet_tiny", "densenet_small", "inception_small", "vgg_small"]
TESTED = NATIVE + [pytest.param(m, marks=pytest.mark.skipif(not HAVE_TV, reason="needs torchvision")) for m in TORCHVISION]  # fmt: skip


def _read_faces(paths, size: int, chans: int) -> np.ndarray:
    faces = []
    for p in paths:
        img = cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), (size, size), interpolation=cv2.INTER_AREA)
        faces.append(img[None] if chans == 1 else np.repeat(img[None], chans, axis=0))
    x = np.stack(faces).astype(np.float32)
    return (x - x.mean(axis=(1, 2, 3), keepdims=True)) / (x.std(axis=(1, 2, 3), keepdims=True) + 1e-6)


@pytest.fixture(scope="module")
def smile_paths(smilesmiled_dir):
    root = smilesmiled_dir / "SMILEs"
    pos = sorted((root / "positives" / "positives7").glob("*.jpg"))[:24]
    neg = sorted((root / "negatives" / "negatives7").glob("*.jpg"))[:24]
    assert len(pos) == len(neg) == 24, "SMILEsmileD folder incomplete"
    return pos + neg


@pytest.fixture(scope="module")
def smile_batch(smile_paths):
    """48 real SMILEsmileD faces (24 smiling, 24 not), grey 48x48, per-image standardised."""
    return torch.from_numpy(_read_faces(smile_paths, 48, 1)), torch.tensor([1] * 24 + [0] * 24)


@pytest.mark.parametrize("name", TESTED)
@pytest.mark.parametrize("chans", [1, 3])
@pytest.mark.parametrize("size", [48, 64])
def test_forward_shape_on_real_faces(name, chans, size, smile_paths):
    x = torch.from_numpy(_read_faces(smile_paths[22:26], size, chans))
    model = create_model(name, num_classes=7, in_chans=chans, input_size=(size, size)).eval()
    with torch.no_grad():
        out = model(x)
    assert out.shape == (4, 7) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", TESTED)
def test_structural_contract(name):
    """blocks() + head own every parameter (so freezing covers the whole net), and the head's
    input has num_features channels."""
    model = create_model(name, num_classes=3).eval()
    blocks = model.blocks()
    assert len(blocks) >= 3 and all(isinstance(b, torch.nn.Module) for b in blocks)
    assert isinstance(model.head, torch.nn.Module) and model.num_features > 0
    owned = {id(p) for m in [*blocks, model.head] for p in m.parameters()}
    assert owned == {id(p) for p in model.parameters()}

    seen = []
    model.head.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape))
    size = get_entry(name).default_input_size
    with torch.no_grad():
        model(torch.zeros(2, get_entry(name).default_channels, *size))
    head_in = seen[0]
    assert head_in[0] == 2
    assert head_in[1] == model.num_features or int(np.prod(head_in[1:])) == model.num_features


@pytest.mark.parametrize("name", NATIVE)
def test_param_budget_matches_the_description(name):
    n = count_params(create_model(name, 2))
    assert 0 < n < (7_000_000 if name in OVER_BUDGET else 5_000_000)
    match = re.search(r"~([\d.]+)([kM]) params", get_entry(name).description)
    assert match, f"{name}: description should give its size as '~N[k|M] params'"
    stated = float(match[1]) * {"k": 1e3, "M": 1e6}[match[2]]
    assert abs(stated - n) / n < 0.1, f"{name}: description says {match[0]}, has {n:,}"


@pytest.mark.parametrize("name", CHEAP)
def test_a_few_sgd_steps_reduce_the_loss(name, smile_batch):
    torch.manual_seed(0)
    x, y = smile_batch
    model = create_model(name, 2)
    # simple_cnn has no BatchNorm and learns slowly from torch's default init: it needs a larger step
    opt = torch.optim.SGD(model.parameters(), lr=0.1 if name == "simple_cnn" else 0.01, momentum=0.9)
    model.train()
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert np.mean(losses[-2:]) < losses[0], losses


def _export(model, x, path):
    torch.onnx.export(
        model,
        (x,),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,  # the TorchScript exporter: seconds faster per model than dynamo in torch 2.13
    )


@pytest.mark.parametrize("name", TESTED)
def test_onnx_runtime_parity_with_dynamic_batch(name, tmp_path, smile_paths):
    import onnxruntime as ort

    entry = get_entry(name)
    size, chans = entry.default_input_size, entry.default_channels
    x = _read_faces(smile_paths[20:25], size[0], chans)
    torch.manual_seed(0)
    model = create_model(name, 2).eval()
    path = tmp_path / f"{name}.onnx"
    _export(model, torch.from_numpy(x[:3]), path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (x[:3], x[3:4]):  # exported with 3, run with 3 and 1
        got = sess.run(None, {"input": batch})[0]
        with torch.no_grad():
            want = model(torch.from_numpy(batch)).numpy()
        assert got.shape == want.shape
        assert np.abs(got - want).max() < 1e-4


def test_unknown_model_names_the_available_ones():
    with pytest.raises(GrinlabError, match="unknown model 'alexnet'; available: .*resnet18.*simple_cnn"):
        create_model("alexnet", 2)


def test_registry_lists_every_family():
    expected = {"simple_cnn", "vgg_small", "vgg_paper", "resnet_tiny", "resnet18", "resnet34", "resnet50",
                "densenet_small", "inception_small", "mini_xception", "torchvision_resnet18",
                "torchvision_mobilenet_v3_small", "torchvision_efficientnet_b0"}  # fmt: skip
    assert expected <= set(list_models())


def test_mini_xception_matches_the_paper_size():
    # Keras reports 58,423 params at 7 classes, 1,472 of them BatchNorm running statistics (buffers here).
    assert count_params(create_model("mini_xception", 7)) == 58_423 - 1_472


def test_torchvision_backbones_say_what_they_need(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "torchvision.models", None)
    for name in TORCHVISION:
        with pytest.raises(
            GrinlabError, match=r"needs torchvision: pip install torch==2\.\d+\.\* torchvision==0\.\d+"
        ):
            create_model(name, 2)


def test_grey_first_conv_keeps_the_rgb_response_to_grey_images():
    torch.manual_seed(0)
    rgb = torch.nn.Conv2d(3, 8, 3, padding=1)
    grey = adapt_first_conv(rgb, 1)
    x = torch.randn(2, 1, 16, 16)
    assert torch.allclose(grey(x), rgb(x.repeat(1, 3, 1, 1)), atol=1e-5)
    assert adapt_first_conv(rgb, 3) is rgb
