#!/usr/bin/env bash
# emotion8 (FER+ votes) on a lent GPU, in one call: fine-tune a FER+ teacher from the FER2013 teacher
# resnet18 on the votes (the CPU managed 8 epochs of this in 50 minutes: 82.4% FER+ PublicTest, still
# rising, below the shipped 83.3%), then distil real-time resnet_tiny students from it, with the
# votes beside the teacher (--soft-labels), the data set and its augmentation on the GPU
# (--augment-on device) and the teacher in torch beside each student. Goal: >= 85% FER+ majority.
#
# 1. Here, once (needs ../shared):
#        bash benchmarks/gpu_emotion8.sh prepare
#    writes benchmarks/work/gpu_carry_emotion8/ (git-ignored, about 53 MiB): FER2013 Training and the
#    first 600 PublicTest rows with their FER+ votes (benchmarks/fer2013_pack.py --ferplus) and the
#    resnet18 teacher as a float16 teacher-weights file. The student that continues the shipped
#    emotion8 starts from its committed int8 file, which travels with the checkout. With the 5 MiB checkout that is under the 64 MiB a call carries; the FER2013
#    students' carry (gpu_distill.sh) is already at the limit, so the two cannot share a call.
# 2. One device call (about 9 minutes):
#        run(command="bash benchmarks/gpu_emotion8.sh device", carry=["benchmarks/work/gpu_carry_emotion8"],
#            timeout_s=600)
#    The 600 PublicTest rows only show progress there; students are chosen here on all of PublicTest.
# 3. Back here, with the reply's files_at folder:
#        bash benchmarks/gpu_emotion8.sh finish FILES_AT
#    joins the teacher's ONNX parts, unpacks the student runs into benchmarks/work/gpu_emotion8/,
#    exports each student's best and last checkpoint as int8 and writes
#    benchmarks/results/gpu_emotion8.{json,md} (gpu_distill_report.py --task emotion8: FER+ majority
#    PublicTest only; a student worth shipping is then measured with shipped_models.py, PrivateTest once).
# A CPU smoke test of the device step (no GPU needed):
#    PYTHON=.venv/bin/python DEVICE=cpu TEACHER_SECONDS=60 STUDENT_SECONDS=120 OUT=/tmp/ge8 \
#      EXTRA_ARGS="--max-train-batches 4" bash benchmarks/gpu_emotion8.sh device
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/gpu_common.sh
# gpu_shipped.sh runs this beside gpu_distill.sh from one carry: these may be set from outside
CARRY=${GPU_CARRY:-benchmarks/work/gpu_carry_emotion8}
CSV=${GPU_CSV:-benchmarks/work/fer2013_ferplus_train.csv}
VOTES=${GPU_VOTES:-benchmarks/work/ferplus_train/fer2013new.csv}
DEST=${GPU_DEST:-benchmarks/work/gpu_emotion8}
REPORT=${GPU_REPORT:-benchmarks/results/gpu_emotion8}
RUNS=runs/gpu_emotion8

# name | options: resnet_tiny students (the shipped emotion8's network and cost), the teacher's KL
# beside the cross-entropy on the votes. The default set (fresh) distils from the first epoch: one
# student from scratch, one from the shipped emotion7's blocks (new head). Continuing the shipped
# emotion8 (kd_e60, STUDENTS_SET=continued) lost about a point at every learning rate tried: 83.0% ->
# 82.3% at 1e-3 on the GPU, 83.3% -> 82.4% at 2e-4 on the CPU (results/gpu_2026-11-28_findings.md).
# STUDENTS_SET=both is the first call's pair (kd_e60 and kd_scratch).
KD_E60="kd_e60|--init-from src/grinlab/models/emotion8.onnx --keep-head --distill-weight 0.6 --lr 0.001"
KD_SCRATCH="kd_scratch|--distill-weight 0.6 --lr 0.004"
KD_E7INIT="kd_e7init|--init-from src/grinlab/models/emotion7.onnx --distill-weight 0.6 --lr 0.002"
case "${STUDENTS_SET:-fresh}" in
  fresh) STUDENTS=("$KD_SCRATCH" "$KD_E7INIT") ;;
  both) STUDENTS=("$KD_E60" "$KD_SCRATCH") ;;
  continued) STUDENTS=("$KD_E60") ;;
  *) echo "STUDENTS_SET is fresh, both or continued" >&2; exit 2 ;;
esac

prepare() {
  "$PY" benchmarks/fer2013_pack.py pack --usage Training --usage PublicTest:600 \
    --ferplus "$SHARED/data/fer2013/ferplus/fer2013new.csv" "$SHARED/data/fer2013/fer2013.csv.xz" "$CARRY/fer2013_pack"
  "$PY" benchmarks/teacher_weights.py "$SHARED/models/fer_teacher_resnet18.onnx" --out "$CARRY/teachers" \
    --data "$SHARED/data/fer2013/fer2013.csv.xz"
  du -sh "$CARRY"
}

device() {
  local t0=$SECONDS
  gpu_device_start "$CARRY/fer2013_pack" "$CSV" --ferplus "$VOTES"
  local data=(--data "$CSV" --data-option "ferplus=\"$VOTES\"" --data-option 'label_mode="soft"'
    --task emotion8 --soft-labels --device "${DEVICE:-cuda}" --amp --augment-on device --augment standard
    --optimizer adamw --weight-decay 5e-4 --scheduler cosine --monitor val_acc --seed 0 --force ${EXTRA_ARGS:-})
  "$PY" -c "from grinlab.data import load_splits; load_splits('$CSV', task='emotion8', ferplus='$VOTES', label_mode='soft')"
  echo "data ready in $((SECONDS - t0)) s"
  mkdir -p "$RUNS"
  local teacher_s=${TEACHER_SECONDS:-180} student_s=${STUDENT_SECONDS:-240}
  gpu_train $((teacher_s + 90)) ferplus_teacher "$RUNS/train_ferplus_teacher.log" "${data[@]}" --model resnet18 \
    --init-from "$CARRY/teachers/fer_teacher_resnet18.pt" --lr 0.001 --batch-size 256 --warmup-epochs 1 \
    --epochs 300 --time-budget "$teacher_s" --out "$RUNS/ferplus_teacher"
  grep -E "time budget|epoch [0-9]+/" "$RUNS/train_ferplus_teacher.log" | tail -n 4 || true
  local teacher=$RUNS/ferplus_teacher_r18_gpu.onnx
  "$PY" -m grinlab export "$RUNS/ferplus_teacher" --out "$teacher" --name ferplus_teacher_r18_gpu --force
  split -b 15m -d -a 1 "$teacher" "$OUT/ferplus_teacher_r18_gpu.onnx.part"
  echo "teacher ready in $((SECONDS - t0)) s"
  for s in "${STUDENTS[@]}"; do
    local name=${s%%|*} opts=${s#*|}
    # shellcheck disable=SC2086  # opts is a list of options
    gpu_train $((student_s + 90)) "$name" "$RUNS/train_$name.log" "${data[@]}" --model resnet_tiny \
      --teacher "$teacher" --distill-temperature 2 --batch-size 512 --warmup-epochs 2 --epochs 600 \
      --time-budget "$student_s" $opts --out "$RUNS/$name" &
  done
  wait
  echo "students trained in $((SECONDS - t0)) s"
  gpu_show_runs "$RUNS" ferplus_teacher "${STUDENTS[@]%%|*}"
  # one file each (a returned file is at most 16 MiB): the teacher's run without its checkpoints (its
  # best is the ONNX file above), each student's run whole
  tar -czf "$OUT/ferplus_teacher.tar.gz" -C "$RUNS" --exclude "ferplus_teacher/checkpoints" ferplus_teacher \
    train_ferplus_teacher.log ferplus_teacher_r18_gpu.json
  gpu_return_runs "$RUNS" "${STUDENTS[@]%%|*}"
  ls -la "$OUT"
  echo "done in $((SECONDS - t0)) s"
}

finish() {  # files_at
  local src=${1:?usage: gpu_emotion8.sh finish FILES_AT}
  [[ -d $src ]] || { echo "$src: not a folder; pass the device call's files_at folder" >&2; exit 2; }
  mkdir -p "$DEST"
  local name
  for name in ferplus_teacher "${STUDENTS[@]%%|*}"; do  # its own: gpu_shipped.sh's calls bring others
    if [[ -f $src/$name.tar.gz ]]; then tar -xzf "$src/$name.tar.gz" -C "$DEST"; fi
  done
  if compgen -G "$src/ferplus_teacher_r18_gpu.onnx.part*" >/dev/null; then
    cat "$src"/ferplus_teacher_r18_gpu.onnx.part* >"$DEST/ferplus_teacher_r18_gpu.onnx"
  fi
  # the runs' config names the device's csv and votes: rebuild both here from the same pack
  [[ -f $CSV && -f $VOTES ]] || "$PY" benchmarks/fer2013_pack.py unpack "$CARRY/fer2013_pack" "$CSV" --ferplus "$VOTES"
  for s in "${STUDENTS[@]}"; do
    name=${s%%|*}
    [[ -f $DEST/$name/metrics.jsonl ]] || { echo "$name: no run came back"; continue; }
    export_best_last "$DEST" "$name"
  done
  local also=()
  [[ -f $DEST/ferplus_teacher_r18_gpu.onnx ]] && also=(--also "$DEST/ferplus_teacher_r18_gpu.onnx")
  "$PY" benchmarks/gpu_distill_report.py "$DEST" --task emotion8 "${also[@]}" --out "$REPORT"
}

case "${1:-}" in
  prepare) prepare ;;
  device) device ;;
  finish) finish "${2:-}" ;;
  *)
    echo "usage: gpu_emotion8.sh prepare | device | finish FILES_AT (see the comments at the top)" >&2
    exit 2
    ;;
esac
