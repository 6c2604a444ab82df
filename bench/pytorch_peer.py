"""PyTorch 1.13 (Debian's python3-torch) beside Functional, for measuring only: nothing in the product or its
tests depends on it. Run with the system Python:

  /usr/bin/python3 bench/pytorch_peer.py speed  [--threads 2] [--networks lenet5,cnn,rnn,lstm]  # training ex/s
  /usr/bin/python3 bench/pytorch_peer.py check  RUN_OR_MODEL ARCH_KIND  # our tensors in PyTorch's modules

`check` reads a model.safetensors written by `functional train` (no safetensors package needed: 8-byte header
length, JSON header, raw little-endian data), loads its tensors in order into the nn.Sequential of the same
layers, and compares predictions and outputs on the shipped test images with `functional`'s own."""
import gzip, json, os, struct, sys, time
import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def idx(name):
    with gzip.open(os.path.join(ROOT, "data", name)) as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8)


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10))


class Recurrent(nn.Module):
    """The rnn and lstm presets: the image as 28 steps of 28 pixels, the last state into Linear(128, 10).
    Our model file names its tensors layers.0.weight_ih_l0 … layers.1.bias: `ours` maps them to these modules'."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(28, 128, batch_first=True)
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        states, _ = self.rnn(x.reshape(len(x), 28, 28))
        return self.out(states[:, -1])

    @staticmethod
    def ours(tensors):
        prefix = {"0": "rnn", "1": "out"}
        return {prefix[k.split(".")[1]] + "." + k.split(".")[2]: torch.tensor(v.astype(np.float32))
                for k, v in tensors.items()}


def rnn():
    return Recurrent(nn.RNN)


def lstm():
    return Recurrent(nn.LSTM)


def speed(threads, networks):
    torch.set_num_threads(threads)
    x = torch.tensor(idx("train-images-idx3-ubyte.gz"), dtype=torch.float32) / 255
    y = torch.tensor(idx("train-labels-idx1-ubyte.gz"), dtype=torch.long)
    cases = (("lenet5", lenet5, (32, 64)), ("cnn", cnn, (32, 64)), ("rnn", rnn, (64,)), ("lstm", lstm, (64,)))
    for name, make, batches in cases:
        if name not in networks:
            continue
        for b in batches:
            torch.manual_seed(1)
            model = make()
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
            loss_fn = nn.CrossEntropyLoss()
            steps = len(x) // b if name == "lenet5" else 40

            def run(k):
                for i in range(k):
                    xb, yb = x[i * b:(i + 1) * b], y[i * b:(i + 1) * b]
                    opt.zero_grad()
                    loss_fn(model(xb), yb).backward()
                    if name in ("rnn", "lstm"):  # the presets clip the gradient norm to 1
                        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    opt.step()

            run(5)
            t = time.perf_counter()
            run(steps)
            dt = time.perf_counter() - t
            print(json.dumps({"network": name, "batch": b, "threads": threads, "examples_per_s": round(steps * b / dt)}))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        dtype = {"F32": np.float32, "F64": np.float64}[t["dtype"]]
        tensors[name] = np.frombuffer(data[b:e], dtype).reshape(t["shape"])
    return tensors, meta


def check(path, kind):
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    tensors, meta = read_safetensors(path)
    model = {"lenet5": lenet5, "cnn": cnn, "rnn": rnn, "lstm": lstm}[kind]()
    if kind in ("rnn", "lstm"):
        model.load_state_dict(Recurrent.ours(tensors))  # strict: every name and shape must match
    else:
        ours = [tensors[k] for k in sorted(tensors, key=lambda k: (int(k.split(".")[1]), k.split(".")[2] != "weight"))]
        params = list(model.parameters())
        assert len(params) == len(ours), (len(params), len(ours))
        with torch.no_grad():
            for p, t in zip(params, ours):
                assert tuple(p.shape) == t.shape, (p.shape, t.shape)
                p.copy_(torch.tensor(t.astype(np.float32)))
    with torch.no_grad():
        x = torch.tensor(idx("test-images-idx3-ubyte.gz"), dtype=torch.float32) / 255
        y = idx("test-labels-idx1-ubyte.gz")
        probs = torch.softmax(model(x), dim=1).numpy()
    predicted = probs.argmax(1)
    print(json.dumps({"model": path, "arch": json.loads(meta["spec"])["arch"], "images": len(y),
                      "accuracy": float((predicted == y).mean()), "image0": [round(float(p), 6) for p in probs[0]]}))


if __name__ == "__main__":
    if sys.argv[1] == "speed":
        speed(int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2,
              sys.argv[sys.argv.index("--networks") + 1].split(",") if "--networks" in sys.argv else ["lenet5", "cnn"])
    else:
        check(sys.argv[2], sys.argv[3])
