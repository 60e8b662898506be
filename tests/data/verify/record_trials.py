"""Record the trial logs the verdict unit tests read (run once; re-run to refresh deliberately).

    PYTHONPATH=. python tests/data/verify/record_trials.py

Each file holds, for one built-in experiment (advisor.verify.experiments), the points of the
baseline and fix trials for seeds 0-2 (`train/loss`, `val/loss`, `lr`; 6 significant digits), so
the verdict logic can be tested on real curves without torch.
"""
import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAGS = ("train/loss", "val/loss", "lr")
NAMES = ("lr-oscillates", "lr-diverges", "overfit-wd", "wrong-fix")


def _v(x: float):
    return x if math.isfinite(x) else repr(x)


def main() -> None:
    from advisor.verify import builtins as B
    from advisor.verify.experiments import EXPERIMENTS
    from advisor.verify.logwriters import Recorder
    from advisor.verify.trial import apply_change

    for name in NAMES:
        exp = EXPERIMENTS[name]
        fix_cfg, change = apply_change(dict(exp.config), exp.change)
        out = {"experiment": name, "pattern": exp.pattern, "rule": exp.rule, "action": exp.action,
               "change": change, "steps": exp.steps, "expect": exp.expect, "arms": {}}
        for arm, cfg in (("baseline", exp.config), ("fix", fix_cfg)):
            out["arms"][arm] = {}
            for seed in range(3):
                rec = Recorder()
                B.train(dict(cfg), exp.steps, seed, rec)
                out["arms"][arm][str(seed)] = {
                    t: [[s, _v(float(f"{v:.6g}"))] for s, v, _ in rec.points.get(t, [])] for t in TAGS}
        (HERE / f"trials-{name}.json").write_text(json.dumps(out, separators=(",", ":")))
        print("wrote", HERE / f"trials-{name}.json")


if __name__ == "__main__":
    main()
