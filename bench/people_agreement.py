"""Who agrees with a practitioner's reading: the generators' labels or advisor's rules?

    python bench/people_agreement.py CORPUS...            # corpora holding the runs of the readings
    python bench/people_agreement.py /work/corpora/gen2_s1* /work/corpora/gen2_s2* /work/corpora/pool/oos23* /work/corpora/mc_s30*
    python bench/people_agreement.py CORPUS... --labels bench/people_labels.json   # one reader only

Why: the three corpus generators label the same failure differently (bench/README.md, "The three
generators disagree"), and the hidden set is labelled by people. bench/people_labels.json holds a
practitioner's reading of 73 runs from the logs alone, drawn where the generator's label and the rules
differ (and, for gen2, where they agree). A corpus is regenerated from its generator and seed
(each generator is deterministic for a given --seed); this script finds each labelled run in the
corpora given (by truth.json's `generator` and `counts.seed`), diagnoses it with this checkout's
rules and prints, per generator, how often the generator's label and the rules' patterns equal
the reading (or the reading it also accepts). bench/readers/ holds two more blind readings of the
same plots (session 16); with several readers the script also prints the panel's verdict: a label
or a rules' reading counts as the panel's when most of the readers who read the run accept it.
Every reader so far is an AI agent reading as a practitioner (the first knew the rules, the two in
bench/readers/ did not, and all three are the same model): read the counts as a direction, not as
people's labels.
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
READERS = sorted((Path(__file__).resolve().parent / "readers").glob("*.json"))


def readings(entry: dict) -> list[set[str]]:
    """The reading and the ones it also accepts, each as a set of patterns (healthy: empty; `a+b`
    for two patterns seen together)."""
    return [set() if r == "healthy" else set(r.split("+")) for r in [entry["reading"], *entry["also_ok"]]]


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
    ap.add_argument("--labels", type=Path, action="append",
                    help="a readings file (repeatable; default: people_labels.json and bench/readers/*.json)")
    args = ap.parse_args()
    files = args.labels or [LABELS, *READERS]
    where = corpora_by_origin(args.corpora)
    # (generator, seed, path) -> (generator's label, rules' patterns), diagnosed once for all readers
    judged: dict[tuple[str, int, str], tuple[set[str], set[str]]] = {}
    accepts: dict[tuple[str, int, str], list[list[set[str]]]] = {}
    for f in files:
        counts: dict[str, Counter] = {}
        missing = 0
        for entry in json.loads(f.read_text())["runs"]:
            key = (entry["generator"], entry["seed"], entry["path"])
            found = where.get(key[:2])
            if found is None:
                missing += 1
                continue
            if key not in judged:
                root, labels = found
                judged[key] = labels[entry["path"]], set(diagnose_one((str(root), entry["path"]))["patterns"]) & set(CORE)
            ok = readings(entry)
            accepts.setdefault(key, []).append(ok)
            _tally(counts, key, *judged[key], [ok])
        print(f"== {f.name}")
        _table(counts)
        if missing:
            print(f"({missing} labelled runs not in the corpora given: regenerate their generator and seed)")
    if len(files) > 1:
        panel: dict[str, Counter] = {}
        for key, oks in accepts.items():
            if len(oks) >= 2:
                _tally(panel, key, *judged[key], oks)
        print(f"== the panel ({len(files)} readers; a reading counts when most of the readers of the run accept it)")
        _table(panel)


def _tally(counts: dict[str, Counter], key: tuple[str, int, str], label: set[str], rules: set[str],
           oks: list[list[set[str]]]) -> None:
    """Count one run under its generator: whether label and rules agree, and whether most of its
    readers (one reader: that reader) accept the label, and the rules' reading."""
    c = counts.setdefault(Path(key[0]).stem, Counter())
    part = "agree" if label == rules else "differ"
    c[part] += 1
    c[part + "_label"] += 2 * sum(label in ok for ok in oks) > len(oks)
    c[part + "_rules"] += 2 * sum(rules in ok for ok in oks) > len(oks)


def _table(counts: dict[str, Counter]) -> None:
    print(f"{'generator':20} {'label = rules':>14} {'both right':>10} {'label != rules':>15} {'label right':>11} {'rules right':>11}")
    for gen, c in sorted(counts.items()):
        print(f"{gen:20} {c['agree']:14d} {c['agree_label']:10d} {c['differ']:15d} {c['differ_label']:11d} {c['differ_rules']:11d}")


if __name__ == "__main__":
    main()
