#!/usr/bin/env bash
# Many-run scaling on an idle multi-core machine (the shared 2-core one is too loaded for wall
# times): a seeded CSV sweep (tests/sweep.py), `advisor diagnose --jobs N` for N = 1..cores,
# Ray vs the local pool, and the GPU pinning of advisor.executor. Results under $OUT.
set -u
OUT=${OUT:-/tmp/scale_out}; mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONPATH=$PWD RAY_AUTH_MODE=disabled
{
$PY -c "import sys, os; print(sys.version); print('cores', len(os.sched_getaffinity(0)))"
$PY -c "import numpy, scipy, pandas, click, jinja2, rich, yaml, google.protobuf; print('deps ok')" || exit 3
$PY -c "import ray; print('ray', ray.__version__)" || echo "no ray"
nvidia-smi -L | head -2
$PY - <<'PY'
import sys, pathlib
sys.path.insert(0, "tests")
from sweep import write_sweep
write_sweep(pathlib.Path("/tmp/sweep2000"), 2000, epochs=200)
print("sweep written")
PY
for j in 1 2 4 8 16; do
  /usr/bin/time -f "jobs $j wall %e s" $PY -m advisor diagnose /tmp/sweep2000 --format json -q --jobs $j > "$OUT/j$j.json" 2>>"$OUT/times.txt"
  tail -1 "$OUT/times.txt"
done
for j in 2 4 8 16; do cmp -s "$OUT/j1.json" "$OUT/j$j.json" && echo "jobs $j output identical to jobs 1" || echo "jobs $j DIFFERS"; done
if $PY -c "import ray" 2>/dev/null; then
  /usr/bin/time -f "ray jobs 16 wall %e s" $PY -m advisor diagnose /tmp/sweep2000 --format json -q --jobs 16 --executor ray > "$OUT/ray.json" 2>>"$OUT/times.txt"
  tail -1 "$OUT/times.txt"
  cmp -s "$OUT/j1.json" "$OUT/ray.json" && echo "ray output identical" || echo "ray DIFFERS"
fi
$PY - <<'PY'
import os
from advisor.executor import run_tasks, visible_gpus
print("visible gpus", visible_gpus())
print("local num_gpus=0.5:", sorted(set(run_tasks(lambda _: os.environ.get("CUDA_VISIBLE_DEVICES"), range(8), num_gpus=0.5))))
try:
    import ray
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    print("ray gpus", ray.cluster_resources().get("GPU"))
    print("ray num_gpus=1:", list(run_tasks(lambda _: os.environ.get("CUDA_VISIBLE_DEVICES"), range(3), executor="ray", num_gpus=1)))
    ray.shutdown()
except ImportError:
    print("no ray")
PY
} 2>&1 | tee "$OUT/log.txt"
