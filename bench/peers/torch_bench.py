#!/usr/bin/env python3
"""PyTorch peer of the xarxa benchmark (GPU suite): 'torch-eager' or 'torch-compile'.

The notebook's two models written in PyTorch with Keras' semantics (TensorFlow
'same' padding, glorot-uniform kernels, zero biases, softmax + categorical
cross-entropy, SGD 0.01, batch 128, reshuffled every epoch). The whole data
set is uploaded to the GPU once; batches are gathered on the GPU, so no host
transfer is timed. torch.compile compiles the training step; its compile time
falls in the warm-up epoch.

Protocol: see bench/peers/keras_bench.py (config JSON in argv[1], @@BENCH lines).
Without torch or without a usable GPU it answers {"type": "unavailable"} with
the reason ("no GPU: ..."). XARXA_TORCH_ALLOW_CPU=1 runs it on the CPU instead,
only to check this script where no GPU is (test/bench/torch-peer.test.ts);
such figures are not a benchmark result.
"""
import json
import os
import resource
import sys
import time


def send(obj):
    sys.stdout.write("@@BENCH " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    cfg = json.loads(sys.argv[1])
    engine = cfg["engine"]
    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
        from torch import nn
    except Exception as e:  # noqa: BLE001
        send({"type": "unavailable", "message": "no GPU: PyTorch is not installed here (%s); "
              "python3 with torch exists on the GPU machines only" % e})
        return 0
    on_gpu = torch.cuda.is_available()
    if not on_gpu and os.environ.get("XARXA_TORCH_ALLOW_CPU") != "1":
        send({"type": "unavailable", "message": "no GPU: torch %s sees no CUDA device "
              "(torch.cuda.is_available() is False)" % torch.__version__})
        return 0

    dev = torch.device("cuda" if on_gpu else "cpu")

    def synchronize():
        if on_gpu:
            torch.cuda.synchronize()
    torch.manual_seed(int(cfg.get("seed", 1)))
    torch.backends.cudnn.benchmark = True

    class SamePad(nn.Module):
        """TensorFlow 'same' padding: extra row/column after (bottom/right)."""

        def __init__(self, k, s, value=0.0):
            super().__init__()
            self.k, self.s, self.value = k, s, value

        def forward(self, x):
            h, w = x.shape[-2], x.shape[-1]
            ph = max(0, (-(-h // self.s) - 1) * self.s + self.k - h)
            pw = max(0, (-(-w // self.s) - 1) * self.s + self.k - w)
            if ph == 0 and pw == 0:
                return x
            return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=self.value)

    def glorot(module):
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)

    if cfg["model"] == "mnist-dense":
        model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
        channels_last = False
    else:
        # NCHW inside torch; Flatten order differs from Keras' NHWC only by a
        # fixed permutation of the dense kernel's rows (same function class).
        model = nn.Sequential(
            SamePad(2, 2), nn.Conv2d(3, 32, 2, stride=2), nn.ReLU(),
            SamePad(2, 1, float("-inf")), nn.MaxPool2d(2, stride=1),
            SamePad(2, 2), nn.Conv2d(32, 16, 2, stride=2), nn.ReLU(),
            SamePad(2, 1, float("-inf")), nn.MaxPool2d(2, stride=1),
            nn.Flatten(), nn.Linear(16 * 8 * 8, 16), nn.ReLU(), nn.Linear(16, 10))
        channels_last = True
    model.apply(glorot)
    model.to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=float(cfg["lr"]))

    n = int(cfg["n"])
    shape = tuple(cfg["shape"])
    row = int(np.prod(shape))
    x = np.fromfile(cfg["x"], dtype=np.uint8, count=n * row).reshape((n,) + shape)
    labels = np.fromfile(cfg["y"], dtype=np.uint8, count=n).astype(np.int64)
    xt = torch.from_numpy(x).to(dev).float().div_(255.0)
    if channels_last:
        xt = xt.permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW, once
    yt = torch.from_numpy(labels).to(dev)

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        logits = model(xb)
        # softmax + categorical cross-entropy, computed from the logits as Keras on TF does
        loss = F.cross_entropy(logits, yb, reduction="mean")
        loss.backward()
        opt.step()
        correct = (logits.argmax(1) == yb).sum()
        return loss.detach() * xb.shape[0], correct

    if engine == "torch-compile":
        try:
            step = torch.compile(step)
        except Exception as e:  # noqa: BLE001
            send({"type": "unavailable", "message": "torch.compile failed: %s" % e})
            return 0

    batch = int(cfg["batchSize"])
    send({
        "type": "ready",
        "versions": {"torch": torch.__version__, "cuda": torch.version.cuda,
                     "cudnn": torch.backends.cudnn.version(), "python": sys.version.split()[0],
                     # PyTorch's defaults, left as a user gets them: convolutions may use TF32
                     # tensor cores (xarxa stays FP32 throughout); matmuls stay FP32.
                     "tf32": "conv %s, matmul %s" % (torch.backends.cudnn.allow_tf32,
                                                     torch.backends.cuda.matmul.allow_tf32)},
        "device": "%s (%s)" % ("GPU: " + torch.cuda.get_device_name(0) if on_gpu else "CPU (script check only, not a benchmark)",
                               "torch.compile" if engine == "torch-compile" else "eager"),
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
    })

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line).get("cmd")
        if cmd == "epoch":
            try:
                synchronize()
                t0 = time.perf_counter()
                order = torch.randperm(n, device=dev)
                loss_sum = torch.zeros((), device=dev)
                correct = torch.zeros((), device=dev, dtype=torch.int64)
                for i in range(0, n, batch):
                    idx = order[i:i + batch]
                    l, c = step(xt.index_select(0, idx), yt.index_select(0, idx))
                    loss_sum += l
                    correct += c
                synchronize()
                seconds = time.perf_counter() - t0
                send({"type": "epoch", "seconds": seconds, "loss": float(loss_sum) / n, "acc": float(correct) / n,
                      "samples": n, "steps": -(-n // batch)})
            except Exception as e:  # noqa: BLE001
                send({"type": "error", "message": "%s: %s" % (type(e).__name__, e)})
                return 1
        elif cmd == "finish":
            send({"type": "done", "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "peakGpuBytes": int(torch.cuda.max_memory_allocated()) if on_gpu else 0})
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
