#!/usr/bin/python3
"""Trains the attention_forecaster of examples/elnino_forecast.cpp on the
monthly El Nino sea surface temperatures (NOAA ERSST.V3B, Nino 1+2 region,
1950-2010; public domain; shipped in Debian's python3-statsmodels as
statsmodels.datasets.elnino). Writes the series as examples/data/elnino.csv
(so the C++ example needs no Python) and the model file with PyTorch's
one-step-ahead forecasts of the held-out years, which the C++ example must
reproduce.

    /usr/bin/python3 tools/train_forecaster.py

Train on 1950-1998, forecast 1999-2010 one month ahead from the previous
36 months; about three minutes on one thread."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edgeattn_torch import AttentionForecaster, module_file_to_graph, write_safetensors  # noqa: E402

WINDOW, HIDDEN, HEADS = 36, 32, 4
TEST_FROM = 1999


def series():
    import statsmodels.api as sm
    d = sm.datasets.elnino.load_pandas().data
    months = []
    for _, row in d.iterrows():
        for m, col in enumerate(d.columns[1:]):
            months.append((int(row["YEAR"]), m + 1, float(row[col])))
    return months


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..")
    months = series()
    os.makedirs(os.path.join(root, "examples", "data"), exist_ok=True)
    with open(os.path.join(root, "examples", "data", "elnino.csv"), "w") as f:
        f.write("month,sst_celsius\n")
        for y, m, v in months:
            f.write(f"{y:04d}-{m:02d},{v:.2f}\n")
    x = torch.tensor([v for _, _, v in months])
    test_start = next(i for i, (y, _, _) in enumerate(months) if y == TEST_FROM)
    mean, std = float(x[:test_start].mean()), float(x[:test_start].std())
    z = (x - mean) / std
    idx = torch.arange(WINDOW, test_start)  # targets inside the training years
    xs = torch.stack([z[i - WINDOW:i] for i in idx])[:, :, None]
    ys = z[idx][:, None]
    torch.set_num_threads(1)
    torch.manual_seed(0)
    m = AttentionForecaster(1, HIDDEN, HEADS, 1)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    t0 = time.time()
    for epoch in range(150):
        perm = torch.randperm(len(xs))
        for i in range(0, len(xs), 64):
            b = perm[i:i + 64]
            loss = torch.nn.functional.mse_loss(m(xs[b])["y"], ys[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch % 50 == 49:
            print(f"epoch {epoch + 1}: train mse {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
    m.eval()
    test = torch.arange(test_start, len(x))
    with torch.no_grad():
        pred = m(torch.stack([z[i - WINDOW:i] for i in test])[:, :, None])["y"][:, 0] * std + mean
    actual = x[test]
    rmse = lambda p: float(((p - actual) ** 2).mean().sqrt())  # noqa: E731
    r_model, r_last, r_season = rmse(pred), rmse(x[test - 1]), rmse(x[test - 12])
    print(f"held-out {TEST_FROM}-2010 ({len(test)} months), RMSE in C: model {r_model:.3f}, "
          f"last value {r_last:.3f}, same month last year {r_season:.3f}")
    assert r_model < r_last and r_model < r_season, "the model must beat both baselines"
    tensors = {"param." + k: v.detach().float() for k, v in m.state_dict().items()}
    tensors["pytorch.test_predictions"] = pred.float()
    path = os.path.join(root, "examples", "models", "elnino_forecaster.safetensors")
    write_safetensors(path, tensors, {
        "module": m.kind, "config": json.dumps(m.config), "window": str(WINDOW),
        "test_from": str(TEST_FROM), "mean": repr(mean), "std": repr(std),
        "rmse_model": repr(r_model), "rmse_last_value": repr(r_last), "rmse_seasonal": repr(r_season),
        "data": "examples/data/elnino.csv: NOAA ERSST.V3B Nino 1+2, public domain (statsmodels elnino)"})
    module_file_to_graph(path, {"x": ("f32", ["batch", "window", 1])}, ["y", "weights"])
    print("wrote", os.path.normpath(path), f"({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
