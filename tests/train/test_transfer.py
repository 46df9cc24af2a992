"""The FaceHack transfer recipe on every zoo family: load a 7-class backbone, new 2-layer head,
freeze all but the last block."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from grinlab.errors import GrinlabError
from grinlab.train.transfer import frozen_bn_eval, load_backbone_weights, prepare_transfer
from grinlab.train.zoo import create_model, list_models

NATIVE = [m for m in list_models() if not m.startswith("torchvision_")]
CHEAP = ["simple_cnn", "mini_xception", "resnet_tiny", "densenet_small", "inception_small", "vgg_small"]


@pytest.fixture(scope="module")
def faces(smilesmiled_dir):
    """16 real SMILEsmileD faces (8 smiling, 8 not), grey 48x48, per-image standardised."""
    root = smilesmiled_dir / "SMILEs"
    paths = sorted((root / "positives" / "positives7").glob("*.jpg"))[:8]
    paths += sorted((root / "negatives" / "negatives7").glob("*.jpg"))[:8]
    x = np.stack([cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), (48, 48)) for p in paths])
    x = x[:, None].astype(np.float32)
    x = (x - x.mean(axis=(1, 2, 3), keepdims=True)) / x.std(axis=(1, 2, 3), keepdims=True)
    return torch.from_numpy(x), torch.tensor([1] * 8 + [0] * 8)


def _fer_checkpoint(name, path, **kw):
    torch.manual_seed(0)
    teacher = create_model(name, 7, **kw)
    torch.save({"model": teacher.state_dict(), "epoch": 3}, path)  # the trainer's checkpoint layout
    return teacher


@pytest.mark.parametrize("name", NATIVE)
def test_7_class_checkpoint_loads_the_backbone_and_skips_the_head(name, tmp_path):
    teacher = _fer_checkpoint(name, tmp_path / "fer.pt")
    torch.manual_seed(1)
    student = create_model(name, 2)
    report = load_backbone_weights(student, tmp_path / "fer.pt")
    assert report["missing"] == []
    assert report["skipped"] and all(k.startswith("head.") for k in report["skipped"])
    for t_block, s_block in zip(teacher.blocks(), student.blocks(), strict=True):
        for (k, a), b in zip(t_block.state_dict().items(), s_block.state_dict().values(), strict=True):
            assert torch.equal(a, b), k


def test_a_raw_state_dict_loads_too(tmp_path):
    torch.manual_seed(0)
    teacher = create_model("resnet_tiny", 2)
    torch.save(teacher.state_dict(), tmp_path / "raw.pt")
    student = create_model("resnet_tiny", 2)
    report = load_backbone_weights(student, tmp_path / "raw.pt")
    assert report["skipped"] == [] and report["missing"] == []
    x = torch.randn(2, 1, 48, 48)
    with torch.no_grad():
        assert torch.equal(teacher.eval()(x), student.eval()(x))


def test_a_start_file_is_read_once_until_it_changes(tmp_path, monkeypatch):
    """check_init_from and the network build both load --init-from; an .onnx load is seconds."""
    path = tmp_path / "start.pt"
    torch.manual_seed(0)
    first = create_model("resnet_tiny", 2)
    torch.save(first.state_dict(), path)
    reads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **kw: reads.append(a[0]) or real_load(*a, **kw))
    a, b = create_model("resnet_tiny", 2), create_model("resnet_tiny", 2)
    load_backbone_weights(a, path)
    with torch.no_grad():  # a loaded network that changes must not change what the next one loads
        for p in a.parameters():
            p.add_(1.0)
    load_backbone_weights(b, path)
    assert len(reads) == 1
    assert all(torch.equal(x, y) for x, y in zip(first.state_dict().values(), b.state_dict().values()))
    torch.save({"model": a.state_dict(), "epoch": 1}, path)  # rewritten: read again
    load_backbone_weights(b, path)
    assert len(reads) == 2
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("name", NATIVE)
def test_freeze_modes_set_requires_grad(name):
    model = create_model(name, 7)
    blocks = model.blocks()
    info = prepare_transfer(model, 3, freeze="all_but_last")
    assert 0 < info["trainable"] < info["total"] and info["freeze"] == "all_but_last"
    assert all(p.requires_grad for m in (blocks[-1], model.head) for p in m.parameters())
    assert not any(p.requires_grad for b in blocks[:-1] for p in b.parameters())
    head = [m for m in model.head if not isinstance(m, (torch.nn.Flatten, torch.nn.AdaptiveAvgPool2d))]
    assert [type(m) for m in head] == [torch.nn.Linear, torch.nn.ReLU, torch.nn.Dropout, torch.nn.Linear]
    assert head[0].out_features == 256 and head[-1].out_features == 3

    only_head = prepare_transfer(model, 3, freeze="all")
    assert only_head["trainable"] == sum(p.numel() for p in model.head.parameters())
    assert prepare_transfer(model, 3, freeze="backbone")["trainable"] == only_head["trainable"]
    everything = prepare_transfer(model, 3, freeze="none")
    assert everything["trainable"] == everything["total"] and model.frozen_modules_ == []


@pytest.mark.parametrize("name", CHEAP)
def test_a_training_step_leaves_frozen_blocks_untouched(name, tmp_path, faces):
    _fer_checkpoint(name, tmp_path / "fer.pt")
    model = create_model(name, 2)
    load_backbone_weights(model, tmp_path / "fer.pt")
    torch.manual_seed(0)
    prepare_transfer(model, 2, freeze="all_but_last")
    blocks = model.blocks()
    before = [{k: v.clone() for k, v in b.state_dict().items()} for b in blocks]
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1, momentum=0.9)
    model.train()
    frozen_bn_eval(model)
    assert not any(m.training for b in blocks[:-1] for m in b.modules())
    assert blocks[-1].training and model.head.training
    x, y = faces
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for i, (block, old) in enumerate(zip(blocks[:-1], before[:-1], strict=True)):
        for k, v in block.state_dict().items():
            assert torch.equal(v, old[k]), f"frozen block {i}: {k} changed"  # weights and BN statistics
    last_before = before[-1]
    assert any(not torch.equal(v, last_before[k]) for k, v in blocks[-1].state_dict().items())


@pytest.mark.parametrize("name", ["mini_xception", "simple_cnn", "resnet_tiny"])
def test_a_transfer_model_exports_to_onnx(name, tmp_path, faces):
    import onnxruntime as ort

    model = create_model(name, 7)
    prepare_transfer(model, 2, freeze="all_but_last")
    model.eval()
    x = faces[0][:3]
    path = tmp_path / "t.onnx"
    torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)  # fmt: skip
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[
        0
    ]
    with torch.no_grad():
        assert np.abs(got - model(x).numpy()).max() < 1e-4


def test_strict_backbone_refuses_a_checkpoint_with_other_channels(tmp_path):
    _fer_checkpoint("resnet_tiny", tmp_path / "rgb.pt", in_chans=3)
    grey = create_model("resnet_tiny", 2, in_chans=1)
    with pytest.raises(
        GrinlabError,
        match=r"rgb\.pt: 1 backbone tensors do not fit .*stages\.0\.0\.weight.*strict_backbone=False",
    ):
        load_backbone_weights(grey, tmp_path / "rgb.pt")
    report = load_backbone_weights(grey, tmp_path / "rgb.pt", strict_backbone=False)
    assert report["missing"] == ["stages.0.0.weight"] and "stages.0.0.weight" in report["skipped"]


def test_misuse_says_what_is_wrong(tmp_path):
    with pytest.raises(GrinlabError, match="freeze must be one of none, all_but_last, all, got 'most'"):
        prepare_transfer(create_model("resnet_tiny", 2), 2, freeze="most")
    with pytest.raises(GrinlabError, match="does not follow the zoo contract"):
        prepare_transfer(torch.nn.Linear(3, 2), 2)

    other = tmp_path / "other.pt"
    torch.save(create_model("vgg_small", 7).state_dict(), other)
    with pytest.raises(GrinlabError, match="other.pt: none of its backbone weights fit .*same --model"):
        load_backbone_weights(create_model("resnet_tiny", 2), other)

    with pytest.raises(GrinlabError, match="missing.pt: checkpoint not found"):
        load_backbone_weights(create_model("resnet_tiny", 2), tmp_path / "missing.pt")
    garbage = tmp_path / "notes.pt"
    garbage.write_text("not a checkpoint\n")
    with pytest.raises(GrinlabError, match="notes.pt: cannot read this checkpoint"):
        load_backbone_weights(create_model("resnet_tiny", 2), garbage)
    card = tmp_path / "valence.json"  # a cascade's card is what users see beside the shipped models
    card.write_text('{"name": "valence", "stages": {}}')
    with pytest.raises(GrinlabError, match="valence.json: a model card, not a network; start from a run's"):
        load_backbone_weights(create_model("resnet_tiny", 2), card)
    a_list = tmp_path / "list.pt"
    torch.save([1, 2, 3], a_list)
    with pytest.raises(GrinlabError, match="list.pt: not a state dict"):
        load_backbone_weights(create_model("resnet_tiny", 2), a_list)
