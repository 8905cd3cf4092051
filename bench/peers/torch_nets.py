# SPDX-License-Identifier: BSD-3-Clause
"""PyTorch peer of hpk-bench's net family: ResNet-50 and MobileNetV2 built here with torch.nn
(the same architectures as bench/net_bench.cc), random weights, eval mode, batch 1, 224x224.

    torch_nets.py [--threads N ...] [--reps R] [--warmup W] [--nets resnet50,mobilenetv2]
                  [--export-onnx DIR]

Prints one JSON line per network and thread count: {"lib": "pytorch", "version": ...,
"net": ..., "threads": N, "ms": best of R runs, "median_ms": ...}. Runs under
torch.inference_mode() after W warm-up runs. --export-onnx DIR writes DIR/<net>.onnx
(torch.onnx.export, opset 13) for the ONNX Runtime peer (bench/peers/ort_nets.js) and exits.
Without torch it prints {"lib": "pytorch", "missing": reason} and exits 0.
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import torch
    from torch import nn
except Exception as e:  # noqa: BLE001 - any import failure means the peer is missing
    print(json.dumps({"lib": "pytorch", "missing": f"import torch failed: {e}"}))
    sys.exit(0)


def conv_bn(cin, cout, k, stride, groups=1, act=None):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = 4 * width
        self.body = nn.Sequential(conv_bn(cin, width, 1, 1, act=nn.ReLU),
                                  conv_bn(width, width, 3, stride, act=nn.ReLU),
                                  conv_bn(width, cout, 1, 1))
        self.short = conv_bn(cin, cout, 1, stride) if (stride != 1 or cin != cout) else None
        self.relu = nn.ReLU()

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return self.relu(self.body(x) + s)


def resnet50():
    layers = [conv_bn(3, 64, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for s, (width, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3))):
        for b in range(blocks):
            layers.append(Bottleneck(cin, width, 2 if (b == 0 and s > 0) else 1))
            cin = 4 * width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000), nn.Softmax(dim=1)]
    return nn.Sequential(*layers)


class Inverted(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = [] if t == 1 else [conv_bn(cin, hidden, 1, 1, act=nn.ReLU6)]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   conv_bn(hidden, cout, 1, 1)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def mobilenetv2():
    layers = [conv_bn(3, 32, 3, 2, act=nn.ReLU6)]
    cin = 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for r in range(n):
            layers.append(Inverted(cin, c, s if r == 0 else 1, t))
            cin = c
    layers += [conv_bn(cin, 1280, 1, 1, act=nn.ReLU6), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(1280, 1000), nn.Softmax(dim=1)]
    return nn.Sequential(*layers)


BUILDERS = {"resnet50": resnet50, "mobilenetv2": mobilenetv2}


def randomise_bn(model):
    """Random running statistics and affine parameters, as hpk's bench gives its batch-norms."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=g) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(c, generator=g) * 0.2 - 0.1)


def build(name):
    torch.manual_seed(0)
    model = BUILDERS[name]()
    randomise_bn(model)
    return model.eval()


def time_net(model, x, reps, warmup):
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    return min(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--nets", default="resnet50,mobilenetv2")
    ap.add_argument("--export-onnx", metavar="DIR")
    args = ap.parse_args()
    nets = [n for n in args.nets.split(",") if n]
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(2)) * 2 - 1

    if args.export_onnx:
        os.makedirs(args.export_onnx, exist_ok=True)
        for name in nets:
            path = os.path.join(args.export_onnx, name + ".onnx")
            tmp = path + ".tmp"
            torch.onnx.export(build(name), x, tmp, opset_version=13, input_names=["input"],
                              output_names=["prob"])
            os.replace(tmp, path)
            print(json.dumps({"exported": path}))
        return 0

    for t in args.threads:
        torch.set_num_threads(t)
        for name in nets:
            best, med = time_net(build(name), x, args.reps, args.warmup)
            print(json.dumps({"lib": "pytorch", "version": torch.__version__, "net": name,
                              "threads": t, "ms": round(best, 3), "median_ms": round(med, 3)}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
