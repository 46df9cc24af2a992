"""Trainer on real SMILEsmileD crops: loss goes down, exact resume, run-folder refusals."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from grinlab.data.dataset import FaceDataset
from grinlab.errors import GrinlabError
from grinlab.modelcard import sha256_file
from grinlab.train.checkpoint import load_checkpoint
from grinlab.train.config import TrainConfig
from grinlab.train.export import export_onnx
from grinlab.train.predict import TorchPredictor, load_run_model
from grinlab.train.trainer import Trainer


def smile_dataset(root: Path, per_class: int) -> FaceDataset:
    """The first ``per_class`` smiling and non-smiling SMILEsmileD crops, labels from the folder."""
    images, labels, sources = [], [], []
    for label, folder in enumerate(["negatives/negatives7", "positives/positives7"]):
        for path in sorted((root / "SMILEs" / folder).glob("*.jpg"))[:per_class]:
            images.append(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
            labels.append(label)
            sources.append(str(path))
    return FaceDataset("smilesmiled", "smile", ("no_smile", "smile"), images, np.array(labels), sources)


@pytest.fixture(scope="module")
def splits(smilesmiled_dir):
    return smile_dataset(smilesmiled_dir, 150).split_by(0.2, seed=0)


def quick_config(**kw) -> TrainConfig:
    base = dict(model="simple_cnn", task="smile", epochs=2, batch_size=32, augment="standard", evaluate=False)
    return TrainConfig(**{**base, **kw})


def test_a_few_epochs_reduce_the_loss(splits, tmp_path):
    trainer = Trainer(quick_config(epochs=4, augment="none", lr=3e-3), tmp_path / "run")
    history = trainer.fit(*splits)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    run = tmp_path / "run"
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert lines == history
    for key in (
        "epoch",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "val_macro_f1",
        "lr",
        "seconds",
        "images_per_s",
    ):
        assert key in lines[0]
    info = json.loads((run / "config.json").read_text())
    assert info["model"] == "simple_cnn" and info["params"] > 0
    assert info["datasets"]["train"]["size"] == len(splits[0]) and info["command"]
    assert (run / "checkpoints" / "last.pt").is_file() and (run / "checkpoints" / "best.pt").is_file()


def interrupt_at_epoch(monkeypatch, epoch: int) -> None:
    """Make the trainer raise KeyboardInterrupt (like Ctrl-C) when ``epoch`` starts."""
    import inspect

    import grinlab.train.trainer as trainer_module

    original = trainer_module.train_epoch
    signature = inspect.signature(original)

    def train_epoch(*args, **kwargs):
        if signature.bind(*args, **kwargs).arguments["epoch"] == epoch:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "train_epoch", train_epoch)


def test_interrupt_then_resume_gives_identical_weights(splits, tmp_path, monkeypatch):
    # augmentation, shuffling, dropout, label smoothing and a cosine schedule all on
    cfg = quick_config(epochs=2, scheduler="cosine", warmup_epochs=1, label_smoothing=0.1)
    Trainer(cfg, tmp_path / "full").fit(*splits)

    run = tmp_path / "split"
    with monkeypatch.context() as m:
        interrupt_at_epoch(m, 2)
        with pytest.raises(KeyboardInterrupt):
            Trainer(cfg, run).fit(*splits)
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1
    assert (run / "metrics.jsonl").read_text().count("\n") == 1  # what was written stays
    history = Trainer(cfg, run, resume=True).fit(*splits)
    assert [h["epoch"] for h in history] == [1, 2]

    full = load_checkpoint(tmp_path / "full" / "checkpoints" / "last.pt")
    resumed = load_checkpoint(run / "checkpoints" / "last.pt")
    assert full["epoch"] == resumed["epoch"] == 2
    for name, tensor in full["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    assert (run / "metrics.jsonl").read_text().count("\n") == 2


def test_interrupt_in_first_epoch_resumes_from_the_start(splits, tmp_path, monkeypatch):
    run = tmp_path / "run"
    with monkeypatch.context() as m:
        interrupt_at_epoch(m, 1)
        with pytest.raises(KeyboardInterrupt):
            Trainer(quick_config(epochs=1), run).fit(*splits)
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 0
    assert [h["epoch"] for h in Trainer(quick_config(epochs=1), run, resume=True).fit(*splits)] == [1]


def test_refuses_existing_run_folder(splits, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    with pytest.raises(GrinlabError, match="exists; pass --resume to continue it or --force to overwrite"):
        Trainer(quick_config(epochs=1), run).fit(*splits)
    assert [p.name for p in run.iterdir()] == ["notes.txt"]
    with pytest.raises(GrinlabError, match="nothing to resume"):
        Trainer(quick_config(epochs=1), run, resume=True).fit(*splits)
    Trainer(quick_config(epochs=1), run, force=True).fit(*splits)
    assert (run / "checkpoints" / "last.pt").is_file() and (run / "notes.txt").read_text() == "mine"


def test_a_resumed_transfer_run_needs_no_network_to_start_from(splits, tmp_path, monkeypatch):
    # every weight of a resumed run comes from last.pt: the --init-from file is not read again
    Trainer(quick_config(epochs=1), tmp_path / "source").fit(*splits)
    start = tmp_path / "start.pt"
    start.write_bytes((tmp_path / "source" / "checkpoints" / "best.pt").read_bytes())
    cfg = quick_config(epochs=2, init_from=str(start), freeze="all_but_last")
    run = tmp_path / "run"
    with monkeypatch.context() as m:
        interrupt_at_epoch(m, 2)
        with pytest.raises(KeyboardInterrupt):
            Trainer(cfg, run).fit(*splits)
    start.unlink()
    assert [h["epoch"] for h in Trainer(cfg, run, resume=True).fit(*splits)] == [1, 2]


def _outputs(model, splits) -> torch.Tensor:
    from grinlab.preprocess import normalize

    spec = quick_config().preprocessing
    faces = np.stack(
        [cv2.resize(im, spec.size[::-1], interpolation=cv2.INTER_AREA) for im in splits[1].images[:16]]
    )
    x = torch.from_numpy(normalize(faces, spec))
    with torch.no_grad():
        return model.eval()(x)


def test_keep_head_continues_a_network_of_the_same_labels(splits, tmp_path, monkeypatch):
    from grinlab.train.network import build_model

    classes = ("no_smile", "smile")
    Trainer(quick_config(epochs=1), tmp_path / "a").fit(*splits)  # a network with its own zoo head
    a_best = str(tmp_path / "a" / "checkpoints" / "best.pt")
    # a transfer run of it (a new two-layer head), then networks continued from each, head and all
    Trainer(quick_config(epochs=1, init_from=a_best), tmp_path / "b").fit(*splits)
    # b's card says what it started from, and how that was made, so it reproduces from scratch
    made_a, info_b = (json.loads((tmp_path / r / "config.json").read_text()) for r in ("a", "b"))
    sha = sha256_file(a_best)
    assert info_b["init_from"] == {
        "file": "best.pt",
        "name": "a",
        "sha256": sha,
        "command": made_a["command"],
    }
    card = export_onnx(tmp_path / "b", tmp_path / "b.onnx", name="b")
    assert card.metrics["initialised_from"] == {"file": "best.pt", "name": "a", "sha256": sha}
    assert card.command.startswith(
        f"start a (best.pt, sha256 {sha[:12]}):\n{made_a['command']}\n{info_b['command']}"
    )
    for source in ("a", "b"):
        model, *_ = load_run_model(tmp_path / source)
        cfg = quick_config(
            epochs=2, init_from=str(tmp_path / source / "checkpoints" / "best.pt"), keep_head=True
        )
        kept = build_model(cfg, 2, classes=classes)
        assert torch.allclose(_outputs(kept, splits), _outputs(model, splits), atol=1e-6), source
        new = build_model(cfg.__class__(**{**cfg.to_dict(), "keep_head": False}), 2, classes=classes)
        assert not torch.allclose(_outputs(new, splits), _outputs(model, splits), atol=1e-3)
        # trained, interrupted and resumed, then loaded back for export: the kept structure each time
        run = tmp_path / f"kept_{source}"
        with monkeypatch.context() as m:
            interrupt_at_epoch(m, 2)
            with pytest.raises(KeyboardInterrupt):
                Trainer(cfg, run).fit(*splits)
        assert [h["epoch"] for h in Trainer(cfg, run, resume=True).fit(*splits)] == [1, 2]
        assert load_run_model(run)[3] == classes


def test_a_start_beside_a_damaged_run_config_is_still_named(splits, tmp_path):
    Trainer(quick_config(epochs=1), tmp_path / "a").fit(*splits)
    (tmp_path / "a" / "config.json").write_text("{cut short")
    start = tmp_path / "a" / "checkpoints" / "best.pt"
    Trainer(quick_config(epochs=1, init_from=str(start)), tmp_path / "b").fit(*splits)
    info = json.loads((tmp_path / "b" / "config.json").read_text())
    assert info["init_from"] == {
        "file": "best.pt",
        "name": "best",
        "sha256": sha256_file(start),
        "command": "",
    }


def test_keep_head_refuses_other_labels(splits, tmp_path):
    from grinlab.train.network import build_model

    Trainer(quick_config(epochs=1), tmp_path / "a").fit(*splits)
    ckpt = torch.load(tmp_path / "a" / "checkpoints" / "best.pt", weights_only=False)
    ckpt["classes"] = ["smile", "no_smile"]  # the same two labels, the other way round
    torch.save(ckpt, tmp_path / "swapped.pt")
    cfg = quick_config(init_from=str(tmp_path / "swapped.pt"), keep_head=True)
    with pytest.raises(GrinlabError, match="same labels in the same order"):
        build_model(cfg, 2, classes=("no_smile", "smile"))
    with pytest.raises(GrinlabError, match="keep_head needs init_from"):
        quick_config(keep_head=True)


def test_resume_with_other_options_is_refused(splits, tmp_path):
    Trainer(quick_config(epochs=1), tmp_path / "run").fit(*splits)
    with pytest.raises(GrinlabError, match="cannot resume with a different lr"):
        Trainer(quick_config(epochs=2, lr=0.1), tmp_path / "run", resume=True).fit(*splits)


@pytest.mark.parametrize(
    "options",
    [
        dict(optimizer="sgd", scheduler="step", step_epochs=1, class_weights="balanced"),
        dict(optimizer="adamw", scheduler="onecycle", balanced_sampling=True, augment="scar"),
        dict(optimizer="rmsprop", scheduler="plateau", patience=1, monitor="val_acc"),
        dict(optimizer="adadelta", lr=1.0, warmup_epochs=1, augment="strong"),
    ],
)
def test_optimizers_and_schedulers_train(splits, tmp_path, options):
    history = Trainer(quick_config(epochs=2, max_train_batches=3, **options), tmp_path / "run").fit(*splits)
    assert len(history) >= 1 and all(np.isfinite(h["train_loss"]) for h in history)


def test_macro_f1_monitor_picks_the_epoch_with_the_best_macro_f1(splits, tmp_path):
    # for imbalanced tasks (valence) accuracy favours the majority class; best.pt follows macro-F1
    cfg = quick_config(epochs=4, lr=3e-3, scheduler="plateau", monitor="val_macro_f1")
    trainer = Trainer(cfg, tmp_path / "run")
    history = trainer.fit(*splits)
    f1 = [h["val_macro_f1"] for h in history]
    summary = trainer.summary()
    assert summary.best_epoch == 1 + int(np.argmax(f1)) and summary.best_value == max(f1)
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["epoch"] == summary.best_epoch
    with pytest.raises(GrinlabError, match="val_macro_f1"):
        quick_config(monitor="macro_f1")


def test_soft_labels_need_soft_targets(splits, tmp_path):
    train, val = splits
    with pytest.raises(GrinlabError, match="no soft labels"):
        Trainer(quick_config(epochs=1, soft_labels=True), tmp_path / "run").fit(train, val)
    soft = np.eye(2, dtype=np.float32)[train.labels] * 0.8 + 0.1
    train = train.subset(np.arange(len(train)))
    train.soft_labels = soft
    history = Trainer(quick_config(epochs=1, soft_labels=True), tmp_path / "soft").fit(train, val)
    assert np.isfinite(history[0]["train_loss"])


def test_best_model_predicts_probabilities_and_results(splits, tmp_path):
    trainer = Trainer(quick_config(epochs=2, evaluate=True), tmp_path / "run")
    trainer.fit(*splits)
    model, cfg, spec, classes = load_run_model(tmp_path / "run")
    assert classes == ("no_smile", "smile") and cfg.model == "simple_cnn"
    probs = TorchPredictor(model, spec)(np.stack(splits[1].images[:5]))
    assert probs.shape == (5, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert 0.0 <= results["val"]["accuracy"] <= 1.0 and results["val"]["n"] == len(splits[1])
    assert "run folder" in trainer.summary().line()
    # the run's results.json and its report say the same (one metrics module)
    report = json.loads((tmp_path / "run" / "report" / "summary.json").read_text())
    for key in ("accuracy", "macro_f1"):
        assert results["val"][key] == pytest.approx(report[key], abs=1e-9), key


def test_config_validation():
    with pytest.raises(GrinlabError, match="optimizer must be one of"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(GrinlabError, match="unknown model"):
        TrainConfig(model="no_such_net")
    with pytest.raises(GrinlabError, match="unknown task"):
        TrainConfig(task="joy")
    with pytest.raises(GrinlabError, match="freeze needs init_from"):
        TrainConfig(freeze="backbone")
    cfg = TrainConfig(epochs=3, data_options={"usage": "x"})
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(GrinlabError, match="unknown training option"):
        TrainConfig.from_dict({"epochs": 2, "colour": "red"})


def test_loader_workers_do_not_change_the_result(splits, tmp_path):
    # augmentation is keyed by (seed, epoch, index), so worker processes draw the same images
    cfg = quick_config(epochs=1, augment="strong", balanced_sampling=True)
    Trainer(cfg, tmp_path / "w0").fit(*splits)
    Trainer(cfg.replace(num_workers=1), tmp_path / "w1").fit(*splits)
    a = load_checkpoint(tmp_path / "w0" / "checkpoints" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "w1" / "checkpoints" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_time_budget_plans_the_epochs_and_ends_the_schedule(splits, tmp_path):
    # a budget shorter than one epoch: the run keeps its warmup epoch and one more, and the cosine
    # schedule ends on the last planned step instead of at --epochs
    cfg = quick_config(epochs=6, scheduler="cosine", warmup_epochs=1, time_budget=1e-3)
    history = Trainer(cfg, tmp_path / "short").fit(*splits)
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[-1]["lr"] < 1e-9 < history[0]["lr"]
    assert load_checkpoint(tmp_path / "short" / "checkpoints" / "last.pt")["planned_epochs"] == 2
    # a budget that holds every epoch changes nothing
    roomy = Trainer(cfg.replace(epochs=2, time_budget=3600.0), tmp_path / "roomy").fit(*splits)
    assert [h["epoch"] for h in roomy] == [1, 2]
    with pytest.raises(GrinlabError, match="cannot be re-planned"):
        quick_config(scheduler="onecycle", time_budget=60.0)


def test_time_budget_replans_at_each_warmup_epochs_pace(tmp_path):
    # a slow first epoch (kernel tuning, runs starting side by side) must not shorten the whole run:
    # after the second warmup epoch the plan is what is left of the budget at that epoch's pace
    trainer = Trainer(
        quick_config(epochs=100, scheduler="cosine", warmup_epochs=2, time_budget=30.0), tmp_path
    )
    state = {"planned_epochs": 100}
    history = [{"epoch": 1, "seconds": 10.0}]
    trainer._plan_epochs(state, history, None, steps=1)
    assert state["planned_epochs"] == 3  # 30 // 10
    history.append({"epoch": 2, "seconds": 2.0})
    trainer._plan_epochs(state, history, None, steps=1)
    assert state["planned_epochs"] == 2 + (30 - 12) // 2
    history.append({"epoch": 3, "seconds": 50.0})  # over budget: still one more epoch than done
    trainer._plan_epochs(state, history, None, steps=1)
    assert state["planned_epochs"] == 4


def test_time_budget_replans_after_the_second_epoch_without_warmup(splits, tmp_path, monkeypatch):
    # with one warmup epoch (or none) the plan was fixed by the first epoch alone: slow first epochs
    # (here 1000x the rest, as a GPU's kernel tuning makes them) cut a long budget to a few epochs
    import grinlab.train.trainer as trainer_module

    seconds = iter([1000.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    real = trainer_module.Trainer._plan_epochs

    def paced(self, state, history, scheduler, steps):
        for row in history:  # the measured seconds replaced by a scripted pace, once per epoch
            row.setdefault("scripted", next(seconds))
            row["seconds"] = row["scripted"]
        real(self, state, history, scheduler, steps)

    monkeypatch.setattr(trainer_module.Trainer, "_plan_epochs", paced)
    cfg = quick_config(epochs=6, scheduler="cosine", warmup_epochs=1, time_budget=1100.0)
    history = Trainer(cfg, tmp_path / "paced").fit(*splits)
    # after epoch 1: 100 s left at 1000 s an epoch -> 2 epochs; after epoch 2 (its real seconds,
    # under 100 even on a loaded CI machine, leave budget): 99 s left at 1 s -> all 6
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6]
    assert history[-1]["lr"] < 1e-9


def test_channels_last_weights_train_resume_and_export(splits, tmp_path, monkeypatch):
    # a GPU run keeps its weights channels-last (faster mixed-precision convolutions); forced here on
    # the CPU, the run must still resume exactly and export a file that agrees with its checkpoint
    import grinlab.train.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "memory_format", lambda device: torch.channels_last)
    cfg = quick_config(model="resnet_tiny", epochs=2)
    Trainer(cfg, tmp_path / "whole").fit(*splits)
    interrupt_at_epoch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, tmp_path / "resumed").fit(*splits)
    monkeypatch.undo()
    monkeypatch.setattr(trainer_module, "memory_format", lambda device: torch.channels_last)
    Trainer(cfg, tmp_path / "resumed", resume=True).fit(*splits)
    a = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    card = export_onnx(tmp_path / "whole", tmp_path / "cl.onnx", name="cl")
    assert card.metrics["onnx_parity"]["max_abs_diff"] < 1e-4


def test_a_resume_reads_last_pt_once(splits, tmp_path, monkeypatch):
    # last.pt holds the whole optimiser state: a kept head's structure and the resume take it from
    # one read
    import grinlab.train.checkpoint as checkpoint_module
    import grinlab.train.trainer as trainer_module

    Trainer(quick_config(epochs=1), tmp_path / "a").fit(*splits)
    start = str(tmp_path / "a" / "checkpoints" / "best.pt")
    cfg = quick_config(epochs=2, init_from=start, keep_head=True)
    interrupt_at_epoch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, tmp_path / "run").fit(*splits)
    monkeypatch.undo()
    reads = []
    original = checkpoint_module.load_checkpoint

    def counting(path):
        reads.append(Path(path).name)
        return original(path)

    monkeypatch.setattr(trainer_module, "load_checkpoint", counting)
    monkeypatch.setattr(checkpoint_module, "load_checkpoint", counting)
    history = Trainer(cfg, tmp_path / "run", resume=True).fit(*splits)
    assert [h["epoch"] for h in history] == [1, 2]
    assert reads.count("last.pt") == 1


@pytest.mark.slow
def test_compiled_step_trains_resumes_uncompiled_and_exports(splits, tmp_path, monkeypatch):
    # --compile wraps only the training step's call: the checkpoint holds the network's own names
    # (no torch.compile "_orig_mod." prefix), so the run resumes without --compile and exports; one
    # compiled epoch here costs the compilation (tens of seconds on this CPU), hence a tiny run
    cfg = quick_config(epochs=2, augment="none", compile="default", max_train_batches=2)
    interrupt_at_epoch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, tmp_path / "run").fit(*splits)
    monkeypatch.undo()
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert state["epoch"] == 1 and not any(k.startswith("_orig_mod") for k in state["model"])
    history = Trainer(cfg.replace(compile="none"), tmp_path / "run", resume=True).fit(*splits)
    assert [h["epoch"] for h in history] == [1, 2]
    card = export_onnx(tmp_path / "run", tmp_path / "c.onnx", name="c")
    assert card.metrics["onnx_parity"]["max_abs_diff"] < 1e-4


def test_compile_without_a_toolchain_says_what_to_install(splits, tmp_path, monkeypatch):
    import grinlab.train.devices as devices

    monkeypatch.setattr(devices.shutil, "which", lambda name: None)
    with pytest.raises(GrinlabError, match="needs a C\\+\\+ compiler.*drop --compile"):
        Trainer(quick_config(compile="default", device="cpu"), tmp_path / "run").fit(*splits)
    with pytest.raises(GrinlabError, match="compile must be one of none, default"):
        quick_config(compile="fast")


def test_optimizers_are_fused_on_a_gpu_only():
    # one kernel per step for all parameters on CUDA; the CPU keeps the implementation its recipes
    # were made with. Fused SGD/AdamW also run on the CPU, which checks the options they get.
    from grinlab.train.optim import make_optimizer

    net = torch.nn.Linear(3, 2)
    for name in ("sgd", "adam", "adamw"):
        opt = make_optimizer(quick_config(optimizer=name), net.parameters())
        assert not opt.defaults.get("fused")

    class CudaLooking(torch.nn.Parameter):
        is_cuda = True

    params = [CudaLooking(torch.zeros(2, 3))]
    for name in ("sgd", "adam", "adamw"):
        opt = make_optimizer(quick_config(optimizer=name), params)
        assert opt.defaults["fused"] is True
        params[0].grad = torch.ones(2, 3)
        opt.step()  # the fused kernels exist for the CPU too
