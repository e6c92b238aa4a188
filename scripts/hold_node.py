"""The sky130 synapse's hold node measured from its own waveforms (scripts/fit-sky130, scripts/temperature-sky130).

    python3 scripts/hold_node.py measure OUT.yaml DESCRIPTOR...
    python3 scripts/hold_node.py apply MEASURED.yaml [MEASURED.yaml ...] IN.yaml OUT.yaml
    python3 scripts/hold_node.py charges MEASURED.yaml PARAMS.yaml MODEL_DIR DESCRIPTOR...

`measure` reads characterised runs (`stc characterise`: descriptor.yaml + waveforms.txt, columns time, i_ca, i_hp,
i_hd, v_h, z) and writes what the hold node is, block by block, without any model (V_H0 = 0.9 V and V_DD = 1.8 V,
the sky130 synapse's, are taken as given):
- the switches' off-state currents: each one's time-weighted median while below 1 pA, from 5 ms after it was last
  above, with v_h more than 300 mV below V_DD (the model's i_off_a; about 0.7 fA at 27 C, tens of fA at 70 C);
- the recovery (everything on the node but the switches): the slope of v_h in quiet stretches (both switched
  currents within 20 fA of their off-state levels, from 5 ms after the last switching, 20 ms windows) less what the
  switches still carry there over C (second pass), binned by v_h, and a transconductor
  fitted to it, s(v) = s_up tanh((v0 - v) / v_lin) below v0 and -s_down tanh((v - v0) / v_lin) above (V/s;
  least squares on a grid of v0 and v_lin, refined once, the amplitudes in closed form);
- the capacitance, per protocol, from the charge balance C (Delta v_h - integral of s(v_h) dt) = integral of
  (i_hp - i_hd) dt (trapezoids over the simulator's time points), and its median over the protocols whose v_h
  moves by more than 5 mV beyond recovery;
- the switches' on-levels: the time-weighted median of i_hp (i_hd) over the samples above 1 pA, pooled; and how
  each level moves with v_h (binned means, a line), written as the model's `on_factor_vs_v_h` per switch (100 mV
  bins with more than 1 ms on: the mean v_h and the mean current over the level, less the off-state current; i_hp
  with the fitted leakage near V_DD added back, as the model carries that on the capacitor) into OUT-currents.yaml,
  a file of its own (scripts/fit-sky130 applies it; scripts/sky130-physics compares constant currents);
- each switch's switching transients, the charge per on-pulse beyond the plateau the model's switch carries (its
  current at the sample's v_h while on, the off-state current while off, less the leakage near V_DD), per run and
  their median, which goes into OUT-transients.yaml as the switch's rise lag (a charge lost per pulse: tau_rise =
  |median| / (on-level - off-state current)) or fall lag (a charge gained), so that the model's switch carries the
  circuit's charge per pulse (not the transient's shape: nA for microseconds in the circuit);
- the leakage near V_DD: i_hp flows backwards (out of the hold node) while the switch is off and v_h is near the
  rail; ln(off - i_hp) against v_h over the samples within 300 mV of V_DD at least 50 ms after the switch was last
  on with i_hp more than 2 fA below its off-state current, a time-weighted straight line -> I_L exp((v_h - V_DD) /
  v_L), with the fits for cut-offs of -5 and -20 fA, binned means against the line (it bends below it near the
  rail), and the charge the fitted leakage takes off each run (its integral over the run's own v_h);
- the recovery currents, C times the fitted slopes.
`apply` writes a copy of the parameter file IN with the measured values of every MEASURED file, in order (a key IN lacks, e.g. the transconductor's,
goes at the end of its section; the rest of IN, comments included, is kept). `charges` prints, per protocol, the
switched charges integral of i_hp and of i_hd in the circuit and in a model's
`stc simulate` traces of PARAMS (MODEL_DIR/<name>.csv/traces.csv; the leakage near V_DD, which the circuit's i_hp
carries, added to the model's from its v_h with PARAMS' own leakage), the time each one's calcium spends above
PARAMS' potentiation threshold and the time its potentiation switch is on (its charge over the measured on-level),
and the final v_h error; the depression side (the calcium above PARAMS' I_THDEP, the switch's on-time and mean
current while on); then per switch pulse the potentiation comparator's onset and release delays, measured
from the calcium's crossings of PARAMS' threshold (for fits/sky130.yaml the one scripts/comparators.py measured on
the circuit's calcium and switch; which of calcium and comparator a miss lies in depends on the threshold used).
Standard library + PyYAML.
"""
import bisect
import math
import os
import statistics
import sys

import yaml


def load(descriptor):
    """(name, columns by name and its metadata) of one characterised run."""
    d = yaml.safe_load(open(descriptor))
    path = os.path.join(os.path.dirname(descriptor), d["source"]["file"])
    rows = [line.split() for line in open(path)]
    head, data = rows[0], [[float(x) for x in r] for r in rows[1:] if r]
    cols = dict(zip(head, zip(*data)))
    return d["name"], {"t": cols["time"], "i_ca": cols["i(vica)"], "i_hp": cols["i(vihp)"], "i_hd": cols["i(vihd)"],
                       "v_h": cols["v(h)"], "metadata": d.get("metadata") or {}}


def integral(t, y):
    return sum(0.5 * (y[k] + y[k + 1]) * (t[k + 1] - t[k]) for k in range(len(t) - 1))


def quiet_slopes(run, c=None, off=(0.0, 0.0), quiet_a=2e-14, settle_s=5e-3, window_s=0.02):
    """(v_h at the window's middle, dv_h/dt) of every quiet window (both switched currents within `quiet_a` of their
    off-state levels `off`, i_hp's and i_hd's); with a capacitance `c`, less what the switches still carry there
    ((i_hp - i_hd) / c: their off-state currents, and the leakage near V_DD flows through the potentiation switch)."""
    t, hp, hd, v = run["t"], run["i_hp"], run["i_hd"], run["v_h"]
    out, k, n = [], 0, len(t)
    quiet = lambda k: abs(hp[k] - off[0]) < quiet_a and abs(hd[k] - off[1]) < quiet_a
    while k < n:
        if not quiet(k):
            k += 1
            continue
        j = k
        while j < n and quiet(j):
            j += 1
        a = bisect.bisect_left(t, t[k] + settle_s)
        while a < j - 1:
            b = bisect.bisect_left(t, t[a] + window_s)
            if b > j - 1:
                break
            dv = v[b] - v[a]
            if c:
                dv -= integral(t[a:b + 1], [p - d for p, d in zip(hp[a:b + 1], hd[a:b + 1])]) / c
            out.append((0.5 * (v[a] + v[b]), dv / (t[b] - t[a])))
            a = b
        k = j
    return out


def slope(v, p):
    d = v - p["v0"]
    return p["s_up"] * math.tanh(-d / p["v_lin"]) if d < 0 else -p["s_down"] * math.tanh(d / p["v_lin"])


def fit_transconductor(points):
    """Least squares over v0 and v_lin (a grid: v0 within 15 mV of 0.9 V by 0.5 mV, v_lin 10-200 mV by 2 mV, then
    0.05 mV and 0.2 mV steps around the best), the two amplitudes in closed form for each."""

    def best_of(v0s, v_lins):
        best = None
        for v0 in v0s:
            for v_lin in v_lins:
                sums = {"up": [0.0, 0.0], "down": [0.0, 0.0]}
                for v, s in points:
                    x = math.tanh(abs(v - v0) / v_lin)
                    side, y = ("up", s) if v < v0 else ("down", -s)
                    sums[side][0] += x * y
                    sums[side][1] += x * x
                amp = {k: (a / b if b > 0 else 0.0) for k, (a, b) in sums.items()}
                p = {"v0": v0, "v_lin": v_lin, "s_up": amp["up"], "s_down": amp["down"]}
                sse = sum((s - slope(v, p)) ** 2 for v, s in points)
                if best is None or sse < best[0]:
                    best = (sse, p)
        return best[1]

    p = best_of([0.9 + 0.5e-3 * i for i in range(-30, 31)], [2e-3 * i for i in range(5, 101)])
    return best_of([p["v0"] + 0.05e-3 * i for i in range(-10, 11)], [p["v_lin"] + 0.2e-3 * i for i in range(-10, 11)])


def weights(t):
    """Each sample's share of time (half the steps on either side): the simulator's time points crowd at edges."""
    n = len(t)
    return [0.5 * ((t[min(k + 1, n - 1)] - t[k]) + (t[k] - t[max(k - 1, 0)])) for k in range(n)]


def weighted_quantile(pairs, q):
    """The q-quantile of (value, weight) pairs by weight."""
    pairs = sorted(pairs)
    goal, acc = q * sum(w for _, w in pairs), 0.0
    for x, w in pairs:
        acc += w
        if acc >= goal:
            return x
    return pairs[-1][0]


def weighted_median(pairs):
    """Median of (value, weight) pairs by weight."""
    return weighted_quantile(pairs, 0.5)


def off_levels(runs, v_dd=1.8, settle_s=5e-3):
    """Each switch's off-state current (i_hp's, i_hd's): the time-weighted median over the samples where it is below
    1 pA, at least `settle_s` after it was last above, with v_h more than 300 mV below V_DD (nearer the rail the
    potentiation switch leaks backwards, `leak_fit`); (0, 0) for a switch without such samples."""
    levels = []
    for key in ("i_hp", "i_hd"):
        pts = []
        for _, r in runs:
            last_on = -1.0
            for t, i, v, w in zip(r["t"], r[key], r["v_h"], weights(r["t"])):
                if i > 1e-12:
                    last_on = t
                elif last_on < 0 or t - last_on > settle_s:
                    if v < v_dd - 0.3:
                        pts.append((i, w))
        levels.append(weighted_median(pts) if pts else 0.0)
    return tuple(levels)


def leak_fit(runs, v_dd=1.8, below_a=-2e-15, off_a=0.0):
    """(I_L at V_DD, v_L, points (v_h - V_DD, ln(-i), weight)) of the reverse i_hp near the rail, counted from the
    switch's off-state current `off_a` (time-weighted least squares of ln(off_a - i_hp) on v_h, over the samples more
    than `-below_a` below it), or None without such samples."""
    pts = []
    for _, r in runs:
        last_on = -1.0
        for t, i, v, w in zip(r["t"], r["i_hp"], r["v_h"], weights(r["t"])):
            if i > 1e-12:
                last_on = t
            elif last_on >= 0 and t - last_on > 0.05 and i - off_a < below_a and v > v_dd - 0.3:
                pts.append((v - v_dd, math.log(off_a - i), w))
    if len(pts) < 5:
        return None
    sw = sum(w for _, _, w in pts)
    mx = sum(x * w for x, _, w in pts) / sw
    my = sum(y * w for _, y, w in pts) / sw
    b = sum(w * (x - mx) * (y - my) for x, y, w in pts) / sum(w * (x - mx) ** 2 for x, _, w in pts)
    return math.exp(my - b * mx), 1.0 / b, pts


def capacitance(runs, rec):
    """(median C, per-protocol rows) from the charge balance with the recovery `rec`."""
    caps, rows = [], []
    for name, r in runs:
        t, v = r["t"], r["v_h"]
        qp, qd = integral(t, r["i_hp"]), integral(t, r["i_hd"])
        drift = integral(t, [slope(x, rec) for x in v])
        moved = (v[-1] - v[0]) - drift
        c = (qp - qd) / moved if abs(moved) > 5e-3 else float("nan")
        if not math.isnan(c):
            caps.append(c)
        rows.append((name, qp, qd, 1e3 * (v[-1] - v[0]), 1e3 * drift, c))
    if not caps:
        sys.exit("hold_node.py: no run moves v_h by more than 5 mV beyond recovery: C cannot be measured")
    return statistics.median(caps), caps, rows


def on_points(runs, key, level):
    """(v_h, current, time weight) of every sample where a switch is on: its current within a factor 2 of its level,
    so the edges' charge-injection spikes are left out."""
    return [(v, x, w) for _, r in runs for v, x, w in zip(r["v_h"], r[key], weights(r["t"]))
            if 0.5 * level < x < 2.0 * level]


def on_bins(pts, lows):
    """Per 100 mV bin of v_h starting at each of `lows` with more than 1 ms of `pts` in it: (bin start, time-weighted
    mean v_h, time-weighted mean current)."""
    out = []
    for lo in lows:
        sel = [(v, x, w) for v, x, w in pts if lo <= v < lo + 0.1]
        sw = sum(w for _, _, w in sel)
        if sw > 1e-3:
            out.append((lo, sum(v * w for v, _, w in sel) / sw, sum(x * w for _, x, w in sel) / sw))
    return out


def level_against_v_h(runs, level):
    """Printed: each switch's current while on (`on_points`) against v_h, time-weighted: the means in 100 mV bins and
    a straight line through them all, with its slope relative to the level per volt (the model's table is
    `on_factor_table`)."""
    for key in ("i_hp", "i_hd"):
        pts = on_points(runs, key, level[key])
        sw = sum(w for _, _, w in pts)
        vm, xm = sum(v * w for v, _, w in pts) / sw, sum(x * w for _, x, w in pts) / sw
        svv = sum(w * (v - vm) ** 2 for v, _, w in pts)
        if svv <= 0:
            continue
        b = sum(w * (v - vm) * (x - xm) for v, x, w in pts) / svv
        bins = [f"{lo:.1f}-{lo + 0.1:.1f} V {1e12 * xm:.3f}"
                for lo, _, xm in on_bins(pts, [0.6 + 0.1 * k for k in range(12)])]
        print(f"  {key} while on against v_h (pA; bins with more than 1 ms on): " + ", ".join(bins))
        print(f"  {key}: {1e12 * b:+.3f} pA per V ({100 * b / level[key]:+.1f} % of the level per V) over "
              f"{1e3 * sw:.0f} ms on")


def on_factor_table(runs, key, level, off, leak=None, v_dd=1.8):
    """The on-current against v_h as the model's `on_factor_vs_v_h`: per 100 mV bin of v_h with more than 1 ms on
    (samples within a factor 2 of the level, as `level_against_v_h`), the time-weighted mean v_h and the mean of
    (i - off) / (level - off); for i_hp the fitted leakage near V_DD (I_L, v_L, and the nearest distance to V_DD of
    the samples it was fitted on), which the model carries on the capacitor, is added back to each sample first, so
    that it is not counted twice; a bin whose mean v_h is nearer V_DD than those samples is left out (the leakage is
    not measured there: at 70 C the fit's samples lie 111 mV or more below V_DD, and its extrapolation doubled the
    last bin's factor), so the table's last factor holds from there on."""
    pts = on_points(runs, key, level)
    if leak:
        pts = [(v, x + leak_at(leak[0], leak[1], v, v_dd), w) for v, x, w in pts]
    rows = []
    for lo, vm, xm in on_bins(pts, [0.1 * k for k in range(18)]):
        if leak and vm - v_dd > leak[2]:
            print(f"  ({key} bin {lo:.1f}-{lo + 0.1:.1f} V left out: its mean v_h {vm:.3f} V is nearer V_DD than "
                  f"the leakage's samples, {-1e3 * leak[2]:.0f} mV below it; with the extrapolated leakage added "
                  f"back it would read x{(xm - off) / (level - off):.4f})")
            continue
        rows.append([float(f"{vm:.4g}"), float(f"{(xm - off) / (level - off):.4g}")])
    return rows


def leak_at(i_l, v_l, v, v_dd=1.8):
    """The leakage near V_DD at hold-node voltage v: I_L exp((v - V_DD) / v_L) [A]."""
    return i_l * math.exp((v - v_dd) / v_l)


def factor_at(table, v):
    """The model's `on_factor_vs_v_h` at v (linear between the pairs, the end factors beyond them)."""
    if v <= table[0][0]:
        return table[0][1]
    for (v0, f0), (v1, f1) in zip(table, table[1:]):
        if v <= v1:
            return f0 + (f1 - f0) * (v - v0) / (v1 - v0)
    return table[-1][1]


def transients(runs, key, level, off, table, leak=None, v_dd=1.8):
    """Per run with on-pulses (above half the level): (pulses, charge beyond the plateau) of one switch, the plateau
    being what the model's switch carries at the sample's v_h while on (the on-current from `table`) or off (the
    off-state current), less the leakage near V_DD for i_hp: the edges' charge injection and rise and fall."""
    out = {}
    for name, r in runs:
        t, y, v = r["t"], r[key], r["v_h"]
        q, n, was = 0.0, 0, False
        for k in range(len(t) - 1):
            mid, vm = 0.5 * (y[k] + y[k + 1]), 0.5 * (v[k] + v[k + 1])
            now = mid > 0.5 * level
            n += now and not was
            was = now
            plateau = off + (level - off) * factor_at(table, vm) if now else off
            if leak:
                plateau -= leak_at(leak[0], leak[1], vm, v_dd)
            q += (mid - plateau) * (t[k + 1] - t[k])
        if n:
            out[name] = (n, q)
    return out


def measure(out, descriptors):
    runs = [load(d) for d in descriptors]
    # The switches' off-state currents (about 0.7 fA each at 27 C, 66 and 71 fA at 70 C): the recovery is read
    # where both switches sit at them, and they are the model's i_off_a.
    off = off_levels(runs)
    first = [p for _, r in runs for p in quiet_slopes(r, off=off)]
    if len(first) < 20:
        sys.exit(f"hold_node.py: only {len(first)} quiet 20 ms windows (both switched currents within 20 fA of their "
                 f"off-state levels {1e15 * off[0]:.1f} / {1e15 * off[1]:.1f} fA) in {len(runs)} runs; at least 20 are "
                 "needed to measure the recovery")
    # Two passes: the recovery from the raw slopes gives C; the slopes less the switches' small currents (over that
    # C) give the recovery again, and C with it.
    rec = fit_transconductor(first)
    c, caps, rows = capacitance(runs, rec)
    points = [p for _, r in runs for p in quiet_slopes(r, c, off)]
    rec = fit_transconductor(points)
    c, caps, rows = capacitance(runs, rec)
    if max(caps) - min(caps) > 0.1 * c:
        sys.exit(f"hold_node.py: the charge balance gives C from {1e12 * min(caps):.3f} to {1e12 * max(caps):.3f} pF "
                 "over the runs (more than 10 % apart): something on the node besides the switches and the recovery")
    level = {}
    for key in ("i_hp", "i_hd"):
        if not any(x > 1e-12 for _, r in runs for x in r[key]):
            sys.exit(f"hold_node.py: {key} never exceeds 1 pA: the switch's on-level cannot be measured")
        # On: above 1 pA (off, the switches leak fA); the charge-injection transients (nA for microseconds) are a
        # few of those samples, which the median passes over.
        level[key] = weighted_median(
            (x, w) for _, r in runs for x, w in zip(r[key], weights(r["t"])) if x > 1e-12)
    print(f"recovery, from {len(points)} quiet 20 ms windows (v_h - 0.9 V [mV]: slope [mV/s], fitted):")
    edges = [-0.3, -0.1, -0.06, -0.045, -0.03, -0.02, -0.01, -0.005, 0, 0.005, 0.01, 0.02, 0.03, 0.045, 0.06, 0.1, 0.3,
             0.6, 0.9]
    for lo, hi in zip(edges, edges[1:]):
        sel = [(v, s) for v, s in points if lo <= v - 0.9 < hi]
        if sel:
            vm = statistics.mean(v for v, _ in sel)
            print(f"  {1e3 * (vm - 0.9):+8.2f} mV (n {len(sel):4d}): {1e3 * statistics.mean(s for _, s in sel):+8.3f} mV/s, "
                  f"fit {1e3 * slope(vm, rec):+8.3f} mV/s")
    print(f"  transconductor: v0 = V_H0 {1e3 * (rec['v0'] - 0.9):+.2f} mV, v_lin {1e3 * rec['v_lin']:.0f} mV, "
          f"up {1e3 * rec['s_up']:.3f} mV/s, down {1e3 * rec['s_down']:.3f} mV/s")
    print("charge balance per protocol: Q_hp, Q_hd [fC], Delta v_h, recovery's share [mV], C [pF]:")
    for name, qp, qd, dv, dr, cc in rows:
        print(f"  {name:18} {1e15 * qp:9.1f} {1e15 * qd:9.1f} {dv:+9.2f} {dr:+8.2f}   {1e12 * cc:6.3f}")
    print(f"  C = {1e12 * c:.3f} pF (median of {len(caps)}; range {1e12 * min(caps):.3f}-{1e12 * max(caps):.3f})")
    print(f"switch on-levels: i_hp {1e12 * level['i_hp']:.2f} pA, i_hd {1e12 * level['i_hd']:.3f} pA; off-state: "
          f"i_hp {1e15 * off[0]:.2f} fA, i_hd {1e15 * off[1]:.2f} fA (v_h more than 300 mV below V_DD)")
    level_against_v_h(runs, level)
    result = {
        "capacitor.c_f": c,
        "capacitor.i_hrp_a": c * rec["s_up"],
        "capacitor.i_hrn_a": c * rec["s_down"],
        "capacitor.v_lin_v": rec["v_lin"],
        "capacitor.v_rec_offset_v": rec["v0"] - 0.9,
        "pot_switch.i_on_a": level["i_hp"],
        "dep_switch.i_on_a": level["i_hd"],
        "pot_switch.i_off_a": off[0],
        "dep_switch.i_off_a": off[1],
    }
    print("  recovery currents C x slope: up {:.1f} fA, down {:.1f} fA".format(
        1e15 * result["capacitor.i_hrp_a"], 1e15 * result["capacitor.i_hrn_a"]))
    leak = leak_fit(runs, off_a=off[0])
    if leak:
        i_l, v_l, pts = leak
        span = (1e3 * min(x for x, _, _ in pts), 1e3 * max(x for x, _, _ in pts))
        rms = math.sqrt(sum(w * (y - math.log(i_l) - x / v_l) ** 2 for x, y, w in pts) / sum(w for _, _, w in pts))
        print(f"leakage near V_DD: {i_l * 1e12:.3f} pA at V_DD, e-fold per {1e3 * v_l:.1f} mV ({len(pts)} samples, "
              f"v_h - V_DD {span[0]:.0f} to {span[1]:.0f} mV, time-weighted rms of ln i {rms:.3f})")
        for lo in (-0.3, -0.15, -0.1, -0.075, -0.05):
            sel = [(x, y, w) for x, y, w in pts if lo <= x < lo + (0.15 if lo == -0.3 else 0.05 if lo > -0.1 else 0.025)]
            if sel:
                sw = sum(w for _, _, w in sel)
                xm, ym = sum(x * w for x, _, w in sel) / sw, sum(y * w for _, y, w in sel) / sw
                print(f"  v_h - V_DD {1e3 * xm:7.1f} mV: i_hp - off {-1e15 * math.exp(ym):8.1f} fA, fit "
                      f"{-1e15 * i_l * math.exp(xm / v_l):8.1f} fA")
        for cut in (-5e-15, -20e-15):
            other = leak_fit(runs, below_a=cut, off_a=off[0])
            if other:
                print(f"  with samples below {1e15 * cut:.0f} fA only: {other[0] * 1e12:.3f} pA, {1e3 * other[1]:.1f} mV")
        for name, r in runs:
            q = integral(r["t"], [leak_at(i_l, v_l, v) for v in r["v_h"]])
            if q * 1e3 / c > 0.1:
                print(f"  {name}: the fitted leakage takes {1e15 * q:.0f} fC ({1e3 * q / c:.1f} mV) off the node")
        result["capacitor.i_leak_top_a"] = i_l
        result["capacitor.v_leak_top_v"] = v_l
    yaml.safe_dump({k: float(f"{v:.4g}") for k, v in result.items()}, open(out, "w"))
    # The on-currents against v_h, as the model's switches can carry them (`on_factor_vs_v_h`), into a file of their
    # own (scripts/fit-sky130 applies it; scripts/sky130-physics compares constant currents).
    currents, pulses = {}, {}
    print("switch currents against v_h (OUT-currents.yaml; the model's on_factor_vs_v_h):")
    for name, key, k in (("pot_switch", "i_hp", 0), ("dep_switch", "i_hd", 1)):
        lk = (leak[0], leak[1], max(x for x, _, _ in leak[2])) if (leak and key == "i_hp") else None
        table = on_factor_table(runs, key, level[key], off[k], lk)
        print(f"  {name} (v_h [V], factor of the on-level less the off-state current"
              + ("; the fitted leakage near V_DD added back" if lk else "") + "): "
              + ", ".join(f"{v:.3f} V x{f:.4f}" for v, f in table))
        currents[name + ".on_factor_vs_v_h"] = table
        pulses[name] = transients(runs, key, level[key], off[k], table, lk[:2] if lk else None)
    yaml.safe_dump(currents, open(out[:-5] + "-currents.yaml" if out.endswith(".yaml") else out + "-currents", "w"),
                   default_flow_style=None)
    print("switching transients per on-pulse: the charge beyond the plateau (the on-current at v_h, the off-state "
          "current, the leakage near V_DD), over the runs with pulses; into OUT-transients.yaml as the switch lag "
          "that carries the median's charge:")
    lags = {}
    for (name, per), k in zip(pulses.items(), (0, 1)):
        if not per:
            continue
        vals = [q / n for n, q in per.values()]
        q = statistics.median(vals)
        print(f"  {name}: median {1e15 * q:+.3f} fC per pulse over {len(vals)} runs "
              f"({1e15 * min(vals):+.2f} to {1e15 * max(vals):+.2f}); "
              + ", ".join(f"{r} {n} pulses {1e15 * q:+.1f} fC" for r, (n, q) in per.items()))
        # A rise lag tau takes (I_on - I_off) tau off a pulse much longer than tau, a fall lag adds as much: the
        # model's switch then carries the circuit's charge per pulse (not its shape: nA for microseconds there).
        tau = abs(q) / (level[("i_hp", "i_hd")[k]] - off[k])
        rise, fall = (tau, 0.0) if q < 0 else (0.0, tau)
        lags[name + ".tau_rise_s"], lags[name + ".tau_fall_s"] = rise, fall
        print(f"    -> {name}.tau_rise_s {1e6 * rise:.2f} us, tau_fall_s {1e6 * fall:.2f} us "
              f"(|charge| / (on-level - off-state current))")
    yaml.safe_dump({k: float(f"{v:.4g}") for k, v in lags.items()},
                   open(out[:-5] + "-transients.yaml" if out.endswith(".yaml") else out + "-transients", "w"))


def time_above(t, y, level):
    """Time y spends above level (linear between samples)."""
    total = 0.0
    for k in range(len(t) - 1):
        a, b = y[k] - level, y[k + 1] - level
        if a > 0 and b > 0:
            total += t[k + 1] - t[k]
        elif a > 0 or b > 0:
            total += (t[k + 1] - t[k]) * max(a, b) / (abs(a) + abs(b))
    return total


def crossings(t, y, level):
    """(time, upward) of every crossing of `level` (linear between samples)."""
    out = []
    for k in range(len(t) - 1):
        a, b = y[k] - level, y[k + 1] - level
        if (a > 0) != (b > 0):
            out.append((t[k] + (t[k + 1] - t[k]) * -a / (b - a), b > 0))
    return out


def on_intervals(t, i_sw, half_on, shortest=5e-5):
    """The switch's on-intervals (above half its on-level), with gaps and pulses shorter than `shortest` (the
    charge-injection transients at its edges, nA for microseconds) merged and dropped."""
    edges = crossings(t, i_sw, half_on)
    spans, start = [], None
    for x, up in edges:
        if up and start is None:
            start = x
        elif not up and start is not None:
            spans.append([start, x])
            start = None
    merged = []
    for a, b in spans:
        if merged and a - merged[-1][1] < shortest:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged if b - a >= shortest]


def delays(t, ica, i_sw, threshold, half_on):
    """Per switch pulse, (onset, release) [s]: from the calcium's last upward crossing of the threshold before the
    switch's rise through half its on-level to that rise, and from its last downward crossing before the switch's
    fall to that fall."""
    cal = crossings(t, ica, threshold)
    out = []
    for t_on, t_off in on_intervals(t, i_sw, half_on):
        up = [x for x, u in cal if u and x <= t_on]
        down = [x for x, u in cal if not u and (up[-1] if up else t_on) < x <= t_off]
        if up and down:
            out.append((t_on - up[-1], t_off - down[-1]))
    return out


def on_charge(t, y, half):
    """(time above `half`, charge over that time) of a switch current (trapezoids, by the interval's mean)."""
    on = q = 0.0
    for k in range(len(t) - 1):
        mid = 0.5 * (y[k] + y[k + 1])
        if mid > half:
            on += t[k + 1] - t[k]
            q += mid * (t[k + 1] - t[k])
    return on, q


def charges(measured, params, model_dir, descriptors):
    held = yaml.safe_load(open(measured))
    c = held["capacitor.c_f"]
    p = yaml.safe_load(open(params))
    # The leakage near V_DD is the model's own (PARAMS'), 0 for a file without it.
    i_l, v_l = float(p["capacitor"].get("i_leak_top_a", 0.0)), float(p["capacitor"].get("v_leak_top_v", 1.0))
    threshold = float(p["pot_comparator"]["threshold_a"])
    level = held["pot_switch.i_on_a"]
    pulses, dep = [], []
    th_dep, dep_level = float(p["dep_comparator"]["threshold_a"]), held["dep_switch.i_on_a"]
    print(f"potentiation: calcium above I_THPOT ({1e12 * threshold:.2f} pA, PARAMS') / switch on (Q_hp / "
          f"{1e12 * level:.2f} pA) [ms], circuit against model; the circuit's calcium above its bias I_THPOT; the "
          "calcium's highest value, circuit / model [pA] (at the circuit's time points and the traces' samples):")
    print("switched charges, circuit / model [fC] (model - circuit [%]); final v_h error, model - circuit [mV]:")
    for d in descriptors:
        name, r = load(d)
        rows = [line.rstrip("\n").split(",") for line in open(os.path.join(model_dir, f"{name}.csv", "traces.csv"))]
        m = dict(zip(rows[0], zip(*[[float(x) for x in row] for row in rows[1:]])))
        cells, on = [], []
        for key, col in (("i_hp", "i_hp_A"), ("i_hd", "i_hd_A")):
            qc, qm = integral(r["t"], r[key]), integral(m["t_s"], m[col])
            if key == "i_hp":
                # The circuit's i_hp carries the leakage near V_DD (it flows through that switch); the model's
                # leakage (PARAMS') is on the hold node: added here from the model's own v_h.
                qm += integral(m["t_s"], [-leak_at(i_l, v_l, v) for v in m["v_h_V"]])
            rel = f"{100 * (qm - qc) / qc:+6.1f} %" if qc > 1e-14 else "      -"
            cells.append(f"{1e15 * qc:8.1f} / {1e15 * qm:8.1f} ({rel})")
            on.append((qc, qm))
        above = (time_above(r["t"], r["i_ca"], threshold), time_above(m["t_s"], m["i_ca_A"], threshold))
        bias = r["metadata"].get("I_THPOT_A")
        at_bias = "" if bias is None else (
            f" (circuit above its bias {1e12 * float(bias):.0f} pA: {1e3 * time_above(r['t'], r['i_ca'], float(bias)):.2f})")
        pot = "" if above[0] == 0 and above[1] == 0 else (
            f"  pot {1e3 * above[0]:6.2f} / {1e3 * on[0][0] / level:6.2f} against {1e3 * above[1]:6.2f} / "
            f"{1e3 * on[0][1] / level:6.2f}{at_bias}; peak {1e12 * max(r['i_ca']):.1f} / "
            f"{1e12 * max(m['i_ca_A']):.1f}")
        fin = 1e3 * (m["v_h_V"][-1] - r["v_h"][-1])
        print(f"  {name:18} i_hp {cells[0]}  i_hd {cells[1]}  final {fin:+7.2f} mV  (1 % of Q_hp: "
              f"{10 * integral(r['t'], r['i_hp']) / c:.2f} mV){pot}")
        dep.append((name, [(time_above(t, ca, th_dep), on_charge(t, hd, 0.5 * dep_level))
                           for t, ca, hd in ((r["t"], r["i_ca"], r["i_hd"]), (m["t_s"], m["i_ca_A"], m["i_hd_A"]))]))
        pulses.append((name, delays(r["t"], r["i_ca"], r["i_hp"], threshold, 0.5 * level),
                       delays(m["t_s"], m["i_ca_A"], m["i_hp_A"], threshold, 0.5 * level)))
    print(f"depression: calcium above I_THDEP ({1e12 * th_dep:.2f} pA, PARAMS') / switch on (above half of "
          f"{1e12 * dep_level:.3f} pA) [ms] and its mean current while on [pA], circuit against model (model - circuit):")
    for name, ((ac, (tc, qc)), (am, (tm, qm))) in dep:
        if tc > 0 and tm > 0:
            print(f"  {name:18} above {1e3 * ac:7.2f} / {1e3 * am:7.2f} ({100 * (am / ac - 1):+5.2f} %)  on {1e3 * tc:7.2f} / "
                  f"{1e3 * tm:7.2f} ({100 * (tm / tc - 1):+5.2f} %)  current {1e12 * qc / tc:.3f} / {1e12 * qm / tm:.3f} "
                  f"({100 * ((qm / tm) / (qc / tc) - 1):+5.2f} %)")
    print("potentiation comparator per switch pulse, onset / release delay [ms] (mean, min-max; from the calcium's "
          "crossing of I_THPOT to the switch's half on-level), circuit against model:")
    for name, dc, dm in pulses:
        if not dc and not dm:
            continue
        def cell(ds):
            if not ds:
                return "no pulse"
            on, off = [1e3 * a for a, _ in ds], [1e3 * b for _, b in ds]
            return (f"{len(ds):3d} pulses {statistics.mean(on):5.2f} ({min(on):.2f}-{max(on):.2f}) / "
                    f"{statistics.mean(off):5.2f} ({min(off):.2f}-{max(off):.2f})")
        print(f"  {name:18} {cell(dc)}   {cell(dm)}")


def apply(*args):
    *measured, src, dst = args
    if not measured:
        sys.exit("hold_node.py apply: MEASURED.yaml [MEASURED.yaml ...] IN.yaml OUT.yaml")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from set_param import set_value

    text = open(src).read()
    for m in measured:
        for key, value in yaml.safe_load(open(m)).items():
            text = set_value(text, key, value if isinstance(value, list) else repr(float(value)), src, add=True)
    open(dst, "w").write(text)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "measure":
        measure(args[0], args[1:])
    elif cmd == "apply":
        apply(*args)
    elif cmd == "charges":
        charges(args[0], args[1], args[2], args[3:])
    else:
        sys.exit(f"unknown command {cmd}")
