# Sourced by the gpu_*.sh scripts (run from the repository root): the environment of a run on the
# checkout (no install) and the first steps of a device call.
PY=${PYTHON:-python3}
SHARED=${SHARED:-../shared}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" GRINLAB_NO_PROGRESS=1 PYTHONUNBUFFERED=1
export NO_ALBUMENTATIONS_UPDATE=1

gpu_device_start() {  # PACK CSV [--ferplus VOTES]: FER2013 (and votes) out of the carried pack
  : "${OUT:?device mode runs on the GPU machine, where the run tool sets OUT}"
  nvidia-smi -L || echo "no nvidia-smi here"
  export GRINLAB_CACHE=/tmp/grinlab-cache
  "$PY" benchmarks/fer2013_pack.py unpack "$@"
}
