"""Write this process's argv (after the script name) as JSON to the file named by --out; then
optionally sleep (--sleep S) or fail (--fail), to test timeouts and crashes."""
import json
import sys
import time

args = sys.argv[1:]
out = args[args.index("--out") + 1]
with open(out, "w") as f:
    json.dump({"argv": args, "cuda_visible_devices": __import__("os").environ.get("CUDA_VISIBLE_DEVICES")}, f)
if "--sleep" in args:
    time.sleep(float(args[args.index("--sleep") + 1]))
if "--fail" in args:
    sys.exit(3)
