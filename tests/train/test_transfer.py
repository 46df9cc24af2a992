"""The FaceHack transfer recipe on every zoo family: load a 7-class backbone, new 2-layer head,
freeze all but the last block."""

from __future__ import annotations

import pytest
import torch

from grinlab.errors import GrinlabError
from grinlab.train.transfer import frozen_bn_eval, load_backbone_weights, prepare_transfer
from grinlab.train.zoo import create_model

FAMILIES = ["simple_cnn", "mini_xception", "resnet_tiny", "densenet_small", "inception_small", "vgg_small"]


@pytest.mark.parametrize("name", FAMILIES)
def test_load_7_class_backbone_into_2_class_model(name, tmp_path):
    torch.manual_seed(0)
    teacher = create_model(name, 7)
    ckpt = tmp_path / "fer.pt"
    torch.save({"model": teacher.state_dict(), "epoch": 3}, ckpt)
    student = create_model(name, 2)
    report = load_backbone_weights(student, ckpt)
    assert report["loaded"] and any(k.startswith("head.") for k in report["skipped"])
    first = student.blocks()[0]
    t_first = teacher.blocks()[0]
    for a, b in zip(first.state_dict().values(), t_first.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", FAMILIES)
def test_all_but_last_freezes_and_stays_frozen(name):
    torch.manual_seed(0)
    model = create_model(name, 7)
    info = prepare_transfer(model, 3, freeze="all_but_last")
    assert 0 < info["trainable"] < info["total"]
    blocks = model.blocks()
    assert all(p.requires_grad for p in blocks[-1].parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    assert not any(p.requires_grad for b in blocks[:-1] for p in b.parameters())
    frozen = {k: v.clone() for k, v in blocks[0].state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.train()
    frozen_bn_eval(model)
    x = torch.randn(8, 1, 48, 48)
    out = model(x)
    assert out.shape == (8, 3)
    torch.nn.functional.cross_entropy(out, torch.randint(0, 3, (8,))).backward()
    opt.step()
    for k, v in blocks[0].state_dict().items():
        assert torch.equal(v, frozen[k]), k  # weights and BN running stats untouched


def test_bad_freeze_and_bad_checkpoint(tmp_path):
    with pytest.raises(GrinlabError, match="all_but_last"):
        prepare_transfer(create_model("resnet_tiny", 2), 2, freeze="most")
    other = tmp_path / "other.pt"
    torch.save(create_model("vgg_small", 7).state_dict(), other)
    with pytest.raises(GrinlabError, match="same --model"):
        load_backbone_weights(create_model("resnet_tiny", 2), other)
