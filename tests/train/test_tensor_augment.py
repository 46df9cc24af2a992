"""Tensor augmentation and the GPU-resident data path, on real SMILEsmileD crops (run here on CPU):
parity with preprocess.normalize, determinism in (seed, epoch, index), each op within its preset's
ranges, exact resume and accuracy comparable to the albumentations path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from test_trainer import interrupt_at_epoch, quick_config, smile_dataset

from grinlab.data.dataset import FaceDataset
from grinlab.errors import GrinlabError
from grinlab.preprocess import Preprocessing, normalize
from grinlab.train import tensor_augment as ta
from grinlab.train.augment_presets import PRESET_RANGES, PRESETS
from grinlab.train.checkpoint import load_checkpoint
from grinlab.train.device_data import DeviceLoader, resolve_augment_on
from grinlab.train.tensor_augment import TensorAugmenter, affine_warp
from grinlab.train.torch_data import FaceTorchDataset
from grinlab.train.trainer import Trainer

N_STATS = 2048  # samples for the rate checks: a binomial rate's 4-sigma band is about +-0.045


@pytest.fixture(scope="module")
def grey(smilesmiled_dir) -> np.ndarray:
    """64 real 48x48 grey face crops, smiling and not."""
    paths = []
    for folder in ("positives/positives7", "negatives/negatives7"):
        paths += sorted((smilesmiled_dir / "SMILEs" / folder).glob("*.jpg"))[:32]
    return np.stack([cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), (48, 48)) for p in paths])


@pytest.fixture(scope="module")
def bgr(grey) -> np.ndarray:
    return np.stack([cv2.cvtColor(g, cv2.COLOR_GRAY2BGR) for g in grey])


def many(images: np.ndarray, n: int = N_STATS) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples (the crops repeated, each repeat a different sample index)."""
    reps = -(-n // len(images))
    return torch.from_numpy(np.concatenate([images] * reps)[:n]), torch.arange(n)


def floats(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images).float()
    return x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)


def fired(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    return (before != after).flatten(1).any(1)


@pytest.mark.parametrize("norm", ["per_image", "mean_std", "unit"])
@pytest.mark.parametrize("colour", ["grey", "bgr"])
def test_none_is_preprocess_normalize(grey, bgr, norm, colour):
    images = grey if colour == "grey" else bgr
    c = 1 if colour == "grey" else 3
    spec = Preprocessing(normalization=norm, channels=c, mean=(0.4,) * c, std=(0.3,) * c)
    out = TensorAugmenter("none", 0, spec)(torch.from_numpy(images), torch.arange(len(images)), 5)
    assert out.dtype == torch.float32 and out.shape == (len(images), c, 48, 48)
    np.testing.assert_allclose(out.numpy(), normalize(images, spec), rtol=0, atol=1e-5)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("colour", ["grey", "bgr"])
def test_shapes_dtypes_finite(grey, bgr, preset, colour):
    images = grey if colour == "grey" else bgr
    spec = Preprocessing(channels=1 if colour == "grey" else 3)
    aug = TensorAugmenter(preset, 3, spec)
    pixels = aug.augment(torch.from_numpy(images), torch.arange(len(images)), 1)
    assert pixels.dtype == torch.float32 and pixels.shape == (len(images), spec.channels, 48, 48)
    assert pixels.min() >= 0 and pixels.max() <= 255 and torch.equal(pixels, pixels.round())
    out = aug(torch.from_numpy(images), torch.arange(len(images)), 1)
    assert torch.isfinite(out).all()
    per_image = out.flatten(1)
    assert torch.allclose(per_image.mean(1), torch.zeros(len(images)), atol=1e-4)
    if preset != "none":
        assert fired(floats(images), pixels).float().mean() > 0.5


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "none"])
def test_a_sample_depends_only_on_seed_epoch_and_index(grey, preset):
    images, index = torch.from_numpy(grey), torch.arange(len(grey)) * 7 + 3
    aug = TensorAugmenter(preset, seed=11)
    whole = aug(images, index, 4)
    # other batch sizes and orders, and a fresh augmenter: the same sample, the same image
    order = torch.randperm(len(grey), generator=torch.Generator().manual_seed(0))
    again = torch.empty_like(whole)
    for chunk in torch.split(order, 13):
        again[chunk] = TensorAugmenter(preset, seed=11)(images[chunk], index[chunk], 4)
    torch.testing.assert_close(again, whole, rtol=0, atol=1e-5)
    # and another epoch, seed or index gives other augmentations
    for other in (aug(images, index, 5), TensorAugmenter(preset, seed=12)(images, index, 4)):
        assert (other - whole).abs().flatten(1).amax(1).gt(1e-3).float().mean() > 0.3
    shifted = aug(images, index + 1, 4)
    assert (shifted - whole).abs().flatten(1).amax(1).gt(1e-3).float().mean() > 0.3


def test_hash_draws_are_uniform_and_independent():
    keys = ta.sample_keys(0, 1, torch.arange(20000))
    d = ta._Draws(keys)
    a, b = d.uniform(), d.uniform()
    assert abs(float(a.mean()) - 0.5) < 0.01 and abs(float(a.var()) - 1 / 12) < 0.003
    assert abs(float(torch.corrcoef(torch.stack([a, b]))[0, 1])) < 0.03
    counts = torch.bincount(d.randint(1, 3).long(), minlength=4)[1:]
    assert (counts.float() / len(keys) - 1 / 3).abs().max() < 0.02
    z = ta._Draws(keys[:64]).normal((48, 48))(torch.arange(64))
    assert abs(float(z.mean())) < 0.02 and abs(float(z.std()) - 1) < 0.02


def test_flip_rate(grey):
    images, index = many(grey)
    x = floats(images.numpy())
    out = ta._flip(x, ta._Draws(ta.sample_keys(0, 0, index)))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    assert ((out == x).flatten(1).all(1) | flipped).all()
    assert abs(float(flipped.float().mean()) - 0.5) < 0.045


def test_affine_warp_matches_opencv_with_albumentations_matrix(grey):
    from albumentations.augmentations.geometric import functional as fg

    for tx, ty, sx, sy, deg in [(3, -2, 1.1, 0.9, 15.0), (-4, 4, 0.85, 1.15, -20.0), (0, 0, 1.0, 1.0, 0.0)]:
        m = fg.create_affine_transformation_matrix(
            {"x": tx, "y": ty}, {"x": 0, "y": 0}, {"x": sx, "y": sy}, deg, fg.center((48, 48))
        )
        ref = np.stack(
            [cv2.warpAffine(g, m[:2], (48, 48), borderMode=cv2.BORDER_REFLECT_101) for g in grey]
        ).astype(np.float32)
        n = len(grey)
        args = [torch.full((n,), float(v)) for v in (tx, ty, sx, sy, deg)]
        out = affine_warp(floats(grey), *args)[:, 0].numpy()
        diff = np.abs(out - ref)
        assert diff.mean() < 0.5 and diff.max() < 3, (tx, ty, sx, sy, deg)  # OpenCV rounds to 1/32 px


def test_affine_rate_and_strength(grey):
    images, index = many(grey)
    x = floats(images.numpy())
    change = {}
    for preset in ("light", "strong"):
        out = ta._affine(x, ta._Draws(ta.sample_keys(0, 0, index)), PRESET_RANGES[preset])
        on = fired(x, out)
        assert abs(float(on.float().mean()) - ta.AFFINE_P) < 0.045
        change[preset] = float((out - x).abs()[on].mean())
    # small warps of a face (a few grey levels per pixel on average), larger for "strong"
    assert 3 < change["light"] < change["strong"] < 40, change


def test_brightness_contrast_within_limits(grey):
    images, index = many(grey, 512)
    x, r = floats(images.numpy()), PRESET_RANGES["light"]
    out = ta._brightness_contrast(x, ta._Draws(ta.sample_keys(0, 0, index)), r)
    on = fired(x, out)
    assert abs(float(on.float().mean()) - ta.BRIGHTNESS_CONTRAST_P) < 0.09
    lim = r.brightness_contrast
    for i in torch.nonzero(on)[:50, 0]:
        a, b = x[i].flatten(), out[i].flatten()
        keep = (b > 0) & (b < 255)  # unclipped pixels follow out = alpha * x + beta exactly
        alpha, beta = np.polyfit(a[keep].numpy(), b[keep].numpy(), 1)
        assert 1 - lim - 1e-3 <= alpha <= 1 + lim + 1e-3 and abs(beta) <= lim * 255 + 0.5


def test_erasing_holes(grey):
    white = torch.full((N_STATS, 1, 48, 48), 255.0)
    out = ta._erase(white, ta._Draws(ta.sample_keys(0, 0, torch.arange(N_STATS))), 0.5)
    holes = out[:, 0] == 0
    on = holes.flatten(1).any(1)
    assert abs(float(on.float().mean()) - 0.5) < 0.045
    lo, hi = int(48 * 0.1), int(48 * 0.3)
    n_two = 0
    for mask in holes[on].numpy().astype(np.uint8)[:300]:
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        assert 2 <= n <= 3  # background + one or two holes (overlapping holes merge)
        for *_, w, h, area in stats[1:]:
            if area == w * h:  # a lone rectangle: both sides in the preset's range
                assert lo <= w <= hi and lo <= h <= hi
        n_two += n == 3
    assert n_two > 50  # two holes happen too
    # and on a real crop, "standard" leaves black rectangles in about half the samples
    images, index = many(grey, 512)
    pixels = TensorAugmenter("standard", 0).augment(images, index, 0)
    assert 0.3 < float((pixels == 0).flatten(1).sum(1).ge(lo * lo).float().mean()) < 0.7


def test_scars_are_dark_or_bright_strokes():
    grey = torch.full((N_STATS, 1, 48, 48), 128.0)
    out = ta._scars(grey, ta._Draws(ta.sample_keys(0, 0, torch.arange(N_STATS))), 0.5)
    changed = out != 128
    on = changed.flatten(1).any(1)
    assert abs(float(on.float().mean()) - 0.5) < 0.045
    share = changed.flatten(1).float().mean(1)[on]
    assert share.max() < 0.6 and share.median() < 0.2  # thin strokes, not blocks
    cores = out[(out <= 40) | (out >= 215)]  # fully covered pixels take the scar's value
    assert len(cores) > 0 and ((cores <= ta.SCAR_DARK[1]) | (cores >= ta.SCAR_BRIGHT[0])).all()
    darks, brights = (out <= 40).flatten(1).any(1), (out >= 215).flatten(1).any(1)
    assert darks.sum() > 200 and brights.sum() > 200


def test_blur_or_noise(grey):
    images, index = many(grey)
    x = floats(images.numpy())
    out = ta._blur_or_noise(x, ta._Draws(ta.sample_keys(0, 0, index)), 0.3)
    on = fired(x, out)
    assert abs(float(on.float().mean()) - 0.3) < 0.045
    # blur lowers the high frequencies, noise raises them: both kinds occur, about equally often
    lap = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=torch.float32).view(1, 1, 3, 3)
    energy_in = torch.nn.functional.conv2d(x, lap).flatten(1).var(1)
    energy_out = torch.nn.functional.conv2d(out, lap).flatten(1).var(1)
    blurred, noisy = on & (energy_out < energy_in), on & (energy_out > energy_in)
    assert int(blurred.sum() + noisy.sum()) == int(on.sum())
    assert abs(float(blurred.sum()) / float(on.sum()) - 0.5) < 0.1


def test_misuse(grey):
    with pytest.raises(GrinlabError, match="unknown augmentation preset 'wild'"):
        TensorAugmenter("wild")
    aug = TensorAugmenter("light")
    with pytest.raises(GrinlabError, match="expects uint8"):
        aug(torch.from_numpy(grey).float(), torch.arange(len(grey)), 0)
    with pytest.raises(GrinlabError, match="do not match the model input"):
        aug(torch.from_numpy(grey[:, :40, :40].copy()), torch.arange(len(grey)), 0)
    with pytest.raises(GrinlabError, match="one sample index per image"):
        aug(torch.from_numpy(grey), torch.arange(3), 0)
    assert resolve_augment_on("auto", torch.device("cpu")) == "cpu"
    assert resolve_augment_on("auto", torch.device("cuda")) == "device"
    with pytest.raises(GrinlabError, match="augment-on must be one of auto, cpu, device"):
        quick_config(augment_on="gpu")


# -- the device data path in the trainer (on CPU here) ------------------------------------------


@pytest.fixture(scope="module")
def splits(smilesmiled_dir):
    return smile_dataset(smilesmiled_dir, 150).split_by(0.2, seed=0)


def test_device_loader_batches(splits):
    train = FaceTorchDataset(splits[0], Preprocessing(), "standard", seed=2)
    loader = DeviceLoader(train, 32, torch.Generator().manual_seed(0), torch.device("cpu"))
    train.set_epoch(3)
    batches = list(loader)
    assert len(batches) == len(loader) == -(-len(train) // 32)
    idx = torch.cat([b[2] for b in batches])
    assert sorted(idx.tolist()) == list(range(len(train)))  # a permutation: every crop once
    x, y, i = batches[0]
    assert x.shape == (32, 1, 48, 48) and y.dtype == torch.int64
    assert torch.equal(y, torch.from_numpy(train.labels)[i])
    torch.testing.assert_close(x, TensorAugmenter("standard", 2)(torch.from_numpy(train.images)[i], i, 3))
    # soft labels travel as float class distributions
    d = splits[0]
    soft = np.random.default_rng(0).dirichlet([1.0, 1.0], len(d)).astype(np.float32)
    with_soft = FaceDataset(d.name, d.task, d.classes, d.images, d.labels, d.sources, soft_labels=soft)
    soft_ds = FaceTorchDataset(with_soft, Preprocessing(), "light", soft_labels=True)
    _, y, i = next(iter(DeviceLoader(soft_ds, 16, torch.Generator().manual_seed(0), torch.device("cpu"))))
    assert y.dtype == torch.float32 and torch.equal(y, torch.from_numpy(soft)[i])
    # balanced sampling draws both classes about equally, with replacement
    balanced = DeviceLoader(train, 64, torch.Generator().manual_seed(0), torch.device("cpu"), balanced=True)
    labels = torch.cat([b[1] for b in balanced])
    assert abs(float(labels.float().mean()) - 0.5) < 0.1


def test_device_loader_augments_in_chunks_without_changing_a_batch(splits, monkeypatch):
    # many batches are augmented at once (kernel launches, not pixels, are what a GPU waits for);
    # the batches must be those of one batch at a time, including a short last chunk
    from grinlab.train import device_data

    train = FaceTorchDataset(splits[0], Preprocessing(), "standard", seed=5)
    train.set_epoch(2)

    def batches(chunk_bytes):
        monkeypatch.setattr(device_data, "CHUNK_BYTES", chunk_bytes)
        return list(DeviceLoader(train, 16, torch.Generator().manual_seed(1), torch.device("cpu")))

    one_at_a_time = batches(1)  # less than a batch: a chunk is one batch
    in_chunks = batches(3 * 16 * 48 * 48 * 4)  # three batches per chunk
    assert len(in_chunks) == len(one_at_a_time) == -(-len(train) // 16)
    for (xa, ya, ia), (xb, yb, ib) in zip(one_at_a_time, in_chunks):
        assert torch.equal(ia, ib) and torch.equal(ya, yb)
        torch.testing.assert_close(xa, xb, rtol=0, atol=1e-5)


def test_interrupt_then_resume_on_device_path_gives_identical_weights(splits, tmp_path, monkeypatch):
    cfg = quick_config(
        augment="strong", augment_on="device", scheduler="cosine", label_smoothing=0.1, max_train_batches=4
    )
    Trainer(cfg, tmp_path / "full").fit(*splits)
    run = tmp_path / "split"
    with monkeypatch.context() as m:
        interrupt_at_epoch(m, 2)
        with pytest.raises(KeyboardInterrupt):
            Trainer(cfg, run).fit(*splits)
    assert load_checkpoint(run / "checkpoints" / "last.pt")["augment_on"] == "device"
    # resuming onto the other augmentation path would change the run: refused, saying what to pass
    with pytest.raises(GrinlabError, match="augmented on device.*pass --augment-on device"):
        Trainer(cfg.replace(augment_on="cpu"), run, resume=True).fit(*splits)
    Trainer(cfg, run, resume=True).fit(*splits)
    full = load_checkpoint(tmp_path / "full" / "checkpoints" / "last.pt")
    resumed = load_checkpoint(run / "checkpoints" / "last.pt")
    assert full["epoch"] == resumed["epoch"] == 2
    for name, tensor in full["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name


@pytest.mark.slow
def test_device_path_learns_as_well_as_the_albumentations_path(smilesmiled_dir, tmp_path):
    train, val = smile_dataset(smilesmiled_dir, 500).split_by(0.2, seed=0)
    acc = {}
    for on in ("cpu", "device"):
        cfg = quick_config(epochs=3, batch_size=64, lr=3e-3, augment="standard", augment_on=on)
        history = Trainer(cfg, tmp_path / on).fit(train, val)
        acc[on] = max(h["val_acc"] for h in history)
    assert min(acc.values()) > 0.75, acc  # the chance level is 0.5
    assert abs(acc["cpu"] - acc["device"]) < 0.06, acc


def test_cli_augment_on_is_recorded_and_checked(smilesmiled_dir, tmp_path, capsys, monkeypatch):
    from grinlab.cli import main

    monkeypatch.setenv("GRINLAB_NO_PROGRESS", "1")
    data = tmp_path / "smiles"
    for label, folder in (("no_smile", "negatives/negatives7"), ("smile", "positives/positives7")):
        (data / label).mkdir(parents=True)
        for f in sorted((smilesmiled_dir / "SMILEs" / folder).glob("*.jpg"))[:40]:
            shutil.copy(f, data / label / f.name)
    base = ["train", "--data", str(data), "--task", "smile", "--model", "simple_cnn", "--epochs", "1"]
    base += ["--max-train-batches", "2", "--no-eval"]
    assert main([*base, "--out", str(tmp_path / "bad"), "--augment-on", "gpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "augment-on must be one of auto, cpu, device" in err[0]
    run = tmp_path / "run"
    assert main([*base, "--out", str(run), "--augment-on", "device"]) == 0
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["augment_on"] == "device" and "--augment-on device" in info["command"]
    assert load_checkpoint(run / "checkpoints" / "last.pt")["augment_on"] == "device"


NO_ALBUMENTATIONS = """
import sys
class Block:  # as if albumentations were not installed (the GPU machines here lack it)
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "albumentations":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from pathlib import Path
from test_trainer import smile_dataset
from grinlab.errors import GrinlabError
from grinlab.train.config import TrainConfig
from grinlab.train.trainer import Trainer
train, val = smile_dataset(Path(sys.argv[1]), 40).split_by(0.25, seed=0)
cfg = TrainConfig(model="simple_cnn", task="smile", epochs=1, augment="strong", augment_on="device", evaluate=False)
Trainer(cfg, Path(sys.argv[2]) / "device").fit(train, val)
try:
    Trainer(cfg.replace(augment_on="cpu"), Path(sys.argv[2]) / "cpu").fit(train, val)
except GrinlabError as exc:
    print(exc)
print("albumentations imported:", "albumentations" in sys.modules)
"""


def test_device_path_needs_no_albumentations(smilesmiled_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "GRINLAB_NO_PROGRESS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", NO_ALBUMENTATIONS, str(smilesmiled_dir), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=Path(__file__).parent, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert "needs albumentations" in lines[0] and "--augment-on device" in lines[0]
    assert lines[-1] == "albumentations imported: False"
    assert (tmp_path / "device" / "checkpoints" / "last.pt").is_file()


@pytest.mark.parametrize("preset", ["standard", "strong"])
def test_the_gpu_way_of_applying_an_op_gives_the_same_pixels(preset, monkeypatch):
    # on a GPU every op runs on all samples and keeps those where it fires (no host sync); on the CPU
    # only on those: the pixels must not depend on which
    g = torch.Generator().manual_seed(4)
    images = torch.randint(0, 256, (64, 48, 48), dtype=torch.uint8, generator=g)
    index = torch.arange(64) * 3
    subset = TensorAugmenter(preset, seed=2)(images, index, 1)
    monkeypatch.setattr(ta, "_all_rows", lambda x: True)
    everyone = TensorAugmenter(preset, seed=2)(images, index, 1)
    torch.testing.assert_close(everyone, subset, rtol=0, atol=1e-5)
