# Sourced by the gpu_*.sh scripts (run from the repository root): the environment of a run on the
# checkout (no install), the first steps of a device call, and the steps their calls share (a run
# under a timeout, what the runs' logs say, the runs sent back, and their export back here).
PY=${PYTHON:-python3}
SHARED=${SHARED:-../shared}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" GRINLAB_NO_PROGRESS=1 PYTHONUNBUFFERED=1
export NO_ALBUMENTATIONS_UPDATE=1

gpu_device_start() {  # PACK CSV [--ferplus VOTES]: FER2013 (and votes) out of the carried pack
  : "${OUT:?device mode runs on the GPU machine, where the run tool sets OUT}"
  nvidia-smi -L || echo "no nvidia-smi here"
  mkdir -p "$OUT"  # the run tool makes it; a CPU smoke test may name a new folder
  export GRINLAB_CACHE=/tmp/grinlab-cache
  "$PY" benchmarks/fer2013_pack.py unpack "$@"
}

gpu_train() {  # LIMIT NAME LOG ARGS...: grinlab train ARGS under a LIMIT-second timeout, its output in LOG
  local limit=$1 name=$2 log=$3
  shift 3
  timeout "$limit" "$PY" -m grinlab train "$@" >"$log" 2>&1 || echo "$name: grinlab train exited $? (124 = timeout)"
}

gpu_show_runs() {  # RUNS NAME...: what each run's log says of its plan and teachers, and its last lines
  local runs=$1 name
  shift
  for name in "$@"; do
    grep -E "time budget|teachers:|teacher \(" "$runs/train_$name.log" || true
    tail -n 2 "$runs/train_$name.log" || true
  done
}

gpu_return_runs() {  # RUNS NAME...: each run folder whole, with its log, as OUT/NAME.tar.gz (a returned
  # file is at most 16 MiB; checkpoints without the optimiser state would be smaller, but grinlab
  # export reads them whole)
  local runs=$1 name
  shift
  for name in "$@"; do
    if [[ -d $runs/$name ]]; then tar -czf "$OUT/$name.tar.gz" -C "$runs" "$name" "train_$name.log"; fi
  done
}

export_best_last() {  # DEST NAME: a run that came back, its best and last checkpoints as int8 ONNX beside it
  local dest=$1 name=$2 which
  for which in best last; do
    "$PY" -m grinlab export "$dest/$name" --which $which --out "$dest/${name}_$which.onnx" \
      --name "${name}_$which" --int8 --force
  done
}
