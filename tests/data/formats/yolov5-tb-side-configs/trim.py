"""Trim a YOLOv5 run folder's event file to its small records (the scalars and the file_version; the model graph
and images, each several KB, left out), copied byte for byte. Usage: python trim.py SRC DST [max_bytes]."""
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 512
data = open(src, "rb").read()
out, pos, kept, left = bytearray(), 0, 0, 0
while pos + 12 <= len(data):
    (length,) = struct.unpack("<Q", data[pos:pos + 8])
    end = pos + 12 + length + 4
    if length <= limit:
        out += data[pos:end]
        kept += 1
    else:
        left += 1
    pos = end
open(dst, "wb").write(bytes(out))
print(f"kept {kept} records, left out {left}")
