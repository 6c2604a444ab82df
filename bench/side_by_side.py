"""Functional's bench and PyTorch 1.13 (bench/pytorch_peer.py), best against best: each side at 1 and at 2
threads, interleaved round after round (the order alternating) so that both see the same machine load, then
each side's median at its better thread count. Prints the load average before and after: quote figures taken
on a quiet machine only. For measuring only; run with the system Python from the repository root after
`dotnet build src/Host -c Release`:

  /usr/bin/python3 bench/side_by_side.py [--rounds 3] [--threads 1,2] [--networks lenet5,cnn,rnn,lstm]"""
import json, os, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


rounds = int(arg("--rounds", "3"))
thread_counts = [int(t) for t in arg("--threads", "1,2").split(",")]
networks = arg("--networks", "lenet5,cnn,rnn,lstm")
dll = os.environ.get("FUNCTIONAL_DLL") or os.path.join(ROOT, "src", "Host", "bin", "Release", "net10.0", "functional.dll")
ours, theirs = {}, {}


def functional(threads):
    for net in networks.split(","):
        out = subprocess.run(["dotnet", dll, "bench", "--network", net, "--json", "--seconds", "2", "--threads", str(threads)],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            o = json.loads(line)
            ours.setdefault((o["network"], o["batch"], threads), []).append(o["examples_per_s"])


def pytorch(threads):
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "pytorch_peer.py"), "speed", "--threads", str(threads),
                          "--networks", networks], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        o = json.loads(line)
        theirs.setdefault((o["network"], o["batch"], threads), []).append(o["examples_per_s"])


before = os.getloadavg()
for r in range(rounds):
    for threads in thread_counts:
        sides = (functional, pytorch) if r % 2 == 0 else (pytorch, functional)
        for side in sides:
            side(threads)
after = os.getloadavg()

print(f"{rounds} rounds at {'/'.join(map(str, thread_counts))} thread(s), interleaved; medians of training examples/s, float32")
print(f"load average before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
print("network  batch  " + "  ".join(f"ours@{t:<2}" for t in thread_counts) + "  " +
      "  ".join(f"torch@{t:<2}" for t in thread_counts) + "  best ratio")
for net, batch in sorted({(k[0], k[1]) for k in ours if (k[0], k[1], thread_counts[0]) in theirs}):
    a = {t: statistics.median(ours[(net, batch, t)]) for t in thread_counts}
    b = {t: statistics.median(theirs[(net, batch, t)]) for t in thread_counts}
    ta, tb = max(a, key=a.get), max(b, key=b.get)
    print(f"{net:<7}  {batch:>5}  " + "  ".join(f"{a[t]:>7,.0f}" for t in thread_counts) + "  " +
          "  ".join(f"{b[t]:>8,.0f}" for t in thread_counts) +
          f"  {a[ta] / b[tb]:5.2f} ({ta} vs {tb})")
