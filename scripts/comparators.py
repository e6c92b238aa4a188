"""The sky130 synapse's two comparators measured from its own waveforms (scripts/fit-sky130,
scripts/temperature-sky130).

    python3 scripts/comparators.py measure HOLD_NODE.yaml OUT.yaml DESCRIPTOR... [--check DESCRIPTOR...]

Each comparator is driven, in the circuit, by the circuit's own calcium i_ca and decides when its switch conducts.
Both are in the characterised runs (`stc characterise`: i_ca, and i_hp / i_hd, on above half the switch's on-level
that `hold_node.py measure` wrote to HOLD_NODE.yaml; the charge-injection spikes at the edges merged and dropped as in
`hold_node.py charges`). So the comparator is measured block by block, as the hold node is: the model's comparator
(src/blocks/wta.rs, an output node that integrates i_ca - threshold, clamped to [0, charge_on + charge_off], on while
above charge_on; src/synapse/circuit.rs `integrating_crossings`) is run here on the circuit's sampled i_ca (trapezoids,
linear within a step) and its three values, threshold, charge_on and charge_off, are those that make its on-intervals
agree best with the circuit switch's: least total disagreement (the time exactly one of the two is on) over all the
DESCRIPTORs, relative to the circuit's total on-time; a Nelder-Mead search on their logarithms from a grid of starts.
The model's DPI plays no part: a miss of the calcium cannot be made up here, as it could in a fit on v_h.

Prints, per comparator, the measured values, how well each is determined (the range over which the disagreement grows by
at most 0.1 % of the circuit's on-time, that value held and the other two re-optimised), per run the switch's on-time in the circuit and in the measured
comparator on the same calcium, their disagreement and pulse counts, and the same for the `--check` runs (not used for
the measurement: what it predicts). OUT gets the six values under the model's keys (`hold_node.py apply` writes them
into a parameter file). Standard library + PyYAML.
"""
import math
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hold_node import crossings, load, on_intervals  # noqa: E402

COMPARATORS = (("pot", "i_hp", "pot_switch.i_on_a"), ("dep", "i_hd", "dep_switch.i_on_a"))


def switching(t, ica, th, q_on, q_off):
    """On-intervals of the integrating comparator on the sampled input, as src/synapse/circuit.rs
    `integrating_crossings` has it: on if the first sample is above the threshold (the node then saturated at
    q_on + q_off, else at 0); the node gains the trapezoid of (i - th) per step, clamped to [0, q_on + q_off]; it
    switches on when it reaches q_on and off when it falls below; the crossing is placed linearly within its step
    (on the unclamped gain, which is linear there)."""
    q_max = q_on + q_off
    x = [i - th for i in ica]
    on = x[0] > 0
    q = q_max if on else 0.0
    spans, start = [], t[0] if on else None
    for k in range(len(t) - 1):
        dt = t[k + 1] - t[k]
        raw = q + 0.5 * (x[k] + x[k + 1]) * dt
        q_next = min(max(raw, 0.0), q_max)
        if (q_next >= q_on) != on:
            tc = t[k] + dt * (q_on - q) / (raw - q)
            if on:
                spans.append((start, tc))
            else:
                start = tc
            on = not on
        q = q_next
    if on:
        spans.append((start, t[-1]))
    return spans


def on_time(spans):
    return sum(b - a for a, b in spans)


def disagreement(a, b):
    """Time during which exactly one of two sets of disjoint, sorted intervals is on."""
    events = sorted([(x, s) for p, q in a for x, s in ((p, 1), (q, -1))] + [(x, s) for p, q in b for x, s in
                                                                             ((p, 1), (q, -1))])
    total, level, last = 0.0, 0, None
    for x, s in events:
        if level == 1:
            total += x - last
        level += s
        last = x
    return total


def cost(runs, th, q_on, q_off):
    return (sum(disagreement(switching(r["t"], r["i_ca"], th, q_on, q_off), r["on"]) for r in runs)
            / sum(on_time(r["on"]) for r in runs))


def nelder_mead(f, x0, step=0.3, tol=1e-5, max_evals=400):
    """Minimise f from x0 (standard coefficients 1, 2, 0.5, 0.5); stops when the simplex's costs agree within tol
    (absolute) or after max_evals evaluations. Returns (x, f(x), evaluations)."""
    n = len(x0)
    pts = [list(x0)] + [[x + (step if i == j else 0.0) for j, x in enumerate(x0)] for i in range(n)]
    vals = [f(p) for p in pts]
    evals = n + 1
    while evals < max_evals:
        order = sorted(range(n + 1), key=lambda i: vals[i])
        pts, vals = [pts[i] for i in order], [vals[i] for i in order]
        if vals[-1] - vals[0] <= tol:
            break
        centre = [sum(p[j] for p in pts[:-1]) / n for j in range(n)]
        towards = lambda a: [c + a * (w - c) for c, w in zip(centre, pts[-1])]  # noqa: E731
        r = towards(-1.0)
        fr = f(r)
        evals += 1
        if fr < vals[0]:
            e = towards(-2.0)
            fe = f(e)
            evals += 1
            pts[-1], vals[-1] = (e, fe) if fe < fr else (r, fr)
        elif fr < vals[-2]:
            pts[-1], vals[-1] = r, fr
        else:
            c = towards(0.5)
            fc = f(c)
            evals += 1
            if fc < vals[-1]:
                pts[-1], vals[-1] = c, fc
            else:
                pts = [pts[0]] + [[b + 0.5 * (x - b) for b, x in zip(pts[0], p)] for p in pts[1:]]
                vals = [vals[0]] + [f(p) for p in pts[1:]]
                evals += n
    best = min(range(n + 1), key=lambda i: vals[i])
    return pts[best], vals[best], evals


def circuit_on(t, i_sw, half_on):
    """The circuit switch's on-intervals (`hold_node.on_intervals`: above half its on-level, the charge-injection
    spikes at its edges merged and dropped), plus what that leaves out because it lacks an edge: a switch already on
    at the first sample (from the run's start to its first fall) or still on at the last (from its last rise to the
    run's end), as `switching` counts them."""
    spans = on_intervals(t, i_sw, half_on)
    edges = crossings(t, i_sw, half_on)
    if i_sw[0] > half_on:
        falls = [x for x, up in edges if not up]
        spans = [(t[0], falls[0] if falls else t[-1])] + spans
    if i_sw[-1] > half_on:
        rises = [x for x, up in edges if up]
        if rises and (not spans or rises[-1] > spans[-1][1]):
            spans.append((rises[-1], t[-1]))
    return spans


def read(descriptors, column, level):
    runs = []
    for d in descriptors:
        name, r = load(d)
        runs.append({"name": name, "t": r["t"], "i_ca": r["i_ca"], "on": circuit_on(r["t"], r[column], level / 2)})
    return runs


def table(runs, values):
    for r in runs:
        model = switching(r["t"], r["i_ca"], *values)
        c, m = on_time(r["on"]), on_time(model)
        rel = f"{100 * (m / c - 1):+6.1f} %" if c > 0 else "      -"
        off = disagreement(model, r["on"])
        print(f"  {r['name']:18} {1e3 * c:8.2f} {1e3 * m:8.2f} ms ({rel})  disagreement {1e3 * off:6.2f} ms   "
              f"pulses {len(r['on']):3d} / {len(model):3d}")


def measure(hold_node, out, descriptors, check):
    levels = yaml.safe_load(open(hold_node))
    result, evaluations = {}, 0
    for which, column, level_key in COMPARATORS:
        runs = read(descriptors, column, levels[level_key])
        if not any(r["on"] for r in runs):
            sys.exit(f"comparators.py: the {which} switch ({column}) is never on in the training runs: its comparator "
                     "cannot be measured")
        f = lambda x: cost(runs, *(math.exp(v) for v in x))  # noqa: E731
        best = None
        # A grid of starts: threshold 60-90 pA (pot) or 24-36 pA (dep), on-charge 0.5-8 fC, off-charge 0.05-2 fC.
        centre = 75e-12 if which == "pot" else 30e-12
        for th in (0.85 * centre, centre, 1.15 * centre):
            for q_on in (0.5e-15, 2e-15, 8e-15):
                for q_off in (0.05e-15, 2e-15):
                    x, fx, n = nelder_mead(f, [math.log(th), math.log(q_on), math.log(q_off)])
                    evaluations += n
                    if best is None or fx < best[1]:
                        best = (x, fx)
        values = [math.exp(v) for v in best[0]]
        th, q_on, q_off = values
        print(f"{which} comparator, from i_ca and {column} of {len(runs)} runs: threshold {1e12 * th:.2f} pA, "
              f"charge_on {1e15 * q_on:.3f} fC, charge_off {1e15 * q_off:.4f} fC; disagreement {100 * best[1]:.2f} % "
              "of the circuit's on-time")
        # How well the data fix each value: walking out from the measured value in steps (threshold 0.25 %, the
        # charges 20 %), that value held and the other two re-optimised (Nelder-Mead from the measured values), how
        # far the disagreement stays within +0.1 % of the circuit's on-time of its least.
        for k, name in enumerate(("threshold", "charge_on", "charge_off")):
            step, limit = (0.0025, 16) if k == 0 else (0.05, 48)
            reach = []
            for sign in (-1, 1):
                last = 1.0
                for n in range(1, limit + 1):
                    held = values[k] * math.exp(sign * n * step)
                    others = [j for j in range(3) if j != k]

                    def g(y):
                        trial = list(values)
                        trial[k] = held
                        for j, v in zip(others, y):
                            trial[j] = math.exp(v)
                        return cost(runs, *trial)

                    _, fy, used = nelder_mead(g, [math.log(values[j]) for j in others], step=0.1, max_evals=60)
                    evaluations += used
                    if fy > best[1] + 1e-3:
                        break
                    last = math.exp(sign * n * step)
                reach.append((last, n == limit and last == math.exp(sign * limit * step)))
            (lo, lo_open), (hi, hi_open) = reach
            edge = "".join(note for hit, note in ((lo_open, " (at the walk's lower end: not determined below)"),
                                                   (hi_open, " (at the walk's upper end: not determined above)"))
                           if hit)
            print(f"  {name}: disagreement within +0.1 % from x{lo:.4f} to x{hi:.4f}, the others re-optimised{edge}")
        print("  switch on-time, circuit / measured comparator on the circuit's calcium [ms]:")
        table(runs, values)
        if check:
            print("  not used for the measurement (--check):")
            table(read(check, column, levels[level_key]), values)
        result[f"{which}_comparator.threshold_a"] = th
        result[f"{which}_comparator.charge_on_c"] = q_on
        result[f"{which}_comparator.charge_off_c"] = q_off
    print(f"{evaluations} evaluations of the disagreement in all")
    yaml.safe_dump({k: float(f"{v:.4g}") for k, v in result.items()}, open(out, "w"))


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "measure" or len(args) < 4:
        sys.exit(__doc__.split("\n\n")[1])
    rest = args[3:]
    check = rest[rest.index("--check") + 1:] if "--check" in rest else []
    train = rest[:rest.index("--check")] if "--check" in rest else rest
    if not train:
        sys.exit("comparators.py: no training DESCRIPTOR before --check")
    measure(args[1], args[2], train, check)
