#!/usr/bin/env bash
# The verifier's GPU path, run for real: `advisor verify --builtin all` on cuda and on cpu (same
# experiments, same seeds), one run with parallel GPU workers, and `advisor demo` on cuda.
# Prints wall times and writes small result files under $OUT (default /tmp/advisor-gpu-out).
#
#   bash bench/gpu_verify.sh            # from the repository root, on the GPU machine; < 4 minutes
#
# Needs: python3 with torch (any build; the machine's own, never reinstalled here) and, for the
# built-in trainings, scikit-learn plus advisor's core dependencies. When those are not importable
# it tries `pip install -e . scikit-learn` once (120 s limit; this does not touch torch) and says
# plainly what is missing if that fails. advisor itself is used from this checkout (PYTHONPATH).
set -u
cd "$(dirname "$0")/.."
python -c 'import torch;print(torch.__version__, torch.cuda.is_available())'
OUT="${OUT:-/tmp/advisor-gpu-out}"
mkdir -p "$OUT"
python -c 'import torch;print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")' > "$OUT/torch.txt" 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
check='import advisor.cli, advisor.verify.builtins, advisor.verify.session, sklearn'
if ! python -c "$check" 2>/dev/null; then
  echo "advisor's dependencies are not importable: trying pip install -e . scikit-learn (120 s limit)"
  timeout 120 python -m pip install -q --disable-pip-version-check -e . scikit-learn > "$OUT/pip.txt" 2>&1
  tail -2 "$OUT/pip.txt"
fi
if ! python -c "$check" 2> "$OUT/import-error.txt"; then
  echo "cannot run: $(tail -1 "$OUT/import-error.txt") (full error in $OUT/import-error.txt)"
  exit 2
fi
nvidia-smi -L > "$OUT/gpus.txt" 2>&1 || echo "no nvidia-smi" > "$OUT/gpus.txt"
nproc > "$OUT/cpus.txt"

run() {  # NAME TIMEOUT ARGS... : one advisor command, its wall time and exit code
  local name=$1 limit=$2; shift 2
  local t0 t1 rc
  t0=$(date +%s%N)
  timeout "$limit" python -m advisor "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  rc=$?
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 ))
  printf '%-22s rc=%-3s wall=%d.%03ds  advisor %s\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000)) "$*" | tee -a "$OUT/times.txt"
}

: > "$OUT/times.txt"
run verify-cpu 60 verify --builtin all --device cpu --format json -o "$OUT/verify-cpu.json"
run verify-cuda 70 verify --builtin all --device cuda --format json -o "$OUT/verify-cuda.json"
run verify-cuda-jobs4 60 verify --builtin overfit-wd --device cuda --jobs 4 --seeds 4 --confidence 0.99 --budget none --format json -o "$OUT/verify-cuda-jobs4.json"
run demo-cuda 40 demo --device cuda

# one line per experiment and device: verdict, confidence, compute ratio, where the trials ran
python - "$OUT" <<'EOF' | tee "$OUT/summary.txt"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
from advisor.verify.experiments import EXPERIMENTS
for name in ("verify-cpu", "verify-cuda", "verify-cuda-jobs4"):
    path = out / f"{name}.json"
    if not path.exists():
        print(f"{name}: no result ({(out / (name + '.err')).read_text(errors='replace').strip().splitlines()[-1:]})")
        continue
    doc = json.loads(path.read_text())
    ratios, agree = [], 0
    for run in doc["runs"]:
        exp = run["run"].split(":", 1)[1]
        for v in run["verification"] or []:
            ok = v["verdict"] == EXPERIMENTS[exp].expect
            agree += ok
            ratio = (v.get("compute") or {}).get("ratio")
            ratios.append(ratio)
            print(f"{name:<18} {exp:<20} {v['verdict']:<15} expect {EXPERIMENTS[exp].expect:<15} "
                  f"conf {v.get('confidence')}  compute {ratio}x  device {v['device']}  trials {v['wall_s']}s")
    print(f"{name}: {agree}/{len(doc['runs'])} as expected")
demo = (out / "demo-cuda.out")
if demo.exists():
    lines = [l for l in demo.read_text(errors="replace").splitlines() if "verdict:" in l or "compute:" in l]
    print("demo-cuda:", " | ".join(l.strip() for l in lines) or "no verdict line")
EOF
echo "results in $OUT"
