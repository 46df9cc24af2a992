"""Every registered network, tested for free (timm-style): shapes, budget, learning, ONNX parity."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from grinlab.errors import GrinlabError
from grinlab.train.zoo import count_params, create_model, get_entry, list_models

try:
    import torchvision  # noqa: F401

    HAVE_TV = True
except Exception:
    HAVE_TV = False

NATIVE = [m for m in list_models() if not m.startswith("torchvision_")]
BIG = {"vgg_paper", "resnet34", "resnet50"}
CHEAP = ["simple_cnn", "mini_xception", "resnet_tiny", "densenet_small", "inception_small", "vgg_small"]


@pytest.fixture(scope="module")
def smile_batch(smilesmiled_dir):
    """64 real SMILEsmileD faces (32 smiling, 32 not), per-image standardised, 48x48."""
    root = smilesmiled_dir / "SMILEs"
    pos = sorted((root / "positives" / "positives7").glob("*.jpg"))[:32]
    neg = sorted((root / "negatives" / "negatives7").glob("*.jpg"))[:32]
    imgs = np.stack(
        [cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), (48, 48)) for p in pos + neg]
    ).astype(np.float32)
    imgs = (imgs - imgs.mean(axis=(1, 2), keepdims=True)) / imgs.std(axis=(1, 2), keepdims=True)
    return torch.from_numpy(imgs[:, None]), torch.tensor([1] * 32 + [0] * 32)


@pytest.mark.parametrize("name", NATIVE)
@pytest.mark.parametrize("chans,size", [(1, (48, 48)), (3, (64, 64))])
def test_forward_shape_and_contract(name, chans, size):
    model = create_model(name, num_classes=7, in_chans=chans, input_size=size).eval()
    with torch.no_grad():
        assert model(torch.randn(2, chans, *size)).shape == (2, 7)
    assert len(model.blocks()) >= 3 and isinstance(model.head, torch.nn.Module) and model.num_features > 0


@pytest.mark.parametrize("name", NATIVE)
def test_param_budget(name):
    n = count_params(create_model(name, 2))
    assert 0 < n < (7_000_000 if name in BIG else 3_000_000)
    assert get_entry(name).description


@pytest.mark.parametrize("name", CHEAP)
def test_a_few_steps_reduce_the_loss(name, smile_batch):
    torch.manual_seed(0)
    x, y = smile_batch
    model = create_model(name, 2)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    losses = []
    for _ in range(12):
        model.train()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < losses[0]


@pytest.mark.parametrize("name", CHEAP)
def test_onnx_parity(name, tmp_path, smile_batch):
    import onnxruntime as ort

    model = create_model(name, 2).eval()
    x = smile_batch[0][:3]
    path = tmp_path / f"{name}.onnx"
    torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}}, opset_version=17, dynamo=False)  # fmt: skip
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        want = model(x).numpy()
    assert np.abs(got - want).max() < 1e-4


def test_unknown_model():
    with pytest.raises(GrinlabError, match="available: .*simple_cnn"):
        create_model("alexnet", 2)


@pytest.mark.skipif(
    HAVE_TV, reason="torchvision is installed here; the missing-torchvision message cannot be shown"
)
def test_torchvision_backbones_say_what_they_need():
    with pytest.raises(GrinlabError, match="needs torchvision"):
        create_model("torchvision_resnet18", 2)


@pytest.mark.skipif(not HAVE_TV, reason="torchvision is not installed (optional backbone)")
def test_torchvision_backbone_builds_without_download():
    m = create_model("torchvision_mobilenet_v3_small", 2, in_chans=1).eval()
    assert m(torch.zeros(1, 1, 64, 64)).shape == (1, 2)
