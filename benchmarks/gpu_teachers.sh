#!/usr/bin/env bash
# Train the FER2013 teachers vgg_paper and resnet18 with the lab's own trainer in one GPU call
# (GPU-resident data and augmentation: --augment-on device), export them with grinlab export, and
# bring them back. The recipe is that of ../shared/models/fer_teacher_vgg_paper.json's "command"
# (SGD Nesterov lr 0.02, batch 128, weight decay 5e-4, label smoothing 0.1, warmup then cosine,
# bf16/fp16 autocast), with the lab's nearest preset (standard) for its augmentation.
#
# 1. Here, once, in the checkout that the session's device calls send (device calls send the
#    session's own checkout, not a helper's worktree):
#        bash benchmarks/gpu_teachers.sh pack
#    makes benchmarks/work/fer2013_pack (55 MiB, git-ignored): FER2013 as lossless WebP atlases
#    (benchmarks/fer2013_pack.py). The csv.xz (78 MB) and the loader's npz cache (83 MB, keyed by
#    the csv's path and mtime) are both over the 64 MiB a call can carry.
# 2. One device call (about 10 minutes; a 15-minute session has room for it and a start):
#        run(command="bash benchmarks/gpu_teachers.sh device",
#            carry=["benchmarks/work/fer2013_pack"], timeout_s=600)
#    The GPU image lacks albumentations; --augment-on device does not need it. Both teachers train
#    at once on the one GPU, each stopped by `timeout` after TRAIN_SECONDS (default 420) if its
#    epochs have not finished; best.pt (by val acc) is exported either way. Lower VGG_EPOCHS /
#    RESNET_EPOCHS (defaults 100 / 70) if the logs show the epochs do not fit: the cosine schedule
#    only ends at the last epoch, and a run stopped by timeout is not evaluated (no results.json, so
#    its card has no val/test metrics: measure them here with grinlab evaluate).
# 3. Back here, with the reply's files_at folder:
#        bash benchmarks/gpu_teachers.sh join FILES_AT DEST
#    joins the ONNX parts (a returned file is at most 16 MiB) and checks each against its card's sha256.
#    The cards' "command" names the rebuilt benchmarks/work/fer2013.csv: the same rows as the shared
#    fer2013.csv.xz (fer2013_pack.py checks the pixels' sha256).
# Smoke-tested on CPU only (no GPU in that session): DEVICE=cpu VGG_EPOCHS=4 RESNET_EPOCHS=4
# EXTRA_ARGS="--max-train-batches 2" TRAIN_SECONDS=400 OUT=/tmp/out, then join: the timeout path,
# export, split, join and sha256 check worked; the GPU timings are still to be seen.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PACK=benchmarks/work/fer2013_pack
CSV=benchmarks/work/fer2013.csv
RUNS=runs/gpu_teachers
FER_SRC=${FER_SRC:-../shared/data/fer2013/fer2013.csv.xz}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" GRINLAB_NO_PROGRESS=1 PYTHONUNBUFFERED=1
export NO_ALBUMENTATIONS_UPDATE=1

device() {
  : "${OUT:?device mode runs on the GPU machine, where the run tool sets OUT}"
  local t0=$SECONDS
  nvidia-smi -L || echo "no nvidia-smi here"
  export GRINLAB_CACHE=/tmp/grinlab-cache
  "$PY" benchmarks/fer2013_pack.py unpack "$PACK" "$CSV"
  # Parse once into the cache, so the two runs below do not both parse the 300 MB csv.
  "$PY" -c "from grinlab.data import load_splits; load_splits('$CSV', task='emotion7')"
  local common=(--data "$CSV" --task emotion7 --device "${DEVICE:-cuda}" --amp --augment-on device
    --augment standard --optimizer sgd --lr 0.02 --momentum 0.9 --batch-size 128 --weight-decay 5e-4
    --label-smoothing 0.1 --scheduler cosine --warmup-epochs 3 --monitor val_acc --evaluate-test --seed 0
    --force ${EXTRA_ARGS:-})
  train() {  # name epochs
    timeout "${TRAIN_SECONDS:-420}" "$PY" -m grinlab train "${common[@]}" --model "$1" --epochs "$2" \
      --out "$RUNS/$1" >"$RUNS/train_$1.log" 2>&1 || echo "$1: grinlab train exited $? (124 = timeout)"
  }
  mkdir -p "$RUNS/models"
  train vgg_paper "${VGG_EPOCHS:-100}" &
  train resnet18 "${RESNET_EPOCHS:-70}" &
  wait
  echo "trained in $((SECONDS - t0)) s"
  for name in vgg_paper resnet18; do
    local run=$RUNS/$name onnx=$RUNS/models/fer_teacher_$name.onnx
    tail -n 3 "$RUNS/train_$name.log"
    if [[ ! -f $run/checkpoints/best.pt ]]; then
      echo "$name: no best.pt to export"
      continue
    fi
    "$PY" -m grinlab export "$run" --out "$onnx" --name "fer_teacher_${name}_lab" --force
    split -b 15m -d -a 1 "$onnx" "$OUT/fer_teacher_$name.onnx.part"
  done
  # Everything small in one file: the run tool brings back at most 8 files.
  find "$RUNS" -maxdepth 2 -type f \( -name '*.log' -o -name '*.json' -o -name '*.jsonl' \) -print0 |
    tar -czf "$OUT/summary.tar.gz" --null -T -
  ls -la "$OUT"
  echo "done in $((SECONDS - t0)) s"
}

join() {  # files_at dest
  local src=${1:?usage: gpu_teachers.sh join FILES_AT DEST} dest=${2:?usage: gpu_teachers.sh join FILES_AT DEST}
  mkdir -p "$dest"
  tar -xzf "$src/summary.tar.gz" -C "$dest"
  for name in vgg_paper resnet18; do
    compgen -G "$src/fer_teacher_$name.onnx.part*" >/dev/null || { echo "$name: no parts in $src"; continue; }
    cat "$src"/fer_teacher_"$name".onnx.part* >"$dest/fer_teacher_$name.onnx"
    cp "$dest/$RUNS/models/fer_teacher_$name.json" "$dest/"
    "$PY" - "$dest/fer_teacher_$name.onnx" <<'EOF'
import hashlib, json, sys
from pathlib import Path
onnx = Path(sys.argv[1])
card = json.loads(onnx.with_suffix(".json").read_text())
ok = hashlib.sha256(onnx.read_bytes()).hexdigest() == card["sha256"]
print(f"{onnx}: {'sha256 matches its card' if ok else 'SHA256 DIFFERS FROM ITS CARD'}; metrics {card.get('metrics', {}).get('val', {}).get('accuracy')} val acc")
sys.exit(0 if ok else 1)
EOF
  done
}

case "${1:-}" in
  pack) "$PY" benchmarks/fer2013_pack.py pack "$FER_SRC" "$PACK" ;;
  device) device ;;
  join) join "${2:-}" "${3:-}" ;;
  *)
    echo "usage: gpu_teachers.sh pack | device | join FILES_AT DEST (see the comments at the top)" >&2
    exit 2
    ;;
esac
