"""PyTorch twin of ml/src/bench/unet.ts (same architecture, Adam, softmax CE), for the engine
benchmark. Usage: torch_unet.py THREADS SIZE [--batch 8] [--channels 16,32,64,128] [--classes 12] [--device cpu|cuda]
Serves one line per request on stdin: 'train' or 'infer' -> the milliseconds of one step, so the
caller can alternate with its own steps (both then see the same machine load). The first line
printed is a JSON header ({"available": ..., "version", "params", "device"}). On cuda each step's
time ends after torch.cuda.synchronize(), so it counts the GPU's work, not only its launch."""
import json, sys, time

def main():
    args = sys.argv[1:]
    opts = {"--batch": "8", "--channels": "16,32,64,128", "--classes": "12", "--device": "cpu"}
    pos = []
    i = 0
    while i < len(args):
        if args[i] in opts:
            opts[args[i]] = args[i + 1]; i += 2
        else:
            pos.append(args[i]); i += 1
    try:
        import torch
        import torch.nn as nn
    except Exception as e:  # noqa
        print(json.dumps({"available": False, "reason": f"PyTorch is not importable: {e}"}), flush=True)
        return
    threads = int(pos[0]); sizes = [int(s) for s in pos[1:]]
    torch.set_num_threads(threads)
    B = int(opts["--batch"])
    chans = [int(c) for c in opts["--channels"].split(",")]; classes = int(opts["--classes"])

    def double(cin, c):
        return nn.Sequential(nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                             nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.ModuleList()
            cin = 3
            for c in chans:
                self.enc.append(double(cin, c)); cin = c
            self.up = nn.ModuleList(); self.dec = nn.ModuleList()
            for i in range(len(chans) - 2, -1, -1):
                self.up.append(nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2))
                self.dec.append(double(2 * chans[i], chans[i]))
            self.head = nn.Conv2d(chans[0], classes, 1)

        def forward(self, x):
            skips = []
            for i, e in enumerate(self.enc):
                if i > 0: x = nn.functional.max_pool2d(x, 2)
                x = e(x); skips.append(x)
            for j, (u, d) in enumerate(zip(self.up, self.dec)):
                x = d(torch.cat([u(x), skips[len(chans) - 2 - j]], 1))
            return self.head(x)

    device = opts["--device"]
    if device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"available": False, "reason": "torch.cuda.is_available() is False"}), flush=True)
        return
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    S = sizes[0]
    torch.manual_seed(0)
    model = UNet().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(B, 3, S, S, device=device); y = torch.randint(0, classes, (B, S, S), device=device)
    lossf = nn.CrossEntropyLoss(ignore_index=255)
    print(json.dumps({"available": True, "version": torch.__version__, "threads": threads, "device": device,
                      "params": sum(p.numel() for p in model.parameters())}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        t = time.perf_counter()
        if cmd == "train":
            model.train()
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x), y); loss.backward(); opt.step()
        elif cmd == "infer":
            model.eval()
            with torch.no_grad():
                model(x)
        else:
            break
        sync()
        print((time.perf_counter() - t) * 1000, flush=True)

main()
