"""Keep only the scalar summaries of a real Keras TensorBoard log (its graph and profiler events are most
of its 456 KB): python trim.py SRC_LOG_DIR OUT_DIR, for the train/ and validation/ event files.

The events are copied as logged (wall time, step, the summary protos with their tensor values and
plugin metadata), through TensorBoard's own reader and writer."""
import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.record_writer import RecordWriter


def main(src: str, out: str) -> None:
    for sub in ("train", "validation"):
        for f in sorted((Path(src) / sub).glob("events.out.tfevents.*")):
            kept = []
            for raw in RawEventFileLoader(str(f)).Load():
                e = event_pb2.Event.FromString(raw)
                if e.HasField("file_version") or (e.HasField("summary") and
                                                  any(v.tag.startswith("epoch_") for v in e.summary.value)):
                    kept.append(raw)
            if len(kept) > 1:
                dest = Path(out) / sub / f.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "wb") as fh:
                    w = RecordWriter(fh)
                    for raw in kept:
                        w.write(raw)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
