#!/usr/bin/env bash
# Many-run scaling on an idle multi-core machine (the shared 2-core one is too loaded for wall
# times): a seeded CSV sweep of 2,000 runs x 200 epochs (tests/sweep.py), then
# `advisor diagnose --format json --jobs N` for N = 1, 2, 4, 8, 16 as whole processes, checking
# that every output is byte-identical to --jobs 1; Ray vs the local pool when ray is installed.
#   bash bench/device_scale.sh            (OUT=folder for the outputs, default /tmp/scale_out)
set -u
OUT=${OUT:-/tmp/scale_out}; mkdir -p "$OUT"
P=${PY:-python3}
export PYTHONPATH=$PWD RAY_AUTH_MODE=disabled
TIMEFORMAT="%R s wall, %U s user, %S s sys"
$P -c "import sys, os; print(sys.version.split()[0], 'cores', len(os.sched_getaffinity(0)))"
$P -c "import sys, pathlib; sys.path.insert(0, 'tests'); from sweep import write_sweep; write_sweep(pathlib.Path('/tmp/sweep2000'), 2000, epochs=200)"
for j in 1 2 4 8 16; do
  echo -n "jobs $j: "; { time $P -m advisor diagnose /tmp/sweep2000 --format json -q --jobs $j > "$OUT/j$j.json"; } 2>&1
done
for j in 2 4 8 16; do cmp -s "$OUT/j1.json" "$OUT/j$j.json" && echo "jobs $j: same output as jobs 1" || echo "jobs $j: DIFFERENT output"; done
if $P -c "import ray" 2>/dev/null; then
  echo -n "ray, 16 CPUs: "; { time $P -m advisor diagnose /tmp/sweep2000 --format json -q --jobs 16 --executor ray > "$OUT/ray.json" 2>/dev/null; } 2>&1
  cmp -s "$OUT/j1.json" "$OUT/ray.json" && echo "ray: same output" || echo "ray: DIFFERENT output"
fi
