"""Trim the public tqdm console log (github.com/Akash05-kr/skin_lesion_classifier, training_console.log):
each progress bar keeps its first state and its full (last) states; the states between, and every line
after the first `keep` epochs' summaries, are left out. Usage: python trim.py SRC DST [keep]."""
import re
import sys

STATE = re.compile(r"\|\s{0,4}(\d{1,12})/(\d{1,12})\s{0,4}\[")
src, dst = sys.argv[1], sys.argv[2]
keep = int(sys.argv[3]) if len(sys.argv) > 3 else 6
summaries = 0
with open(src, "rb") as f, open(dst, "wb") as out:
    for raw in f:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        parts = line.split("\r")
        kept = []
        for i, part in enumerate(parts):
            m = STATE.search(part)
            if m is None or m.group(1) == m.group(2) or i == 0 or (i + 1 < len(parts) and not STATE.search(parts[i + 1])):
                kept.append(part)
        out.write(("\r".join(kept) + "\r\n").encode("utf-8"))
        summaries += "TrainLoss=" in line
        if summaries >= keep:
            break
