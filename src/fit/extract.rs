//! Block quantities read straight off one waveform set, without a fit, and their spread over Monte Carlo samples.
//!
//! Why not a fit per sample: a device-mismatch file needs the relative spread of a few bias-like parameters over
//! many samples, and a full fit per sample costs minutes. Each quantity here is read from the signal of the block
//! that sets it, so it needs no model run:
//! - `dpi.i_init_a`: the resting calcium current (mean of i_ca before the first spike);
//! - `pot_switch.i_on_a`, `dep_switch.i_on_a`: the on-levels of the switched currents: the time-weighted median of
//!   i_hp (i_hd) over the time it is on (above 100 times its level at the start), so that the brief transients a
//!   transistor-level switch shows at its edges (nA for microseconds) do not count;
//! - `pot_comparator.threshold_a`, `dep_comparator.threshold_a`: i_ca when i_hp (i_hd) last falls through 95 % of its
//!   on-level: the comparator releases as the decaying calcium crosses its threshold. The
//!   rising edge cannot tell: a spike lifts the calcium past the threshold within its pulse, and the switch rises
//!   later. With a release delay this is the effective threshold (the threshold less what the calcium loses during
//!   the delay), so its spread includes the delay's; it is the threshold for instantaneous comparators (tested).
//!
//! The spread is the log-normal one of [`crate::params::mismatch`]: sigma = standard deviation of ln x over the
//! samples, correlations those of ln x.

/// The extracted keys, in output order.
pub const KEYS: [&str; 5] = [
    "dpi.i_init_a",
    "pot_comparator.threshold_a",
    "dep_comparator.threshold_a",
    "pot_switch.i_on_a",
    "dep_switch.i_on_a",
];

/// One sampled signal.
pub struct Series<'a> {
    pub t_s: &'a [f64],
    pub y: &'a [f64],
}

/// Linear interpolation of `s` at `t` (clamped to its ends).
fn at(s: &Series, t: f64) -> f64 {
    let k = s.t_s.partition_point(|&x| x < t);
    if k == 0 {
        return s.y[0];
    }
    if k >= s.t_s.len() {
        return s.y[s.y.len() - 1];
    }
    let (t0, t1) = (s.t_s[k - 1], s.t_s[k]);
    let f = if t1 > t0 { (t - t0) / (t1 - t0) } else { 0.0 };
    s.y[k - 1] + f * (s.y[k] - s.y[k - 1])
}

/// Time at which `s` last falls through `level` (interpolated), if it does.
fn last_fall(s: &Series, level: f64) -> Option<f64> {
    (1..s.y.len()).rev().find(|&k| s.y[k - 1] >= level && s.y[k] < level).map(|k| {
        let (y0, y1) = (s.y[k - 1], s.y[k]);
        s.t_s[k - 1] + (level - y0) / (y1 - y0) * (s.t_s[k] - s.t_s[k - 1])
    })
}

/// Time-weighted median of `s` over the intervals where it is above 100 times its first value; None when that is
/// less than 50 us in all.
fn on_level(s: &Series) -> Option<f64> {
    let floor = 100.0 * s.y[0].abs().max(1e-18);
    let mut pieces: Vec<(f64, f64)> = (1..s.y.len())
        .filter(|&k| s.y[k - 1] > floor && s.y[k] > floor)
        .map(|k| (0.5 * (s.y[k - 1] + s.y[k]), s.t_s[k] - s.t_s[k - 1]))
        .collect();
    let total: f64 = pieces.iter().map(|p| p.1).sum();
    if total < 50e-6 {
        return None;
    }
    pieces.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut acc = 0.0;
    pieces
        .into_iter()
        .find(|p| {
            acc += p.1;
            acc >= 0.5 * total
        })
        .map(|p| p.0)
}

/// The quantities of [`KEYS`], in that order, from one set: `first_spike_s` is the first input spike of its
/// stimulus. Errors say which quantity could not be read and why.
pub fn extract(i_ca: &Series, i_hp: &Series, i_hd: &Series, first_spike_s: f64) -> Result<[f64; 5], String> {
    for (name, s) in [("i_ca", i_ca), ("i_hp", i_hp), ("i_hd", i_hd)] {
        if s.y.len() < 2 || s.t_s.len() != s.y.len() {
            return Err(format!("{name} has {} samples: expected at least 2", s.y.len()));
        }
    }
    let rest: Vec<f64> = i_ca.t_s.iter().zip(i_ca.y).filter(|(t, _)| **t < first_spike_s).map(|(_, y)| *y).collect();
    if rest.is_empty() {
        return Err(format!("no i_ca sample before the first spike at {first_spike_s} s (resting calcium)"));
    }
    let i_rest = rest.iter().sum::<f64>() / rest.len() as f64;
    let mut out = [i_rest, 0.0, 0.0, 0.0, 0.0];
    for (slot, (name, s)) in [(1, ("i_hp", i_hp)), (2, ("i_hd", i_hd))] {
        let on = on_level(s)
            .ok_or_else(|| format!("{name} is never on for 50 us (above 100 times its {:e} A at the start)", s.y[0]))?;
        let t = last_fall(s, 0.95 * on)
            .ok_or_else(|| format!("{name} does not fall back from its on-level within the run"))?;
        out[slot] = at(i_ca, t);
        out[slot + 2] = on;
    }
    if out.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return Err(format!("a quantity is not a positive current: {out:?}"));
    }
    Ok(out)
}

/// Log-normal spread of samples (rows of [`KEYS`] values): per key sigma = sd(ln x) (n - 1 denominator) and the
/// correlation matrix of ln x.
pub fn spread(rows: &[[f64; 5]]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = rows.len() as f64;
    let logs: Vec<Vec<f64>> = (0..5).map(|k| rows.iter().map(|r| r[k].ln()).collect()).collect();
    let mean: Vec<f64> = logs.iter().map(|v| v.iter().sum::<f64>() / n).collect();
    let cov = |a: usize, b: usize| {
        logs[a].iter().zip(&logs[b]).map(|(x, y)| (x - mean[a]) * (y - mean[b])).sum::<f64>() / (n - 1.0)
    };
    let sigma: Vec<f64> = (0..5).map(|k| cov(k, k).sqrt()).collect();
    let corr = (0..5).map(|a| (0..5).map(|b| cov(a, b) / (sigma[a] * sigma[b])).collect()).collect();
    (sigma, corr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synapse::Spikes;

    /// On the behavioural model's own waveforms (known parameters, instantaneous comparators) the extraction
    /// returns the resting current, the thresholds and the on-levels it was given.
    #[test]
    fn extraction_recovers_known_block_parameters() {
        let mut p = crate::params::load_circuit("cadence-fig17").unwrap();
        for c in [&mut p.pot_comparator, &mut p.dep_comparator] {
            c.delay_on_s = 0.0;
            c.delay_off_s = 0.0;
            c.width_a = 0.0;
            c.hysteresis_a = 0.0;
        }
        for s in [&mut p.pot_switch, &mut p.dep_switch] {
            s.tail_fraction = 0.0;
        }
        p.dpi.i_init_a = p.dpi.i_rest();
        let tr = p.simulate(&Spikes { pre: vec![0.004], post: vec![0.002] }, 0.03, 1e-6);
        let s = |y| Series { t_s: &tr.t_s, y };
        let x = extract(&s(&tr.i_ca_a), &s(&tr.i_hp_a), &s(&tr.i_hd_a), 0.002).unwrap();
        let want = [
            p.dpi.i_init_a,
            p.pot_comparator.threshold_a,
            p.dep_comparator.threshold_a,
            p.pot_switch.i_on_a,
            p.dep_switch.i_on_a,
        ];
        for ((k, got), w) in KEYS.iter().zip(x).zip(want) {
            assert!((got - w).abs() <= 0.02 * w, "{k}: extracted {got:e}, model {w:e}");
        }
    }

    /// The spread of exactly log-normal samples: sigma and correlation as constructed.
    #[test]
    fn spread_of_constructed_samples() {
        // ln x = mu + s * (z1, z1 or -z1 or z2 ...) over symmetric +-1 patterns: sd = s * sqrt(n / (n - 1)).
        let pats: [[f64; 5]; 4] = [
            [1.0, 1.0, -1.0, 1.0, 1.0],
            [-1.0, -1.0, 1.0, 1.0, -1.0],
            [1.0, 1.0, -1.0, -1.0, -1.0],
            [-1.0, -1.0, 1.0, -1.0, 1.0],
        ];
        let rows: Vec<[f64; 5]> = pats.iter().map(|z| std::array::from_fn(|k| 1e-11 * (0.1f64 * z[k]).exp())).collect();
        let (sigma, corr) = spread(&rows);
        let sd = 0.1 * (4.0f64 / 3.0).sqrt();
        for s in &sigma {
            assert!((s - sd).abs() < 1e-12, "{sigma:?}");
        }
        assert!((corr[0][1] - 1.0).abs() < 1e-12 && (corr[0][2] + 1.0).abs() < 1e-12 && corr[0][3].abs() < 1e-12);
    }
}
