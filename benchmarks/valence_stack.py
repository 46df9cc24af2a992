"""Do the other shipped heads know something about negative smiles that `valence` misses?

`grinlab analyze` runs `smile`, `valence` and `emotion7` (and `emotion8` when asked) on every face,
so a valence decision could read all their probabilities at no extra network cost. This measures
whether it should: on FaceHack val (the seed-0 15% split `grinlab calibrate` uses), a multinomial
logistic regression on the log-probabilities of a set of shipped models is fitted on one stratified
half, its class weights are chosen on that half by `grinlab calibrate`'s own search (objective
macro-F1, the constraint below), and both are applied to the other half; 2 folds x 5 seeds, the
same halves as calibrate's cross-validation. The first row is calibrate's own estimate for
`valence` alone (no regression), the figure the README quotes.

    python benchmarks/valence_stack.py            # writes benchmarks/work/results/valence_stack.{json,md}
    python benchmarks/valence_stack.py --update-results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import bench_io
import numpy as np

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent / "src" / "grinlab" / "models"
SETS = (
    ("valence",),
    ("valence", "smile"),
    ("valence", "emotion7"),
    ("valence", "emotion8"),
    ("valence", "smile", "emotion7", "emotion8"),
    ("smile", "emotion7", "emotion8"),
)
CONSTRAINT = "min_accuracy=0.8025"  # the card's: the accuracy of the cascade valence replaced
L2 = 0.01


def model_probs(data: str) -> tuple[np.ndarray, tuple[str, ...], dict[str, dict[str, np.ndarray]]]:
    """FaceHack val labels (valence's classes) and each shipped model's probabilities on the same
    crops, plain and with flip TTA: {model: {"plain": P, "flip_tta": P}}."""
    from grinlab.classify import load_classifier
    from grinlab.data import load_splits
    from grinlab.evaluate.calibrate import plain_and_flip_tta
    from grinlab.evaluate.onnx_eval import match_classes
    from grinlab.preprocess import fit_crop

    valence = load_classifier(MODELS / "valence.onnx")
    ds = match_classes(load_splits(data, task="valence")["val"], valence.labels, valence.card.name)
    out = {}
    for name in sorted({n for s in SETS for n in s}):
        clf = valence if name == "valence" else load_classifier(MODELS / f"{name}.onnx")
        plain, flipped = plain_and_flip_tta(
            clf, np.stack([fit_crop(im, clf.card.preprocessing) for im in ds.images])
        )
        out[name] = {"plain": plain, "flip_tta": flipped}
    return np.asarray(ds.labels, int), valence.labels, out


def fit_logistic(x: np.ndarray, y: np.ndarray, n_classes: int):
    """Multinomial logistic regression (standardised inputs, L2 on the weights), fitted with
    L-BFGS in float64; returns a function giving probabilities."""
    import torch

    X = torch.tensor(x, dtype=torch.float64)
    mu, sd = X.mean(0), X.std(0) + 1e-6
    X = (X - mu) / sd
    W = torch.zeros(X.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=200, line_search_fn="strong_wolfe")
    Y = torch.tensor(y)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(X @ W + b, Y) + L2 * (W**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    W, b = W.detach(), b.detach()
    return lambda z: torch.softmax((torch.tensor(z, dtype=torch.float64) - mu) / sd @ W + b, 1).numpy()


def cross_validated(y, labels, features: np.ndarray | None, probs: np.ndarray, repeats: int = 5) -> dict:
    """calibrate's 2-fold estimate, with a regression on ``features`` fitted per half first (None:
    the model's own ``probs``, which is exactly calibrate.cross_validate)."""
    from grinlab.evaluate import calibrate

    parts = [calibrate.Part("facehack", y, probs)]
    if features is None:
        return calibrate.cross_validate(parts, labels, "macro_f1", CONSTRAINT, repeats=repeats)["metrics"][
            "all"
        ]
    runs = []
    for seed in range(repeats):
        (a, b), pred = calibrate.stratified_halves(parts, seed)[0], np.zeros(len(y), int)
        for fit, held in ((a, b), (b, a)):
            predict = fit_logistic(features[fit], y[fit], len(labels))
            fitted = calibrate.Part("facehack", y[fit], predict(features[fit]))
            rule = calibrate.choose_rule([fitted], labels, "macro_f1", CONSTRAINT)
            pred[held] = rule.decide(predict(features[held]))
        runs.append(calibrate.summary(y, pred, labels))
    return calibrate.mean_metrics(runs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(bench_io.SHARED / "data" / "facehack"), help="the FaceHack folder")
    bench_io.add_output_options(p, "valence_stack")
    args = p.parse_args(argv)
    bench_io.require(args.data)
    out = Path(bench_io.output(args, "valence_stack"))
    from grinlab.errors import GrinlabError

    try:
        y, labels, probs = model_probs(args.data)
    except GrinlabError as exc:  # e.g. a folder without FaceHack's valence labels
        print(f"valence_stack.py: {exc}", file=sys.stderr)
        return 2
    rows = []
    for mode in ("plain", "flip_tta"):
        rows.append({"inputs": "valence alone, calibrate's rule (no regression)", "mode": mode,
                     **cross_validated(y, labels, None, probs["valence"][mode])})  # fmt: skip
        print(rows[-1]["inputs"], mode, round(rows[-1]["macro_f1"], 3), flush=True)
        for names in SETS:
            x = np.concatenate([np.log(np.clip(probs[n][mode], 1e-6, 1.0)) for n in names], 1)
            rows.append({"inputs": "regression on " + " + ".join(names), "mode": mode,
                         **cross_validated(y, labels, x, probs["valence"][mode])})  # fmt: skip
            print(rows[-1]["inputs"], mode, round(rows[-1]["macro_f1"], 3), flush=True)
    meta = {"data": "FaceHack val (seed-0 15% split)", "n": int(len(y)), "constraint": CONSTRAINT,
            "objective": "macro_f1", "method": "2-fold stratified x seeds 0..4 (calibrate's halves)", "l2": L2}  # fmt: skip
    lines = [
        f"# valence from the shipped heads' probabilities ({meta['data']}, n={meta['n']})",
        "",
        f"Each row: {meta['method']}; class weights chosen per half under `{CONSTRAINT}`, objective macro-F1.",
        "Made with `python benchmarks/valence_stack.py --update-results`.",
        "",
        "| inputs | mode | accuracy | macro-F1 | negative-smile recall |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['inputs']} | {r['mode']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | "
                     f"{r['recall']['negative_smile']:.3f} |")  # fmt: skip
    bench_io.write_results(out, {**meta, "rows": rows}, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
