"""Functional's bench and PyTorch 1.13 (bench/pytorch_peer.py), interleaved round after round so that both see
the same machine load, and the medians of each side. For measuring only; run with the system Python from the
repository root after `dotnet build src/Host -c Release`:

  /usr/bin/python3 bench/side_by_side.py [--rounds 5] [--threads 1] [--networks lenet5,cnn,rnn,lstm]"""
import json, os, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
networks = sys.argv[sys.argv.index("--networks") + 1] if "--networks" in sys.argv else "lenet5,cnn"
dll = os.environ.get("FUNCTIONAL_DLL") or os.path.join(ROOT, "src", "Host", "bin", "Release", "net10.0", "functional.dll")
ours, theirs = {}, {}
for r in range(rounds):
    for net in networks.split(","):
        out = subprocess.run(["dotnet", dll, "bench", "--network", net, "--json", "--seconds", "2", "--threads", threads],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            o = json.loads(line)
            ours.setdefault((o["network"], o["batch"]), []).append(o["examples_per_s"])
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "pytorch_peer.py"), "speed", "--threads", threads,
                          "--networks", networks],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        o = json.loads(line)
        theirs.setdefault((o["network"], o["batch"]), []).append(o["examples_per_s"])
print(f"{rounds} rounds, {threads} thread(s), medians of examples/s (training steps, float32)")
print("network  batch  functional  pytorch  ratio")
for key in sorted(ours):
    a, b = statistics.median(ours[key]), statistics.median(theirs[key])
    print(f"{key[0]:<7}  {key[1]:>5}  {a:>10,.0f}  {b:>7,.0f}  {a / b:5.2f}")
