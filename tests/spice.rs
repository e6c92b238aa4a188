//! Transistor-level ground truth: each block of `circuits/sky130` against its textbook behaviour, the composed
//! synapse against the thesis' Fig. 14 signs, and `stc characterise` end to end. Every test runs ngspice with the
//! sky130 models (`scripts/setup-spice`). In CI (`CI=true`) a missing simulator is a failure; locally the tests
//! print one line saying how to install it and pass without running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use stc_synapse::io::descriptor::WaveformSet;
use stc_synapse::protocol::Protocol;
use stc_synapse::spice::{self, deck, Biases, DeckOptions, Stimulus};

static SKIP_NOTICE: Once = Once::new();

/// The simulator and the model file, or None (after one notice) when they are not installed outside CI.
fn tools() -> Option<(PathBuf, PathBuf)> {
    match (spice::find_ngspice(), spice::find_models()) {
        (Ok(ng), Ok(m)) => Some((ng, m.file)),
        (a, b) => {
            let why = a.err().map(|e| e.to_string()).or(b.err().map(|e| e.to_string())).unwrap_or_default();
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI must run the ngspice tests: {why}");
            }
            // Written to the raw stderr (not eprintln!, which the test harness captures) so that it is seen once.
            SKIP_NOTICE.call_once(|| {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "ngspice tests skipped: {why}");
            });
            None
        }
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run testbench `circuits/sky130/tb/NAME.sp` in a fresh folder; returns the folder.
fn run_tb(name: &str, ng: &Path, models: &Path) -> tempfile::TempDir {
    run_tb_edited(name, ng, models, |t| t)
}

/// [`run_tb`] of the testbench's text after `edit` (a changed analysis, Monte Carlo switched on).
fn run_tb_edited(name: &str, ng: &Path, models: &Path, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let blocks = repo().join("circuits/sky130/blocks.spice");
    let text = edit(std::fs::read_to_string(repo().join(format!("circuits/sky130/tb/{name}.sp"))).unwrap())
        .replace("{{MODELS}}", &models.display().to_string())
        .replace("{{BLOCKS}}", &blocks.display().to_string());
    std::fs::write(dir.path().join("tb.sp"), text).unwrap();
    std::fs::write(dir.path().join(".spiceinit"), deck::SPICEINIT).unwrap();
    let o = Command::new(ng).current_dir(dir.path()).args(["-b", "tb.sp", "-o", "tb.log"]).output().unwrap();
    let log = std::fs::read_to_string(dir.path().join("tb.log")).unwrap_or_default();
    assert!(o.status.success() && !log.to_ascii_lowercase().contains("error"), "{name}: ngspice failed:\n{log}");
    dir
}

/// Numeric columns of a `wrdata` file (header skipped).
fn columns(path: &Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut cols: Vec<Vec<f64>> = Vec::new();
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split_whitespace().map(|c| c.parse().unwrap()).collect();
        if cols.is_empty() {
            cols = vec![Vec::new(); v.len()];
        }
        for (c, x) in cols.iter_mut().zip(v) {
            c.push(x);
        }
    }
    cols
}

/// Where `i` (against `v`, one peak at index `k`) crosses `level` on either side of the peak, interpolated linearly:
/// the nearest crossing going left from the peak, then going right.
fn crossings_around(v: &[f64], i: &[f64], k: usize, level: f64) -> (f64, f64) {
    let cross = |idx: Vec<usize>| -> f64 {
        for w in idx.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (i[a] - level) * (i[b] - level) <= 0.0 && i[a] != i[b] {
                return v[a] + (level - i[a]) / (i[b] - i[a]) * (v[b] - v[a]);
            }
        }
        panic!("no crossing of {level:e} on one side of the peak");
    };
    (cross((0..=k).rev().collect()), cross((k..v.len()).collect()))
}

/// Least-squares slope of y against x.
fn slope(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    let (mx, my) = (sx / n, sy / n);
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

/// DPI: the free decay after a burst is exponential with tau = C U_T / (kappa I_tau), kappa / U_T measured on the
/// output device in the same deck (sweep of its V_SG over the same current range), C = 1 pF, I_tau = 7 pA.
#[test]
fn dpi_decay_time_constant() {
    let Some((ng, models)) = tools() else { return };
    let dir = run_tb("dpi", &ng, &models);
    let c = columns(&dir.path().join("dpi.txt"));
    let (lo, hi) = (30e-12, 90e-12);
    let decay: Vec<(f64, f64)> = c[0]
        .iter()
        .zip(&c[1])
        .filter(|(t, i)| **t > 0.0202 && **i > lo && **i < hi)
        .map(|(t, i)| (*t, i.ln()))
        .collect();
    assert!(decay.len() > 20, "too few decay points: {}", decay.len());
    let tau = -1.0 / slope(&decay);
    let s = columns(&dir.path().join("dpi-sweep.txt"));
    let dev: Vec<(f64, f64)> =
        s[0].iter().zip(&s[1]).filter(|(_, i)| **i > lo && **i < hi).map(|(vg, i)| (1.8 - vg, i.ln())).collect();
    assert!(dev.len() >= 5, "too few sweep points: {}", dev.len());
    let kappa_over_ut = slope(&dev);
    let theory = 1e-12 / (kappa_over_ut * 7e-12);
    eprintln!(
        "DPI: tau {:.3} ms, theory C U_T/(kappa I_tau) {:.3} ms (kappa/U_T = {kappa_over_ut:.2} /V, kappa = {:.3} at U_T = 25.85 mV)",
        tau * 1e3,
        theory * 1e3,
        kappa_over_ut * 0.02585
    );
    assert!((tau / theory - 1.0).abs() < 0.15, "tau {tau} vs theory {theory}");
    // the burst charged it well above the rest: the DPI integrates
    let peak = c[1].iter().cloned().fold(0.0, f64::max);
    assert!(peak > 80e-12, "peak {peak}");
}

/// Bump: bell curve in dV = v1 - v2 with its peak at dV ~ 0 and a width at half height of 3.52 U_T / kappa
/// (sech^2), kappa / U_T measured on the pair device in the same deck.
#[test]
fn bump_width_at_half_height() {
    let Some((ng, models)) = tools() else { return };
    let dir = run_tb("bump", &ng, &models);
    let c = columns(&dir.path().join("bump.txt"));
    let (v, i) = (&c[0], &c[1]);
    let (k, peak) = i.iter().enumerate().fold((0, 0.0), |a, (k, x)| if *x > a.1 { (k, *x) } else { a });
    let (left, right) = crossings_around(v, i, k, peak / 2.0);
    let fwhm = right - left;
    let s = columns(&dir.path().join("bump-sweep.txt"));
    let dev: Vec<(f64, f64)> =
        s[0].iter().zip(&s[1]).filter(|(_, i)| -**i > 1e-11 && -**i < 3e-10).map(|(vg, i)| (*vg, (-i).ln())).collect();
    let kappa_over_ut = slope(&dev);
    let theory = 3.5255 / kappa_over_ut;
    eprintln!(
        "bump: peak {:.1} pA at dV = {:.1} mV, width at half height {:.1} mV, theory 3.52 U_T/kappa {:.1} mV",
        peak * 1e12,
        (v[k] - 0.9) * 1e3,
        fwhm * 1e3,
        theory * 1e3
    );
    assert!((fwhm / theory - 1.0).abs() < 0.15, "fwhm {fwhm} vs {theory}");
    assert!((v[k] - 0.9).abs() < 0.02, "peak at {}", v[k]);
    // tails: far from the centre the bump is down by orders of magnitude
    assert!(i[0] < peak * 0.02 && i[i.len() - 1] < peak * 0.02);
}

/// The tag detector's input offset under the sky130 mismatch models (`scripts/bump_mc.py` reports it for the README;
/// `stc train --tag-offset-sigma-v`): 20 Monte Carlo samples of the bump testbench, each read as minus the centre of
/// its two crossings of 75 % of its own peak (which cancels the spread of the bump's height; the same reading as
/// the script, so not an independent check of its number). A sanity bound: the offsets must spread as a device
/// mismatch does (sd between 2.5 and 12 mV; 5.63 mV over 200 samples measured), around no large
/// systematic shift (|mean| below 3 mV; +1.31 mV over 200), while the bump's width at that relative level stays within
/// 5 % of the nominal one (the offset moves the bump, it does not widen it).
#[test]
fn bump_offset_spreads_under_mismatch() {
    let Some((ng, models)) = tools() else { return };
    let sweep = "dc V1 0.6 1.2 0.002\nwrdata bump.txt i(Vbo)\ndc Vgn 0.6 0.85 0.005\nwrdata bump-sweep.txt i(Vdn)\n";
    let measure = |seed: Option<u64>| -> (f64, f64) {
        let dir = run_tb_edited("bump", &ng, &models, |text| {
            assert!(text.contains(sweep));
            let t = text.replace(sweep, "dc V1 0.75 1.05 0.00025\nwrdata bump.txt i(Vbo)\n");
            match seed {
                Some(s) => t
                    .replace(".param MC_MM_SWITCH=0", ".param MC_MM_SWITCH=1")
                    .replace("method=gear", &format!("method=gear seed={s}")),
                None => t,
            }
        });
        let c = columns(&dir.path().join("bump.txt"));
        let (v, i) = (&c[0], &c[1]);
        let k = (0..i.len()).max_by(|&a, &b| i[a].total_cmp(&i[b])).unwrap();
        let (left, right) = crossings_around(v, i, k, 0.75 * i[k]);
        (0.9 - 0.5 * (left + right), 0.5 * (right - left))
    };
    let (_, half0) = measure(None);
    let samples: Vec<(f64, f64)> = (1..=20).map(|s| measure(Some(s))).collect();
    let n = samples.len() as f64;
    let mean = samples.iter().map(|s| s.0).sum::<f64>() / n;
    let sd = (samples.iter().map(|s| (s.0 - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    eprintln!("bump offset over 20 samples: mean {:+.3} mV, sd {:.3} mV", mean * 1e3, sd * 1e3);
    assert!((2.5e-3..12e-3).contains(&sd), "sd {sd}");
    assert!(mean.abs() < 3e-3, "mean {mean}");
    for (k, (_, half)) in samples.iter().enumerate() {
        assert!((half / half0 - 1.0).abs() < 0.05, "seed {}: half-distance {half} vs {half0}", k + 1);
    }
}

/// WTA: the cell with the larger input takes the whole bias, the other falls to ~0; the logic output follows.
#[test]
fn wta_switching() {
    let Some((ng, models)) = tools() else { return };
    let dir = run_tb("wta", &ng, &models);
    let c = columns(&dir.path().join("wta.txt"));
    let ib = 1e-9;
    for (k, &iin) in c[0].iter().enumerate() {
        let (a, b, out) = (c[1][k], c[2][k], c[3][k]);
        if iin <= 52e-12 {
            assert!(b > 0.9 * ib && a < 1e-3 * ib && out < 0.1, "below threshold at {iin}: {a} {b} {out}");
        }
        if iin >= 72e-12 {
            assert!(a > 0.9 * ib && b < 1e-3 * ib && out > 1.7, "above threshold at {iin}: {a} {b} {out}");
        }
    }
    let switch = c[0].iter().zip(&c[3]).find(|(_, o)| **o > 0.9).map(|(i, _)| *i).unwrap();
    eprintln!(
        "WTA: output switches at {:.0} pA (threshold 62 pA), winner {:.3} nA",
        switch * 1e12,
        c[1][c[1].len() - 1] * 1e9
    );
    assert!((switch - 62e-12).abs() < 10e-12, "switches at {switch}");
}

/// Hold droop: the ULL T-switch with its guard leaks much less than a plain switch of the same size.
#[test]
fn ull_switch_holds_better_than_a_plain_switch() {
    let Some((ng, models)) = tools() else { return };
    let dir = run_tb("hold", &ng, &models);
    let c = columns(&dir.path().join("hold.txt"));
    let n = c[0].len() - 1;
    let droop = |col: &Vec<f64>| (col[0] - col[n]) / (c[0][n] - c[0][0]);
    let (ull, plain) = (droop(&c[1]), droop(&c[2]));
    eprintln!("hold droop on 4 pF: ULL {:.3} mV/s, plain {:.3} mV/s", ull * 1e3, plain * 1e3);
    assert!(plain > 0.0 && ull.abs() * 5.0 < plain, "ULL {ull} V/s vs plain {plain} V/s");
}

fn synapse_run(stim: Stimulus, b: &Biases, ng: &Path, models: &Path) -> spice::RunOutput {
    let dir = tempfile::tempdir().unwrap();
    let d = deck::synapse_deck(&stim, b, &DeckOptions::nominal(models.to_path_buf()));
    let out = spice::run_deck(ng, &dir.path().join("run"), &d, spice::BLOCKS_SPICE, models, None).unwrap();
    std::mem::forget(dir); // keep the files while `out` refers to them; the OS temp cleaner removes them
    out
}

/// The decks resolve the spike pulses: a +3 ms pairing (the validation set's, whose calcium peaks a few pA above
/// I_THPOT) gives the same calcium with the decks' own steps (10 ms maximum, PWL points every
/// `deck::PULSE_POINT_S` inside each 10 us pulse) as with a 0.2 us maximum step: the calcium 0.5 ms after each spike and
/// its peak within 0.1 %, and the same potentiation charge (within 2 fC + 2 %). Before the points inside the pulses the deck's jump was 2 % larger
/// (peak 83.39 pA, 82.28 pA with the points) and the pairing potentiated where the resolved circuit does not.
#[test]
fn spike_pulses_are_resolved() {
    let Some((ng, models)) = tools() else { return };
    let b = Biases::default_point();
    let stim = Stimulus { name: "pairing-dt3ms".into(), duration_s: 0.02, pre_s: vec![0.005], post_s: vec![0.008] };
    let runs: Vec<spice::RunOutput> = std::thread::scope(|s| {
        let h: Vec<_> = [1e-2, 2e-7]
            .into_iter()
            .map(|max_step_s| {
                let (ng, models, b, stim) = (&ng, &models, &b, stim.clone());
                s.spawn(move || {
                    let dir = tempfile::tempdir().unwrap();
                    let o = DeckOptions { max_step_s, ..DeckOptions::nominal(models.to_path_buf()) };
                    let d = deck::synapse_deck(&stim, b, &o);
                    let out = spice::run_deck(ng, &dir.path().join("run"), &d, spice::BLOCKS_SPICE, models, None);
                    std::mem::forget(dir);
                    out.unwrap()
                })
            })
            .collect();
        h.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let at = |out: &spice::RunOutput, t: f64| {
        let tr = out.file.trace("i(vica)").unwrap();
        let k = tr.t_s.partition_point(|&x| x < t).min(tr.t_s.len() - 1);
        let (t0, t1, v0, v1) = (tr.t_s[k - 1], tr.t_s[k], tr.values[k - 1], tr.values[k]);
        v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    };
    let peak = |out: &spice::RunOutput| trace(out, "i(vica)").iter().cloned().fold(0.0, f64::max);
    let q_hp = |out: &spice::RunOutput| {
        let tr = out.file.trace("i(vihp)").unwrap();
        tr.t_s.windows(2).zip(tr.values.windows(2)).map(|(t, v)| 0.5 * (v[0] + v[1]) * (t[1] - t[0])).sum::<f64>()
    };
    let (deck_run, fine) = (&runs[0], &runs[1]);
    for (what, a, f) in [
        ("calcium 0.5 ms after the pre spike", at(deck_run, 0.0055), at(fine, 0.0055)),
        ("calcium 0.5 ms after the post spike", at(deck_run, 0.0085), at(fine, 0.0085)),
        ("calcium peak", peak(deck_run), peak(fine)),
    ] {
        eprintln!("{what}: {:.3} pA (deck), {:.3} pA (0.2 us steps)", a * 1e12, f * 1e12);
        assert!((a - f).abs() <= 1e-3 * f, "{what}: {a} against {f}");
    }
    let (qa, qf) = (q_hp(deck_run), q_hp(fine));
    eprintln!("potentiation charge: {:.2} fC (deck), {:.2} fC (0.2 us steps)", qa * 1e15, qf * 1e15);
    assert!((qa - qf).abs() <= 2e-15 + 0.02 * qf, "{qa} against {qf}");
}

/// The level of a switched current in the middle of its on-interval (where it exceeds `floor`), 0 if never on:
/// the switching edges carry brief charge-injection spikes, so the peak is not the tail current.
fn on_level(t: &[f64], i: &[f64], floor: f64) -> f64 {
    let on: Vec<usize> = (0..i.len()).filter(|&k| i[k] > floor).collect();
    let (Some(&a), Some(&b)) = (on.first(), on.last()) else { return 0.0 };
    let mid = 0.5 * (t[a] + t[b]);
    let k = (a..=b).min_by(|&x, &y| (t[x] - mid).abs().total_cmp(&(t[y] - mid).abs())).unwrap();
    i[k]
}

fn trace<'a>(out: &'a spice::RunOutput, name: &str) -> &'a [f64] {
    &out.file.trace(name).unwrap().values
}

/// The composed synapse on the shipped protocols: Fig. 14 signs (paired potentiates, pre-only and post-only
/// depress; the no-spike sample is not run here) and the Fig. 17 pairing (post 2 ms, pre 4 ms) with the currents of the
/// blocks (i_hp ~ I_TAILP while potentiating, i_hd ~ I_TAILD while depressing).
#[test]
fn composed_synapse_signs() {
    let Some((ng, models)) = tools() else { return };
    let b = Biases::default_point();
    let names = ["fig17-pairing", "fig14-paired", "fig14-pre-only", "fig14-post-only"];
    let runs: Vec<(&str, spice::RunOutput)> = std::thread::scope(|s| {
        let h: Vec<_> = names
            .into_iter()
            .map(|n| {
                let (ng, models, b) = (&ng, &models, &b);
                let p = Protocol::load(&repo().join(format!("protocols/{n}.yaml"))).unwrap();
                let sp = p.spikes();
                let stim = Stimulus { name: p.name.clone(), duration_s: p.duration_s, pre_s: sp.pre, post_s: sp.post };
                s.spawn(move || (n, synapse_run(stim, b, ng, models)))
            })
            .collect();
        h.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut dv = std::collections::BTreeMap::new();
    for (n, out) in &runs {
        let vh = trace(out, "v(h)");
        let d = vh[vh.len() - 1] - vh[0];
        let t = &out.file.trace("v(h)").unwrap().t_s;
        let (ihp, ihd) = (on_level(t, trace(out, "i(vihp)"), 1e-12), on_level(t, trace(out, "i(vihd)"), 1e-12));
        let ica = trace(out, "i(vica)").iter().cloned().fold(0.0, f64::max);
        eprintln!("{n}: Delta v_h {:+.2} mV, peak i_ca {:.1} pA", d * 1e3, ica * 1e12);
        dv.insert(*n, (d, ihp, ihd));
    }
    // The paired sample potentiates by less than a millivolt net at the nominal biases: +0.93 mV from the deck,
    // +0.71 mV from the same deck run with a 2 us maximum step (148 s; +6.4 mV before the decks resolved the spike
    // pulses, when each spike's calcium jump came out 2 % large, `spike_pulses_are_resolved`). Near the balance of
    // its potentiation and depression, so the bound is 0.5 mV.
    assert!(dv["fig14-paired"].0 > 0.5e-3, "paired {:?}", dv["fig14-paired"]);
    assert!(dv["fig14-pre-only"].0 < -1e-3, "pre-only {:?}", dv["fig14-pre-only"]);
    assert!(dv["fig14-post-only"].0 < -1e-3, "post-only {:?}", dv["fig14-post-only"]);
    let (d, ihp, ihd) = dv["fig17-pairing"];
    eprintln!(
        "fig17-pairing: i_hp {:.1} pA, i_hd {:.1} pA in the middle of their on-intervals (I_TAILP {:.0} pA, I_TAILD {:.0} pA)",
        ihp * 1e12,
        ihd * 1e12,
        b.I_TAILP_A * 1e12,
        b.I_TAILD_A * 1e12
    );
    assert!(d > 1e-3, "fig17 pairing {d}");
    assert!(ihp > 0.6 * b.I_TAILP_A && ihp < 2.0 * b.I_TAILP_A, "i_hp {ihp}");
    assert!(ihd > 0.6 * b.I_TAILD_A && ihd < 2.0 * b.I_TAILD_A, "i_hd {ihd}");
}

/// The comparators' output nodes slew: both switch on after about the same integral of (i_ca - threshold) since
/// the crossing (the model's `charge_on_c`) at different overdrives, so their delays differ.
/// One pairing (post at 28 ms, pre at 30 ms): the depression comparator sees a ~14 pA overdrive after the post
/// spike, the potentiation comparator ~19 pA after the pre spike.
#[test]
fn comparators_switch_on_after_the_same_slew_charge_at_different_overdrives() {
    let Some((ng, models)) = tools() else { return };
    let b = Biases::default_point();
    let stim = Stimulus { name: "pairing".into(), duration_s: 0.06, pre_s: vec![0.030], post_s: vec![0.028] };
    let out = synapse_run(stim, &b, &ng, &models);
    let t = &out.file.trace("i(vica)").unwrap().t_s;
    let ica = trace(&out, "i(vica)");
    // Onset: the first sample where the switched current passes half its tail current; the crossing: the last
    // sample before it where i_ca was below the threshold; the charge: trapezoidal integral in between.
    let onset = |i: &[f64], level: f64, threshold: f64| {
        let k = (0..i.len()).find(|&k| i[k] > level).unwrap();
        let c = (0..k).rev().find(|&j| ica[j] <= threshold).unwrap();
        let q: f64 = (c..k).map(|j| 0.5 * (ica[j] + ica[j + 1] - 2.0 * threshold) * (t[j + 1] - t[j])).sum();
        (t[k] - t[c], q, (0..k).map(|j| ica[j]).fold(0.0, f64::max) - threshold)
    };
    let (dp, qp, op) = onset(trace(&out, "i(vihp)"), 0.5 * b.I_TAILP_A, b.I_THPOT_A);
    let (dd, qd, od) = onset(trace(&out, "i(vihd)"), 0.5 * b.I_TAILD_A, b.I_THDEP_A);
    eprintln!(
        "potentiation comparator: on {:.3} ms after the crossing, peak overdrive {:.1} pA, slew charge {:.2} fC",
        dp * 1e3,
        op * 1e12,
        qp * 1e15
    );
    eprintln!(
        "depression comparator: on {:.3} ms after the crossing, peak overdrive {:.1} pA, slew charge {:.2} fC",
        dd * 1e3,
        od * 1e12,
        qd * 1e15
    );
    assert!(dd > 1.2 * dp, "the delays differ with the overdrive: {dp} s vs {dd} s");
    assert!((qp / qd - 1.0).abs() < 0.25, "the charges agree: {qp} C vs {qd} C");
    assert!(qp > 1e-15 && qp < 10e-15, "{qp}");
}

/// Potentiation -> tag -> consolidation: 10 pairings raise v_h past the tag threshold, the bump detector tags,
/// and the late phase (tau_z shortened to 0.05 s for the test) moves z up; the unpaired rate block moves it down.
#[test]
fn potentiation_tags_and_consolidates() {
    let Some((ng, models)) = tools() else { return };
    let b = Biases { TAU_Z_S: 0.05, ..Biases::default_point() };
    let post: Vec<f64> = (0..10).map(|k| 0.01 + 0.02 * k as f64).collect();
    let pre: Vec<f64> = post.iter().map(|t| t + 0.002).collect();
    let (pot, dep) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            synapse_run(
                Stimulus { name: "strong".into(), duration_s: 0.3, pre_s: pre.clone(), post_s: post.clone() },
                &b,
                &ng,
                &models,
            )
        });
        let d = s.spawn(|| {
            synapse_run(
                Stimulus { name: "pre-rate".into(), duration_s: 0.3, pre_s: post.clone(), post_s: vec![] },
                &b,
                &ng,
                &models,
            )
        });
        (a.join().unwrap(), d.join().unwrap())
    });
    let (vh, z) = (trace(&pot, "v(h)"), trace(&pot, "z"));
    eprintln!("strong pairing: v_h {:.4} -> {:.4} V, z -> {:.3}", vh[0], vh[vh.len() - 1], z[z.len() - 1]);
    assert!(vh[vh.len() - 1] - vh[0] > 0.05 && z[z.len() - 1] > 0.2, "pot: z {}", z[z.len() - 1]);
    let (vh, z) = (trace(&dep, "v(h)"), trace(&dep, "z"));
    eprintln!("pre rate block: v_h {:.4} -> {:.4} V, z -> {:.3}", vh[0], vh[vh.len() - 1], z[z.len() - 1]);
    assert!(vh[vh.len() - 1] - vh[0] < -0.05 && z[z.len() - 1] < -0.1, "dep: z {}", z[z.len() - 1]);
}

/// `stc characterise` end to end: descriptors that load as waveform sets, a second run reused from the cache
/// with byte-identical files, and a clear error for a bad protocol.
#[test]
fn characterise_writes_descriptors_and_reuses_runs() {
    let Some(_) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p1 = tmp.path().join("p1.yaml");
    std::fs::write(
        &p1,
        "name: pair\ndescription: t\nduration_s: 0.03\npre_spikes_s: [0.004]\npost_spikes_s: [0.002]\n",
    )
    .unwrap();
    let p2 = tmp.path().join("p2.yaml");
    std::fs::write(&p2, "name: post\ndescription: t\nduration_s: 0.03\npost_spikes_s: [0.002]\n").unwrap();
    let out = tmp.path().join("out");
    let cache = tmp.path().join("cache");
    let stc = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_stc")).env("STC_RUN_CACHE", &cache).args(args).output().unwrap()
    };
    let args = [
        "characterise",
        "sky130",
        "--protocol",
        p1.to_str().unwrap(),
        "--protocol",
        p2.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let o = stc(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = std::fs::read(out.join("pair/waveforms.txt")).unwrap();
    let desc = std::fs::read(out.join("pair/descriptor.yaml")).unwrap();
    let ws = WaveformSet::load(&out.join("pair/descriptor.yaml")).unwrap();
    assert_eq!(ws.signals.len(), 5);
    // An existing result is never replaced without --force, and nothing is run.
    let o = stc(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--force"), "{err}");
    let forced: Vec<&str> = args.iter().copied().chain(["--force"]).collect();
    let o = stc(&forced);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("2 reused"), "{text}");
    assert_eq!(first, std::fs::read(out.join("pair/waveforms.txt")).unwrap());
    assert_eq!(desc, std::fs::read(out.join("pair/descriptor.yaml")).unwrap());
    std::fs::write(&p2, "name: post\nduration_s: [1]\n").unwrap();
    // A failing --force run leaves the old result byte-identical and no staging folder behind.
    let o = stc(&forced);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("p2.yaml:2:"), "{err}");
    assert_eq!(first, std::fs::read(out.join("pair/waveforms.txt")).unwrap());
    assert_eq!(desc, std::fs::read(out.join("pair/descriptor.yaml")).unwrap());
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().contains("staging")), "{left:?}");
}

/// Ctrl-C (SIGINT to `stc` alone, as `kill -INT` sends it) during `stc characterise` stops its ngspice runs too:
/// exit 130, and no simulator is left running.
#[test]
fn interrupting_characterise_stops_ngspice() {
    let Some(_) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("long.yaml");
    let spikes: Vec<String> = (0..400).map(|k| format!("{:.3}", 0.002 + 0.01 * k as f64)).collect();
    std::fs::write(
        &p,
        format!("name: long\nduration_s: 4.0\npre_spikes_s: [{0}]\npost_spikes_s: [{0}]\n", spikes.join(", ")),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stc"))
        .env("STC_RUN_CACHE", tmp.path().join("cache"))
        .args(["characterise", "sky130", "--protocol", p.to_str().unwrap(), "--out"])
        .arg(tmp.path().join("out"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pgrep = |parent: u32| -> Vec<u32> {
        let o = Command::new("pgrep").args(["-P", &parent.to_string()]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).split_whitespace().filter_map(|p| p.parse().ok()).collect()
    };
    let started = std::time::Instant::now();
    let sims = loop {
        let sims = pgrep(child.id());
        if !sims.is_empty() {
            break sims;
        }
        assert!(started.elapsed().as_secs() < 60, "ngspice never started");
        assert!(child.try_wait().unwrap().is_none(), "characterise ended before it was interrupted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
    // A stopped child is gone, or a zombie until its new parent reaps it.
    let running = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
    };
    let stopped = std::time::Instant::now();
    while sims.iter().any(|&pid| running(pid)) {
        assert!(stopped.elapsed().as_secs() < 10, "ngspice {sims:?} still running after the interrupt");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!tmp.path().join("out").exists());
}

/// A deck ngspice cannot run is an error that names its log, not a silent empty result.
#[test]
fn failed_run_names_its_log() {
    let Some((ng, models)) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let deck = "* broken\nR1 a 0 1k\nXbad a 0 no_such_subcircuit\n.tran 1u 1m\n.control\nrun\nwrdata waveforms.txt v(a)\nquit\n.endc\n.end\n";
    let err = spice::run_deck(&ng, dir.path(), deck, "", &models, None).unwrap_err().to_string();
    assert!(err.contains("ngspice.log") && err.contains("ngspice failed"), "{err}");
}

/// `stc mismatch-extract` on Monte Carlo samples of the transistor-level synapse (`circuits/sky130/mc-probe.yaml`):
/// the geometric means of the block quantities it reads are the bias file's values (each block's own current, read
/// off its own signal) and, for the DPI's decay time and per-spike rises, the nominal circuit's own readings; a
/// sample whose potentiation switch never turns on counts as a censored threshold, not a dropped sample; the
/// spreads are positive, and the file it writes is one `stc train --mismatch` accepts.
#[test]
fn mismatch_extract_reads_the_bias_point_off_monte_carlo_samples() {
    let Some(_) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mc");
    let cache = tmp.path().join("cache");
    let stc = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_stc")).env("STC_RUN_CACHE", &cache).args(args).output().unwrap()
    };
    let probe = format!("{}/circuits/sky130/mc-probe.yaml", env!("CARGO_MANIFEST_DIR"));
    let n = 14;
    let o =
        stc(&["characterise", "sky130", "--protocol", &probe, "--mc", &n.to_string(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let nominal = tmp.path().join("nominal");
    let o = stc(&["characterise", "sky130", "--protocol", &probe, "--out", nominal.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let descs: Vec<String> =
        (1..=n).map(|k| out.join(format!("mc-probe/mc-{k}/descriptor.yaml")).display().to_string()).collect();
    let file = tmp.path().join("mm.yaml");
    let report = tmp.path().join("report");
    let table = tmp.path().join("samples.csv");
    let mut args = vec![
        "mismatch-extract",
        "--allow-incomplete",
        "--out",
        file.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--table",
        table.to_str().unwrap(),
    ];
    args.extend(descs.iter().map(|s| s.as_str()));
    let o = stc(&args);
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    println!("{text}");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = |key: &str| {
        text.lines().find(|l| l.trim_start().starts_with(key)).unwrap_or_else(|| panic!("{key}: {text}")).to_string()
    };
    let mean = |key: &str| -> f64 { line(key).rsplit(' ').next().unwrap().parse().unwrap() };
    // Bias file: I_THPOT 75 pA, I_THDEP 30 pA, I_TAILP 50 pA, I_TAILD 5 pA (geometric means of the samples read).
    for (key, nominal) in [
        ("pot_comparator.threshold_a", 75e-12),
        ("dep_comparator.threshold_a", 30e-12),
        ("pot_switch.i_on_a", 50e-12),
        ("dep_switch.i_on_a", 5e-12),
    ] {
        let m = mean(key);
        assert!((m / nominal).ln().abs() < 0.7_f64.ln().abs(), "{key}: mean {m:e} against {nominal:e}");
    }
    // The DPI quantities are centred on the nominal circuit: its resting calcium and its rise within 10 ms of the
    // isolated pre and post spikes, read here straight from the nominal run's waveform.
    let ws = stc_synapse::io::descriptor::WaveformSet::load(&nominal.join("mc-probe/descriptor.yaml")).unwrap();
    let ica = ws.signal(stc_synapse::io::descriptor::ModelSignal::ICa).unwrap();
    let rest_n = ica.t_s.iter().zip(&ica.values).filter(|(t, _)| **t < 0.02).map(|(_, y)| *y).collect::<Vec<_>>();
    let rest = rest_n.iter().sum::<f64>() / rest_n.len() as f64;
    let peak_after = |t0: f64| {
        ica.t_s
            .iter()
            .zip(&ica.values)
            .filter(|(t, _)| **t >= t0 && **t < t0 + 0.01)
            .map(|(_, y)| *y)
            .fold(0.0, f64::max)
            - rest
    };
    for (key, want) in
        [("dpi.i_indc_a", rest), ("dpi.jump_pre_a", peak_after(0.02)), ("dpi.jump_post_a", peak_after(0.06))]
    {
        let m = mean(key);
        assert!((m / want).ln().abs() < 0.5_f64.ln().abs(), "{key}: mean {m:e} against nominal {want:e}");
    }
    // The onset check that justifies --onset-hold is printed.
    assert!(text.contains("Onset check: with the switch still off, the calcium stayed above"), "{text}");
    let tau = mean("dpi.tau_s");
    assert!((4e-3..12e-3).contains(&tau), "DPI decay {tau} s");
    // Samples whose potentiation switch never turns on (seeds 4, 6 and 13 of these) are censored thresholds.
    let pot = line("pot_comparator.threshold_a");
    let read: Vec<usize> =
        pot.split("read").nth(1).unwrap().split_whitespace().filter_map(|w| w.parse().ok()).take(2).collect();
    assert!(read.len() == 2 && read[0] + read[1] == n && read[1] >= 1, "{pot}");
    let csv = std::fs::read_to_string(&table).unwrap();
    assert_eq!(csv.lines().filter(|l| l.ends_with(",pot_comparator.threshold_a,")).count(), read[1], "{csv}");
    let keys = stc_synapse::params::load_circuit("mnist-network").unwrap().keys();
    let spec = stc_synapse::params::mismatch::MismatchSpec::load(&file, &keys).unwrap();
    assert!(spec.parameters.iter().all(|p| p.sigma_rel > 0.0), "{spec:?}");
    assert_eq!(spec.parameters.len(), 8, "{spec:?}");
    // The report ranks the quantities by spread (the same sigmas as the file) and draws their histograms.
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    let mut sigmas: Vec<(f64, String)> = spec
        .parameters
        .iter()
        .map(|p| (p.sigma_rel, format!("| `{}` | {:.1} %", p.key, 100.0 * p.sigma_rel)))
        .collect();
    sigmas.sort_by(|a, b| b.0.total_cmp(&a.0));
    let at: Vec<usize> =
        sigmas.iter().map(|(_, row)| md.find(row.as_str()).unwrap_or_else(|| panic!("{row}: {md}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "ranked by spread: {md}");
    assert!(report.join("histograms.png").is_file() && report.join("histograms.svg").is_file());
    // Too few samples is an error, not a file.
    let o = stc(&["mismatch-extract", "--out", tmp.path().join("x.yaml").to_str().unwrap(), &descs[0]]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("at least 9"));
    // A missing reading without --allow-incomplete is an error naming the sample and the quantity, and no file.
    let strict = tmp.path().join("strict.yaml");
    let mut args = vec!["mismatch-extract", "--out", strict.to_str().unwrap()];
    args.extend(descs.iter().map(|s| s.as_str()));
    let o = stc(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("mc-4/descriptor.yaml: pot_switch.i_on_a: i_hp is never on"), "{err}");
    assert!(!strict.exists());
}

/// The counts README.md and circuits/sky130/README.md report for `fits/sky130.yaml` (of 13 validation protocols, 12
/// in the first test set, 14 in the second and 12 in the third): final v_h within 2 mV; v_h within 10 % on all 13
/// validation ones.
const VALIDATION_FINAL_WITHIN: usize = 11;
const TEST_V_H_WITHIN: usize = 12;
const TEST_FINAL_WITHIN: usize = 7;
const TEST2_V_H_WITHIN: usize = 14;
const TEST2_FINAL_WITHIN: usize = 10;
const TEST3_V_H_WITHIN: usize = 12;
const TEST3_FINAL_WITHIN: usize = 9;

/// One never-fitted set of `scripts/fit-sky130` simulated afresh and predicted by the checked-in calibration
/// `fits/sky130.yaml`: the report `reports/fit-sky130/<report>/compare.yaml` must be what the simulator and the
/// calibration give now (every NRMSE within 1 % of its reported value, final v_h within 0.1 mV), with i_ca within 2 %
/// and, the test's own bound (issue 7's per signal), i_hp and i_hd within 10 % on every protocol. Returns how many
/// protocols keep v_h within 10 % and end within 2 mV.
fn predict_as_reported(protocols: &[PathBuf], report_dir: &str) -> (usize, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let stc = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_stc"))
            .env("STC_RUN_CACHE", tmp.path().join("cache"))
            .current_dir(repo())
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let out = tmp.path().join("runs");
    let mut args = vec!["characterise".to_string(), "sky130".to_string()];
    for p in protocols {
        args.extend(["--protocol".to_string(), p.to_string_lossy().into_owned()]);
    }
    args.extend(["--out".to_string(), out.to_string_lossy().into_owned()]);
    stc(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut cmp = vec!["compare".to_string(), "--params".to_string(), "fits/sky130.yaml".to_string()];
    for e in std::fs::read_dir(&out).unwrap() {
        let d = e.unwrap().path().join("descriptor.yaml");
        if d.exists() {
            cmp.push(d.to_string_lossy().into_owned());
        }
    }
    let report = tmp.path().join("compare");
    cmp.extend(["--out".to_string(), report.to_string_lossy().into_owned()]);
    stc(&cmp.iter().map(String::as_str).collect::<Vec<_>>());
    let load = |p: &Path| -> serde_yaml::Value { serde_yaml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let now = load(&report.join("compare.yaml"));
    let reported = load(&repo().join(format!("reports/fit-sky130/{report_dir}/compare.yaml")));
    let sets = now["sets"].as_mapping().unwrap();
    assert_eq!(sets.len(), protocols.len());
    assert_eq!(reported["sets"].as_mapping().unwrap().len(), protocols.len());
    let num = |v: &serde_yaml::Value| v.as_f64().unwrap();
    let (mut v_h_within, mut final_within) = (0, 0);
    for (name, signals) in sets {
        let name = name.as_str().unwrap();
        for (signal, m) in signals.as_mapping().unwrap() {
            let r = &reported["sets"][name][signal];
            let (e, e_rep) = (num(&m["nrmse"]), num(&r["nrmse"]));
            assert!(
                (e - e_rep).abs() <= 0.01 * e_rep + 1e-9,
                "{report_dir} {name} {signal:?}: NRMSE {e} now, {e_rep} in the report"
            );
        }
        let nrmse = |s: &str| num(&signals[s]["nrmse"]);
        assert!(nrmse("i_ca") <= 0.02, "{name}: i_ca NRMSE {}", nrmse("i_ca"));
        assert!(
            nrmse("i_hp") <= 0.10 && nrmse("i_hd") <= 0.10,
            "{name}: i_hp {} i_hd {}",
            nrmse("i_hp"),
            nrmse("i_hd")
        );
        let last = num(&signals["v_h"]["last_model"]) - num(&signals["v_h"]["last_data"]);
        let last_rep =
            num(&reported["sets"][name]["v_h"]["last_model"]) - num(&reported["sets"][name]["v_h"]["last_data"]);
        assert!((last - last_rep).abs() < 1e-4, "{name}: final v_h off by {last} V now, {last_rep} V in the report");
        println!("{name:18} i_ca {:.4} v_h {:.4} final v_h {:+.2} mV", nrmse("i_ca"), nrmse("v_h"), last * 1e3);
        v_h_within += usize::from(nrmse("v_h") <= 0.10);
        final_within += usize::from(last.abs() <= 2e-3);
    }
    println!("{report_dir}: v_h within 10 %: {v_h_within} of {}; final v_h within 2 mV: {final_within}", sets.len());
    (v_h_within, final_within)
}

/// The protocol files of one folder of `circuits/sky130`, sorted.
fn protocol_files(folder: &str) -> Vec<PathBuf> {
    let mut protocols: Vec<PathBuf> = std::fs::read_dir(repo().join("circuits/sky130").join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    protocols.sort();
    protocols
}

/// The checked-in calibration on its validation set (the 13 protocols `scripts/fit-sky130` never fits:
/// `circuits/sky130/validation` and the three thesis Fig. 14 samples), as reported, with the README's counts.
#[test]
fn sky130_calibration_predicts_its_validation_protocols_as_reported() {
    let Some(_) = tools() else { return };
    let mut protocols = protocol_files("validation");
    protocols.extend(["paired", "pre-only", "post-only"].map(|s| repo().join(format!("protocols/fig14-{s}.yaml"))));
    assert_eq!(protocols.len(), 13);
    let (v_h, last) = predict_as_reported(&protocols, "validation");
    assert!(v_h == 13 && last >= VALIDATION_FINAL_WITHIN, "{v_h}, {last}");
}

/// The checked-in calibration on its three test sets (`circuits/sky130/test`, `test2`, `test3`), as reported, with
/// the README's counts; the third one was used for no choice (circuits/sky130/README.md).
#[test]
fn sky130_calibration_predicts_its_test_protocols_as_reported() {
    let Some(_) = tools() else { return };
    for (folder, n, v_h_want, last_want) in [
        ("test", 12, TEST_V_H_WITHIN, TEST_FINAL_WITHIN),
        ("test2", 14, TEST2_V_H_WITHIN, TEST2_FINAL_WITHIN),
        ("test3", 12, TEST3_V_H_WITHIN, TEST3_FINAL_WITHIN),
    ] {
        let protocols = protocol_files(folder);
        assert_eq!(protocols.len(), n);
        let (v_h, last) = predict_as_reported(&protocols, folder);
        assert!(v_h >= v_h_want && last >= last_want, "{folder}: {v_h}, {last}");
    }
}
