"""Who agrees with a practitioner's reading: the generators' labels or advisor's rules?

    python bench/people_agreement.py CORPUS...            # corpora holding the runs of bench/people_labels.json
    python bench/people_agreement.py /work/corpora/gen2_s2* /work/corpora/pool/oos23* /work/corpora/mc_s30*

Why: the three corpus generators label the same failure differently (bench/README.md, "The three
generators disagree"), and the hidden set is labelled by people. bench/people_labels.json holds a
person's reading of 73 runs from the logs alone, drawn where the generator's label and the rules
differ (and, for gen2, where they agree). A corpus is regenerated from its generator and seed
(each generator is deterministic for a given --seed); this script finds each labelled run in the
corpora given (by truth.json's `generator` and `counts.seed`), diagnoses it with this checkout's
rules and prints, per generator, how often the generator's label and the rules' patterns equal
the reading (or the reading it also accepts). One reader who knows the rules is a weak panel: read
the counts as a direction, not a score.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.score import CORE, diagnose_one, load_truth  # noqa: E402

LABELS = Path(__file__).resolve().parent / "people_labels.json"


def readings(entry: dict) -> list[set[str]]:
    """The reading and the ones it also accepts, each as a set of patterns (healthy: empty)."""
    return [set() if r == "healthy" else {r} for r in [entry["reading"], *entry["also_ok"]]]


def corpora_by_origin(roots: list[Path]) -> dict[tuple[str, int], tuple[Path, dict[str, set[str]]]]:
    """(generator, seed) -> (the corpus folder, each run's labelled patterns), each truth.json read once."""
    out = {}
    for root in roots:
        truth = root / "truth.json"
        if truth.is_file():
            data = json.loads(truth.read_text())
            labels = {e["path"]: set(e.get("patterns", [])) & set(CORE) for e in load_truth(truth)}
            out[(data.get("generator") or "bench/make_corpus.py", int(data["counts"]["seed"]))] = (root, labels)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="+", type=Path)
    ap.add_argument("--labels", type=Path, default=LABELS)
    args = ap.parse_args()
    people = json.loads(args.labels.read_text())["runs"]
    where = corpora_by_origin(args.corpora)
    counts: dict[str, Counter] = {}
    missing = 0
    for entry in people:
        found = where.get((entry["generator"], entry["seed"]))
        if found is None:
            missing += 1
            continue
        root, labels = found
        label = labels[entry["path"]]
        rules = set(diagnose_one((str(root), entry["path"]))["patterns"]) & set(CORE)
        ok = readings(entry)
        c = counts.setdefault(Path(entry["generator"]).stem, Counter())
        part = "agree" if label == rules else "differ"
        c[part] += 1
        c[part + "_label"] += label in ok
        c[part + "_rules"] += rules in ok
    print(f"{'generator':20} {'label = rules':>14} {'both right':>10} {'label != rules':>15} {'label right':>11} {'rules right':>11}")
    for gen, c in sorted(counts.items()):
        print(f"{gen:20} {c['agree']:14d} {c['agree_label']:10d} {c['differ']:15d} {c['differ_label']:11d} {c['differ_rules']:11d}")
    if missing:
        print(f"({missing} labelled runs not in the corpora given: regenerate their generator and seed)")


if __name__ == "__main__":
    main()
