#!/usr/bin/env bash
# Rebuilds every shipped model from ../shared/data on this project's 2-core CPU machine, exports
# them into src/grinlab/models/ and measures them (benchmarks/results/shipped_models.*).
#
#   bash benchmarks/make_models.sh            # all: emotion7, then smile / polarity / valence from it
#   bash benchmarks/make_models.sh smile      # one step (its inputs must exist)
#
# Each step's exact train command is also stored in the run's config.json and in the model card.
# Wall times measured here (2 cores): emotion7 ~25 min (+3 min reading FER2013), smile ~7 min
# (+ ~1 min cropping GENKI-4K with YuNet), smile_gate ~8 min, polarity ~1 min, valence ~4 min.
set -euo pipefail
cd "$(dirname "$0")/.."
S=${GRINLAB_SHARED:-../shared}
D=$S/data
export GRINLAB_YUNET_MODEL=${GRINLAB_YUNET_MODEL:-$S/models/face_detection_yunet_2023mar.onnx}
W=benchmarks/work
M=src/grinlab/models
G=${GRINLAB:-.venv/bin/grinlab}
YUNET=(--data-option 'detector="yunet"' --data-option "detector_options={\"model_path\": \"$GRINLAB_YUNET_MODEL\"}")
# fine-tuning recipe shared by the smile-side models: all layers from the FER2013 net, new head
FT=(--model resnet_tiny --init-from $W/emotion7/checkpoints/best.pt --optimizer adamw --lr 1e-3
    --weight-decay 5e-4 --scheduler cosine --label-smoothing 0.1 --augment standard --monitor val_acc)

emotion7() {
  $G train --data $D/fer2013/fer2013.csv.xz --task emotion7 --model resnet_tiny --epochs 30 \
    --optimizer adamw --lr 2e-3 --weight-decay 5e-4 --scheduler cosine --warmup-epochs 1 \
    --label-smoothing 0.1 --augment standard --monitor val_acc --evaluate-test --out $W/emotion7 --force
  $G export $W/emotion7 --out $M/emotion7.onnx --name emotion7 --force
}

smile() {  # SMILEsmileD + GENKI-4K (YuNet crops, as at runtime): the shipped smile model
  # without FaceHack: GENKI val 96.3% vs 94.7%, SMILEsmileD 94.4% vs 94.2% (FaceHack's "smile"
  # includes negative smiles, so that data now only trains the valence cascade's own gate)
  $G train --data $D/smilesmiled --extra-data $D/genki4k --task smile \
    "${YUNET[@]}" "${FT[@]}" --epochs 12 --out $W/smile --force
  $G export $W/smile --out $M/smile.onnx --name smile --force
}

smile_gate() {  # the valence cascade's gate: smile vs not, FaceHack's train split included
  $G train --data $D/smilesmiled --extra-data $D/genki4k --extra-data $D/facehack --task smile \
    "${YUNET[@]}" "${FT[@]}" --epochs 15 --out $W/smile_gate --force
  mkdir -p $M/stages
  $G export $W/smile_gate --out $M/stages/smile_gate.onnx --name smile_gate --force
}

polarity() {  # the cascade's branch: positive vs negative smile, FaceHack smiles only
  # frozen but for the last block: 70.6% val vs 67.9% fully fine-tuned (20 epochs), which overfits
  $G train --data $D/facehack --task smile_polarity "${FT[@]}" --epochs 15 --class-weights balanced \
    --freeze all_but_last --out $W/smile_polarity --force --no-eval
  mkdir -p $M/stages
  $G export $W/smile_polarity --out $M/stages/smile_polarity.onnx --name smile_polarity --force
}

valence() {  # the cascade (smile -> polarity) against a single 3-class model on the same val split
  # single 3-class models, plain and class-balanced, for the comparison (not shipped)
  $G train --data $D/facehack --task valence "${FT[@]}" --epochs 25 --out $W/valence3 --force
  $G train --data $D/facehack --task valence "${FT[@]}" --epochs 15 --class-weights balanced \
    --out $W/valence3_balanced --force --no-eval
  for v in valence3 valence3_balanced; do
    $G export $W/$v --out $W/$v.onnx --name $v --force
    $G evaluate --model $W/$v.onnx --data $D/facehack --out $W/${v}_eval --force --no-occlusion
  done
  # the gate saw FaceHack's train split (84.9% smile vs not on its val split; the smile model 81.6%)
  $G cascade --gate $M/stages/smile_gate.onnx --gate-label smile --branch $M/stages/smile_polarity.onnx \
    --out $M/valence.json --name valence --data $D/facehack --force
}

measure() {
  .venv/bin/python benchmarks/shipped_models.py
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(emotion7 smile smile_gate polarity valence measure)
for step in "${steps[@]}"; do "$step"; done
