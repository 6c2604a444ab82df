"""Rebuilds a Functional model in PyTorch from the model file alone (its __metadata__ and tensors), then checks
it against `functional predict --data` on the shipped test digits. For measuring only: nothing depends on it.

    /usr/bin/python3 bench/from_metadata.py runs/NAME/model.safetensors predictions.csv

The block between the markers is the README's snippet, verbatim (json, struct and torch only: no numpy, no
safetensors package needed).
"""
import gzip
import sys

# --- README snippet ---
import json, struct, torch
from torch import nn

def load(path):  # safetensors: u64 header length, JSON header, raw little-endian tensors
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta, dtypes = header.pop("__metadata__"), {"F32": torch.float32, "F64": torch.float64}
    data = lambda v: bytearray(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
    return meta, {k: torch.frombuffer(data(v), dtype=dtypes[v["dtype"]]).reshape(v["shape"])
                  for k, v in header.items()}

def network(meta, t):  # "input 1x28x28, conv 6 5x5 pad 2 relu, maxpool 2, flatten, ..."
    acts = {"relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "softmax": nn.Softmax(1)}
    modules = []
    for i, w in enumerate(layer.split() for layer in meta["architecture"].split(", ")[1:]):
        W, b = t.get(f"layers.{i}.weight"), t.get(f"layers.{i}.bias")
        arg = lambda key, default: int(w[w.index(key) + 1]) if key in w else default
        m = {"dense": lambda: nn.Linear(W.shape[1], W.shape[0]),
             "conv": lambda: nn.Conv2d(W.shape[1], W.shape[0], W.shape[2:], arg("stride", 1), arg("pad", 0)),
             "maxpool": lambda: nn.MaxPool2d(tuple(int(k) for k in (w[1] + "x" + w[1]).split("x")[:2])),
             "flatten": nn.Flatten, "dropout": lambda: nn.Dropout(float(w[1]))}[w[0]]()
        if W is not None: m.weight = nn.Parameter(W)
        if hasattr(m, "bias"): m.bias = nn.Parameter(b) if b is not None else None
        modules += [m] + [acts[a] for a in w[1:] if a in acts]
    return nn.Sequential(*modules).eval()

def predict(meta, t, net, pixels):  # pixels: [N, 784] 0..255; input_transform is a formula of x
    x = eval(meta["input_transform"], {"__builtins__": {}}, {"x": pixels.to(next(iter(t.values())).dtype)})
    return net(x.reshape(-1, *map(int, meta["input_shape"].split(","))))
# --- end of README snippet ---

if __name__ == "__main__":
    meta, t = load(sys.argv[1])
    net = network(meta, t)
    images = gzip.open("data/test-images-idx3-ubyte.gz").read()[16:]
    labels = torch.frombuffer(bytearray(gzip.open("data/test-labels-idx1-ubyte.gz").read()[8:]), dtype=torch.uint8).long()
    with torch.no_grad():
        out = predict(meta, t, net, torch.frombuffer(bytearray(images), dtype=torch.uint8).reshape(-1, 784))
    print(net)
    print("accuracy: %.2f%%" % (100 * (out.argmax(1) == labels).double().mean()))
    if len(sys.argv) > 2:  # functional predict --data ... --out CSV: index,label,predicted,<outputs>
        rows = [line.split(",") for line in open(sys.argv[2]).read().splitlines()[1:]]
        theirs = torch.tensor([[float(v) for v in r[3:]] for r in rows], dtype=torch.float64)
        print("max |difference| from functional predict: %.2e; argmax agreements %d of %d" % (
            (out.double() - theirs).abs().max(), (out.argmax(1) == theirs.argmax(1)).sum(), len(rows)))
