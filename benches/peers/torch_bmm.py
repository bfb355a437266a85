#!/usr/bin/env python3
"""Peer baseline on a GPU: PyTorch, the Monte Carlo written with torch.randn + torch.bmm.
Samples M ReLU MLPs (C_W = 2, zero bias, NTK parameterization, Gaussian weights) in batches of
B networks, K inputs (random, each scaled to norm sqrt(n0)), and records per network the output
of readout unit 0 for each input and the KxK empirical NTK of readout unit 0 -- the statistic
randnet computes (algorithm of benches/peers/mc_numpy.py: forward stores every W and the ReLU
masks, the backward pass applies W^T to the deltas). float32 on the GPU.
Usage: torch_bmm.py N0 WIDTH DEPTH M K [B] [NTK=1] [REPS=3]  -> one JSON line; networks_per_s
is the median over REPS timed runs of M networks each.
Timing: torch.cuda.synchronize() before and after each run; one warm-up batch is excluded."""
import sys, time, json, torch

n0, n, L, M, K = map(int, sys.argv[1:6])
B = int(sys.argv[6]) if len(sys.argv) > 6 else 64
ntk = (int(sys.argv[7]) if len(sys.argv) > 7 else 1) != 0
REPS = int(sys.argv[8]) if len(sys.argv) > 8 else 3
CW = 2.0
dev = torch.device("cuda")
torch.backends.cuda.matmul.allow_tf32 = False  # true FP32, as randnet
g = torch.Generator(device=dev).manual_seed(20261123)
X = torch.randn(n0, K, device=dev, generator=g)
X *= (n0 ** 0.5) / X.norm(dim=0, keepdim=True)
widths = [n0] + [n] * L + [1]


def batch(b):
    a = X.expand(b, n0, K)
    acts, masks, Ws = [], [], []
    for l in range(L + 1):
        W = torch.randn(b, widths[l + 1], widths[l], device=dev, generator=g)
        W.mul_((CW / widths[l]) ** 0.5)
        z = torch.bmm(W, a)
        if ntk:
            acts.append(a); Ws.append(W)
        if l < L:
            m = z > 0
            if ntk:
                masks.append(m)
            a = z.clamp_min(0)
    out = z[:, 0, :]
    if not ntk:
        return out, None
    d = torch.ones(b, 1, K, device=dev)
    Kmat = torch.zeros(b, K, K, device=dev)
    for l in range(L, -1, -1):
        Kmat += torch.bmm(acts[l].transpose(1, 2), acts[l]) * torch.bmm(d.transpose(1, 2), d) * (CW / widths[l])
        if l > 0:
            d = torch.bmm(Ws[l].transpose(1, 2), d) * masks[l - 1]
    return out, Kmat


rates = []
with torch.no_grad():
    batch(B)  # warm-up
    for _ in range(REPS):
        torch.cuda.synchronize()
        t = time.perf_counter()
        done, outs, k00 = 0, [], []
        while done < M:
            b = min(B, M - done)
            o, Km = batch(b)
            outs.append(o[:, 0])
            if Km is not None:
                k00.append(Km[:, 0, 0])
            done += b
        torch.cuda.synchronize()
        rates.append(M / (time.perf_counter() - t))
rates_sorted = sorted(rates)
nps = rates_sorted[len(rates) // 2] if len(rates) % 2 else 0.5 * (rates_sorted[len(rates) // 2 - 1] + rates_sorted[len(rates) // 2])
o = torch.cat(outs)
res = {"bench": "torch_bmm", "device": torch.cuda.get_device_name(), "torch": torch.__version__,
       "n0": n0, "n": n, "L": L, "K": K, "M": M, "batch": B, "ntk": ntk,
       "networks_per_s": nps, "reps": rates, "out_var": float(o.var()),
       "max_mem_gib": torch.cuda.max_memory_allocated() / 2**30}
if k00:
    a = torch.cat(k00)
    res["ntk00_mean"] = float(a.mean()); res["ntk00_var"] = float(a.var())
print(json.dumps(res), flush=True)
