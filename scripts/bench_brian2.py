"""A clock-driven peer for `stc bench`'s per-synapse path: the same ten-class training workload in Brian2.

Run by `scripts/bench-brian2` (which installs the pinned Brian2 into a cache and runs `stc bench` in the same run);
not part of the product. Brian2 C++ standalone, every synapse its own state, updated every time step (the way a
clock-driven simulator runs a plastic synapse with per-synapse parameters):

- 784 inputs with the thesis' regular trains (`src/network/encode.rs`: n = floor(pixel / 255 * 40 Hz * 150 ms)
  spikes, the interval rounded down to 1 ms), 150 ms presentation + 200 ms gap per digit, the first N digits of
  the shipped training file; 10 x per_class LIF outputs (tau_m 10 ms, threshold -50 mV, reset -70 mV, 10 ms
  refractory, 100 MOhm, I_bg 0.145 nA, exponential synaptic current tau_syn 5 ms) with a +1 nA teacher on the
  label's neurons during the presentation;
- per synapse, the blocks of the calibrated circuit synapse at `mnist-network`'s biases (values as `stc train`
  applies them): the linear DPI calcium (tau 16.1 ms, rest 12.5 pA, jumps 14 / 12 pA on pre / post spikes), for
  each comparator an onset-delayed view of the calcium (a first-order lag with the onset delay, 1.94 / 1.85 ms,
  standing in for the pure delay), its soft ramp (threshold 36 / 25 pA, width 8.3 / 2.2 pA), the ULL switch as a
  fast lag (rise 1.42 / 1.50 ms, fall 8 / 7 us) plus a tail lag (fraction 0.44 / 0.29, tail 2.2 / 16.4 ms), the
  hold capacitor (5.43 pF) driven by I_TAILP x_p - I_TAILD x_d with off currents, the symmetric recovery (80 fA)
  toward V_H0 and clipped to the rails; 8 state variables (the ramps are expressions; the lags' time constants and
  the recovery's sign are set every step);
- device mismatch: 11 quantities of each synapse (resting calcium, both jumps, both thresholds, both on and off
  currents, both recovery currents) drawn log-normal with mean 1 and the given sigma, approximately as `stc train
  --mismatch-sigma` (which varies 13 bias currents, the resting calcium through three of them);
- each input spike adds g_w (v_h - V_H0) to its output's synaptic current, with v_h as it is at that moment; no
  within-class winner-take-all, no tag or late phase (per-sample work in `stc`, small next to the per-step work).
  The output activity depends on dt (the teacher-driven rate), which moves the cost by a few per cent.

What it counts: equivalent synapse-steps/s = 784 x outputs x (simulated time / 1 ms) / wall s, the same label as
`stc bench` (simulated synapse-time per wall time); and the steps Brian2 actually took (784 x outputs x simulated
time / dt / wall s). The wall time is the simulation loop as Brian2 times it inside the compiled binary
(`device._last_run_time`; else the binary's whole run), not code generation or compilation, which are reported
apart. The dynamics are not validated against `stc`'s model (the delay is a lag, the spikes are
instantaneous jumps on the dt grid, exponential Euler): it is a cost reference, not a second implementation.
"""

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np


def load_mnist(root, n):
    with gzip.open(os.path.join(root, "train10k-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read()
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784)[:n]
    with gzip.open(os.path.join(root, "train10k-labels-idx1-ubyte.gz"), "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:n]
    return images, labels


def regular_train(pixel, max_rate_hz=40.0, window_s=0.15):
    n = int(np.floor(pixel / 255.0 * max_rate_hz * window_s + 1e-9))
    if n == 0:
        return []
    steps = int(round(window_s * 1000.0))
    interval = max(steps // n, 1)
    return [k * interval * 1e-3 for k in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--per-class", type=int, default=5)
    ap.add_argument("--dt-s", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mismatch-sigma", type=float, default=0.1)
    ap.add_argument("--mnist", default="data/mnist")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import brian2 as b2
    from brian2 import amp, mV, ms, nA, ohm, pA, pF, second, us, volt

    b2.set_device("cpp_standalone", directory=args.build_dir, build_on_run=False)
    if args.threads > 1:
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    b2.defaultclock.dt = args.dt_s * second
    b2.seed(args.seed)
    rng = np.random.default_rng(args.seed)

    images, labels = load_mnist(args.mnist, args.samples)
    window = 0.35
    idx, times = [], []
    for k, img in enumerate(images):
        for j, px in enumerate(img):
            for spike in regular_train(int(px)):
                idx.append(j)
                times.append(k * window + spike)
    order = np.lexsort((idx, times))
    inputs = b2.SpikeGeneratorGroup(784, np.array(idx)[order], np.array(times)[order] * second)

    n_out = 10 * args.per_class
    # Teacher: +1 nA on the label's neurons during each presentation, on a 50 ms grid (3 rows of presentation and
    # 4 of gap per sample).
    grid = np.zeros((int(round(args.samples * window / 0.05)), n_out))
    for k, lab in enumerate(labels):
        r0 = int(round(k * window / 0.05))
        grid[r0 : r0 + 3, lab * args.per_class : (lab + 1) * args.per_class] = 1.0
    teacher = b2.TimedArray(grid * nA, dt=50 * ms)
    out = b2.NeuronGroup(
        n_out,
        """
        dv/dt = (v_rev - v + r_m * (i_syn + i_bg + teacher(t, i))) / tau_m : volt (unless refractory)
        di_syn/dt = -i_syn / tau_syn : amp
        """,
        threshold="v > v_th",
        reset="v = v_reset",
        refractory=10 * ms,
        method="exact",
        namespace=dict(
            v_rev=-65 * mV, r_m=1e8 * ohm, i_bg=0.145 * nA, tau_m=10 * ms, tau_syn=5 * ms,
            v_th=-50 * mV, v_reset=-70 * mV, teacher=teacher,
        ),
    )
    out.v = -65 * mV

    syn = b2.Synapses(
        inputs,
        out,
        """
        dca/dt = (ca_rest - ca) / tau_ca : amp (clock-driven)
        dcp/dt = (ca - cp) / delay_p : amp (clock-driven)
        dcd/dt = (ca - cd) / delay_d : amp (clock-driven)
        op = clip((cp - th_p) / width_p + 0.5, 0, 1) : 1
        od = clip((cd - th_d) / width_d + 0.5, 0, 1) : 1
        dxpf/dt = (op - xpf) / tau_pf : 1 (clock-driven)
        dxpt/dt = (op - xpt) / tau_pt : 1 (clock-driven)
        dxdf/dt = (od - xdf) / tau_df : 1 (clock-driven)
        dxdt/dt = (od - xdt) / tau_dt : 1 (clock-driven)
        dvh/dt = (off_p + (on_p - off_p) * ((1 - f_p) * xpf + f_p * xpt)
                  - off_d - (on_d - off_d) * ((1 - f_d) * xdf + f_d * xdt) + i_rec) / c_h : volt (clock-driven)
        i_rec : amp
        tau_pf : second
        tau_pt : second
        tau_df : second
        tau_dt : second
        ca_rest : amp
        jump_in : amp
        jump_out : amp
        th_p : amp
        th_d : amp
        on_p : amp
        off_p : amp
        on_d : amp
        off_d : amp
        i_hrp : amp
        i_hrn : amp
        """,
        on_pre="""
        ca += jump_in
        i_syn_post += g_w * (vh - vh0)
        """,
        on_post="ca += jump_out",
        method="exponential_euler",
        namespace=dict(
            tau_ca=16.1 * ms, delay_p=1.94 * ms, delay_d=1.85 * ms, width_p=8.3 * pA, width_d=2.2 * pA,
            f_p=0.436, f_d=0.290, c_h=5.43 * pF, vh0=0.9 * volt, g_w=1 * nA / volt,
        ),
    )
    syn.connect()
    n_syn = 784 * n_out
    s = args.mismatch_sigma

    def mismatched(nominal):
        return nominal * np.exp(s * rng.standard_normal(n_syn) - 0.5 * s * s)

    syn.ca_rest = mismatched(12.5e-12) * amp
    syn.ca = 'ca_rest'
    syn.cp = 'ca_rest'
    syn.cd = 'ca_rest'
    syn.jump_in = mismatched(14e-12) * amp
    syn.jump_out = mismatched(12e-12) * amp
    syn.th_p = mismatched(36e-12) * amp
    syn.th_d = mismatched(25e-12) * amp
    syn.on_p = mismatched(12.5e-12) * amp
    syn.off_p = mismatched(1.2e-15) * amp
    syn.on_d = mismatched(1.8e-12) * amp
    syn.off_d = mismatched(1.2e-15) * amp
    syn.i_hrp = mismatched(80e-15) * amp
    syn.i_hrn = mismatched(80e-15) * amp
    syn.vh = (0.9 + 0.01 * rng.standard_normal(n_syn)) * volt
    syn.tau_pf = 1.42 * ms
    syn.tau_pt = 1.42 * ms
    syn.tau_df = 1.50 * ms
    syn.tau_dt = 1.50 * ms
    # The ULL lags rise with one time constant and fall with another: chosen each step from the output against the
    # state (so each lag stays linear in its state for exponential Euler); then the rails, and the recovery's sign.
    syn.run_regularly(
        """
        tau_pf = 1.42 * ms * int(op >= xpf) + 8 * us * int(op < xpf)
        tau_pt = 1.42 * ms * int(op >= xpt) + 2.23 * ms * int(op < xpt)
        tau_df = 1.50 * ms * int(od >= xdf) + 7.3 * us * int(od < xdf)
        tau_dt = 1.50 * ms * int(od >= xdt) + 16.4 * ms * int(od < xdt)
        vh = clip(vh, 0 * volt, 1.8 * volt)
        i_rec = i_hrp * int(vh < vh0) - i_hrn * int(vh > vh0)
        """,
        when="before_groups",
    )
    spikes = b2.SpikeMonitor(out)
    b2.run(args.samples * window * second)
    t0 = time.perf_counter()
    b2.device.build(directory=args.build_dir, compile=True, run=False)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    b2.device.run()
    binary_wall = time.perf_counter() - t0
    # Brian2's own timing of the simulation loop, without the binary's start-up and result writing, when it has one.
    wall = float(getattr(b2.device, "_last_run_time", None) or binary_wall)
    sim_s = args.samples * window
    result = {
        "peer": "brian2 %s cpp_standalone, %d thread(s), exponential Euler, dt %g s" % (b2.__version__, args.threads, args.dt_s),
        "samples": args.samples,
        "outputs": n_out,
        "dt_s": args.dt_s,
        "threads": args.threads,
        "wall_s": wall,
        "binary_wall_s": binary_wall,
        "codegen_and_compile_s": t_build,
        "equivalent_synapse_steps_per_s": n_syn * (sim_s / 1e-3) / wall,
        "synapse_steps_per_s": n_syn * round(sim_s / args.dt_s) / wall,
        "output_spikes": int(spikes.num_spikes),
        "mean_v_h_v": float(np.mean(syn.vh[:] / volt)),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
