"""Where the model's calcium departs from the circuit's, piece by piece (issue 7): the resting current, the decay
rate at each calcium level, each spike's jump against the calcium it lands on, and the calcium near the comparator
thresholds. Standard library + PyYAML.

    python3 scripts/dpi_shape.py PARAMS.yaml MODEL_DIR DESCRIPTOR...

MODEL_DIR holds the model's traces of the same protocols, MODEL_DIR/<name>.csv/traces.csv (`stc simulate --params
PARAMS --protocol P --dt 1e-5`, as scripts/fit-sky130 step 5 writes them). Both sides are measured the same way on
their own traces (no model equation is re-implemented here):
- rest: the calcium at the end of the three longest stretches without a spike (each run's longest, from t = 0 or a
  spike; every protocol starts the circuit at its resting operating point, the model at dpi.i_init_a);
- decay rate: d ln(i_ca)/dt between consecutive samples at least 0.3 ms after the last spike and before the next,
  binned by calcium, median per bin weighted by time (the circuit's samples are dense where ngspice stepped finely);
- jumps: i_ca 40 us after a spike minus i_ca 1 us before it, for spikes with no other spike within 0.3 ms and where
  the model's calcium before the spike is within 2 % of the circuit's (so that both jump from the same level), binned
  by the circuit's calcium before the spike;
- near the thresholds: the model's calcium against the circuit's where the circuit's is within 5 % of PARAMS'
  I_THPOT and I_THDEP, 0.3 ms or more after a spike (not on a spike's rising edge, where a timing difference of a
  few us would read as a level), weighted by time.
"""
import bisect
import math
import os
import statistics
import sys

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from hold_node import load, weighted_quantile  # noqa: E402

BINS_PA = [12, 15, 18, 22, 27, 33, 40, 50, 60, 70, 80, 90, 100, 120, 160]
QUIET_S = 0.3e-3


def interp(t, y, x):
    k = bisect.bisect_right(t, x)
    if k <= 0:
        return y[0]
    if k >= len(t):
        return y[-1]
    t0, t1 = t[k - 1], t[k]
    return y[k - 1] if t1 == t0 else y[k - 1] + (y[k] - y[k - 1]) * (x - t0) / (t1 - t0)


def spikes_of(descriptor):
    s = yaml.safe_load(open(descriptor))["stimulus"]
    pre = [float(x) for x in s.get("pre_spikes_s") or []]
    post = [float(x) for x in s.get("post_spikes_s") or []]
    return pre, post


def quiet_rates(t, y, spikes):
    """(calcium, d ln i/dt, duration) between consecutive samples in quiet stretches."""
    out = []
    for k in range(len(t) - 1):
        a, b = t[k], t[k + 1]
        if b <= a or b - a > 1e-3 or y[k] <= 0 or y[k + 1] <= 0:
            continue
        j = bisect.bisect_right(spikes, b + 1e-9)
        if j > 0 and a - spikes[j - 1] < QUIET_S:
            continue
        out.append((math.sqrt(y[k] * y[k + 1]), (math.log(y[k + 1]) - math.log(y[k])) / (b - a), b - a))
    return out


def bin_of(i):
    k = bisect.bisect_right(BINS_PA, 1e12 * i) - 1
    return k if 0 <= k < len(BINS_PA) - 1 else None


def main(params, model_dir, descriptors):
    p = yaml.safe_load(open(params))
    th = {"I_THPOT": float(p["pot_comparator"]["threshold_a"]), "I_THDEP": float(p["dep_comparator"]["threshold_a"])}
    rates = {"circuit": [[] for _ in BINS_PA], "model": [[] for _ in BINS_PA]}
    jumps = {"pre": [[] for _ in BINS_PA], "post": [[] for _ in BINS_PA]}
    near = {k: [] for k in th}
    rest = []
    left_out = {"pre": 0, "post": 0}
    for d in descriptors:
        name, r = load(d)
        rows = [line.rstrip("\n").split(",") for line in open(os.path.join(model_dir, f"{name}.csv", "traces.csv"))]
        m = dict(zip(rows[0], zip(*[[float(x) for x in row] for row in rows[1:]])))
        pre, post = spikes_of(d)
        spikes = sorted(pre + post)
        sides = {"circuit": (r["t"], r["i_ca"]), "model": (m["t_s"], m["i_ca_A"])}
        # The run's longest stretch without a spike (from t = 0 or a spike to the next spike or the end).
        ends = spikes + [r["t"][-1]]
        gap, x = max((b - a, b) for a, b in zip([0.0] + spikes, ends))
        rest.append((name, gap, x - 1e-6, interp(*sides["circuit"], x - 1e-6), interp(*sides["model"], x - 1e-6)))
        for side, (t, y) in sides.items():
            for i, rate, dt in quiet_rates(t, y, spikes):
                k = bin_of(i)
                if k is not None:
                    rates[side][k].append((rate, dt))
        for kind, train in (("pre", pre), ("post", post)):
            for s in train:
                if any(x != s and abs(x - s) < QUIET_S for x in spikes):
                    continue
                before = [interp(t, y, s - 1e-6) for t, y in sides.values()]
                after = [interp(t, y, s + 40e-6) for t, y in sides.values()]
                k = bin_of(before[0])
                if k is None:
                    continue
                if abs(before[1] / before[0] - 1) > 0.02:
                    left_out[kind] += 1
                    continue
                jumps[kind][k].append((after[0] - before[0], after[1] - before[1]))
        t, y = r["t"], r["i_ca"]
        for key, level in th.items():
            for k in range(len(t) - 1):
                j = bisect.bisect_right(spikes, t[k] + 1e-9)
                if abs(y[k] / level - 1) < 0.05 and (j == 0 or t[k] - spikes[j - 1] >= QUIET_S) and t[k + 1] > t[k]:
                    near[key].append((interp(m["t_s"], m["i_ca_A"], t[k]) / y[k] - 1, t[k + 1] - t[k]))

    print("resting calcium, circuit / model [pA]:")
    for name, gap, x, a, b in sorted(rest, key=lambda q: -q[1])[:3]:
        print(f"  {name} at {x:.3f} s, the end of its longest stretch without a spike ({1e3 * gap:.0f} ms): "
              f"{1e12 * a:.3f} / {1e12 * b:.3f} ({100 * (b / a - 1):+.2f} %)")
    print(f"decay rate d ln(i_ca)/dt in quiet stretches ({1e3 * QUIET_S:.1f} ms or more after a spike), median per calcium "
          "bin, weighted by time [1/s], circuit / model (model / circuit - 1; + where the model decays faster):")
    for k in range(len(BINS_PA) - 1):
        rc, rm = rates["circuit"][k], rates["model"][k]
        if len(rc) < 5 or len(rm) < 5:
            continue
        a, b = weighted_quantile(rc, 0.5), weighted_quantile(rm, 0.5)
        rel = f"{100 * (b / a - 1):+6.2f} %" if abs(a) > 5 else "      -"
        print(f"  {BINS_PA[k]:4d}-{BINS_PA[k + 1]:4d} pA  n {len(rc):6d} / {len(rm):6d}  {a:8.2f} / {b:8.2f}  ({rel})")
    print("jump of an isolated spike (i_ca 40 us after it minus 1 us before it) where the model's calcium before it is "
          "within 2 % of the circuit's, by the circuit's calcium before it: the circuit's jump [pA] (median) and the "
          "model's against it (median of model / circuit - 1), bins with 5 spikes or more; left out (the model more "
          f"than 2 % off before the spike): pre {left_out['pre']}, post {left_out['post']}")
    for kind in ("pre", "post"):
        for k in range(len(BINS_PA) - 1):
            v = jumps[kind][k]
            if len(v) < 5:
                continue
            jc = statistics.median(a for a, _ in v)
            rel = statistics.median(b / a - 1 for a, b in v)
            print(f"  {kind:4} {BINS_PA[k]:4d}-{BINS_PA[k + 1]:4d} pA  n {len(v):4d}  {1e12 * jc:7.2f} pA  {100 * rel:+6.2f} %")
    print(f"the model's calcium where the circuit's is within 5 % of a threshold, {1e3 * QUIET_S:.1f} ms or more after a "
          "spike (model / circuit - 1, weighted by time: median, and 10th-90th percentile):")
    for key, v in near.items():
        if len(v) < 10:
            continue
        print(f"  {key} {1e12 * th[key]:6.2f} pA  n {len(v):6d}  {100 * weighted_quantile(v, 0.5):+6.2f} % "
              f"({100 * weighted_quantile(v, 0.1):+.2f} to {100 * weighted_quantile(v, 0.9):+.2f} %)")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
