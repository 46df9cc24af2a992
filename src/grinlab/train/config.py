"""TrainConfig: every choice of a training run in one frozen, validated, JSON-safe dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from ..errors import GrinlabError
from ..evaluate.compare import MONITORS
from ..labels import task_labels
from ..preprocess import Preprocessing
from .augment import PRESETS

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adadelta")
SCHEDULERS = ("none", "cosine", "step", "plateau", "onecycle")
CLASS_WEIGHTS = ("none", "balanced")
DEVICES = ("auto", "cpu", "cuda")
# auto: augment on the device (grinlab.train.device_data) when training on CUDA, else on CPU workers
AUGMENT_ON = ("auto", "cpu", "device")
# --compile: torch.compile's modes for the training step (grinlab.train.devices.compiled_step)
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")


@dataclass(frozen=True)
class TrainConfig:
    """How to train one model. ``preprocessing=None`` takes the zoo model's default input size and
    channels with per-image normalisation; the resolved value is what the config stores."""

    model: str = "simple_cnn"
    task: str = "smile"
    data: str = ""
    data_format: str = "auto"
    data_options: dict = field(default_factory=dict)
    # More datasets for the same task; each one's train/val(/test) splits are appended to the
    # main dataset's. Loader options in data_options go to each loader that accepts them.
    extra_data: tuple[str, ...] = ()
    val_fraction: float = 0.15
    seed: int = 0
    epochs: int = 10
    # Seconds of wall clock for the epochs, validation included (0 = off): after the first epoch
    # the run plans as many epochs as fit (at most ``epochs``) and the lr schedule ends there.
    time_budget: float = 0.0
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # sgd and rmsprop only
    scheduler: str = "none"
    warmup_epochs: int = 0
    step_epochs: int = 10  # step scheduler: multiply lr by step_gamma every step_epochs
    step_gamma: float = 0.1
    label_smoothing: float = 0.0
    class_weights: str = "none"
    balanced_sampling: bool = False
    patience: int = 0  # early stopping after this many epochs without improvement; 0 = off
    monitor: str = "val_loss"
    augment: str = "light"
    augment_on: str = "auto"
    preprocessing: Preprocessing | None = None
    init_from: str | None = None  # checkpoint whose backbone weights start the model (transfer)
    freeze: str = "none"  # transfer: none, all_but_last (the FaceHack recipe) or backbone (head only)
    keep_head: bool = False  # transfer: keep init_from's own head (same labels) instead of a new one
    soft_labels: bool = False
    # Knowledge distillation (grinlab.train.distill): ONNX teacher models (shipped names or paths),
    # the weight of their soft targets against the labels, and the softening temperature.
    teachers: tuple[str, ...] = ()
    # or stored teacher views (grinlab teacher-views): the student trains on those views and their
    # stored teacher probabilities instead of asking teachers online
    teacher_views: str | None = None
    distill_weight: float = 0.5
    distill_temperature: float = 4.0
    device: str = "auto"
    num_workers: int = 0
    max_train_batches: int = 0  # stop each epoch after this many batches; 0 = all (quick runs)
    amp: bool = False  # mixed precision on CUDA (ignored on CPU)
    compile: str = "none"  # torch.compile the training step's network in this mode (how, not what)
    evaluate: bool = True  # write report/ for the val set after training
    evaluate_test: bool = False  # also evaluate the test split (reported separately as test)

    def __post_init__(self):
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise GrinlabError(f"training config: {what}")

        task_labels(self.task)  # raises with the known tasks
        need(
            self.optimizer in OPTIMIZERS,
            f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}",
        )
        need(
            self.scheduler in SCHEDULERS,
            f"scheduler must be one of {', '.join(SCHEDULERS)}, got {self.scheduler!r}",
        )
        need(
            self.class_weights in CLASS_WEIGHTS,
            f"class weights must be one of {', '.join(CLASS_WEIGHTS)}, got {self.class_weights!r}",
        )
        need(self.monitor in MONITORS, f"monitor must be one of {', '.join(MONITORS)}, got {self.monitor!r}")
        need(self.device in DEVICES, f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        need(
            self.augment in PRESETS, f"augmentation must be one of {', '.join(PRESETS)}, got {self.augment!r}"
        )
        need(
            self.augment_on in AUGMENT_ON,
            f"augment-on must be one of {', '.join(AUGMENT_ON)}, got {self.augment_on!r}",
        )
        need(
            self.compile in COMPILE_MODES,
            f"compile must be one of {', '.join(COMPILE_MODES)}, got {self.compile!r}",
        )
        need(0.0 < self.val_fraction < 1.0, f"val fraction must be between 0 and 1, got {self.val_fraction}")
        need(self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}")
        need(self.time_budget >= 0, f"time budget must be >= 0 seconds (0 = off), got {self.time_budget}")
        need(
            not self.time_budget or self.scheduler not in ("onecycle", "plateau"),
            "a time budget plans the epochs after the first one; the onecycle and plateau schedulers "
            "cannot be re-planned: use cosine, step or none",
        )
        need(self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}")
        need(self.lr > 0, f"learning rate must be positive, got {self.lr}")
        need(self.weight_decay >= 0, f"weight decay must be >= 0, got {self.weight_decay}")
        need(
            0.0 <= self.label_smoothing < 1.0,
            f"label smoothing must be in [0, 1), got {self.label_smoothing}",
        )
        need(
            0 <= self.warmup_epochs < self.epochs or self.warmup_epochs == 0, "warmup epochs must be < epochs"
        )
        need(
            self.step_epochs >= 1 and self.step_gamma > 0,
            "step scheduler needs step_epochs >= 1, step_gamma > 0",
        )
        need(self.patience >= 0, f"patience must be >= 0 (0 = no early stopping), got {self.patience}")
        need(self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}")
        need(
            self.freeze in ("none", "all_but_last", "backbone"),
            f"freeze must be none, all_but_last or backbone, got {self.freeze!r}",
        )
        need(
            self.freeze == "none" or bool(self.init_from),
            "freeze needs init_from: only a pretrained backbone is worth freezing",
        )
        need(
            not self.keep_head or bool(self.init_from),
            "keep_head needs init_from: the head to keep is that of the network started from",
        )
        need(
            0.0 < self.distill_weight <= 1.0,
            f"distillation weight must be in (0, 1], got {self.distill_weight}",
        )
        need(
            self.distill_temperature > 0,
            f"distillation temperature must be positive, got {self.distill_temperature}",
        )
        need(
            not (self.teacher_views and self.augment_on == "device"),
            "stored teacher views are drawn by the CPU data loader; use --augment-on cpu or auto with them",
        )
        need(
            not (self.teachers and self.teacher_views),
            "give either teacher models or stored teacher views, not both",
        )
        need(self.max_train_batches >= 0, f"max train batches must be >= 0, got {self.max_train_batches}")
        from .zoo import get_entry

        entry = get_entry(self.model)  # raises, listing the available models
        if self.preprocessing is None:
            object.__setattr__(
                self,
                "preprocessing",
                Preprocessing(size=entry.default_input_size, channels=entry.default_channels),
            )
        elif isinstance(self.preprocessing, dict):
            object.__setattr__(self, "preprocessing", Preprocessing.from_dict(self.preprocessing))
        object.__setattr__(self, "data_options", dict(self.data_options or {}))
        object.__setattr__(self, "extra_data", tuple(str(d) for d in (self.extra_data or ())))
        object.__setattr__(self, "teachers", tuple(str(t) for t in (self.teachers or ())))

    @property
    def classes(self) -> tuple[str, ...]:
        return task_labels(self.task)

    def replace(self, **changes) -> TrainConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["preprocessing"] = self.preprocessing.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "training config") -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise GrinlabError(f"{source}: unknown training option(s) {', '.join(unknown)}")
        d = dict(d)
        if d.get("preprocessing") is not None:
            d["preprocessing"] = Preprocessing.from_dict(d["preprocessing"])
        return cls(**d)
