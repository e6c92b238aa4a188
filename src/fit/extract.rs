//! Block quantities read straight off one waveform set, without a fit, and their spread over Monte Carlo samples.
//!
//! Why not a fit per sample: a device-mismatch file needs the relative spread of a few bias-like parameters over
//! many samples, and a full fit per sample costs minutes. Each quantity here is read from the signal of the block
//! that sets it, so it needs no model run:
//! - `dpi.i_indc_a`: the resting calcium current (mean of i_ca before the first spike). The model's resting calcium
//!   is gain x I_INDC - I_g, and a network synapse starts every sample at it, so its spread is written as that of
//!   I_INDC (exact for the linear DPI, I_g = 0, of the network presets);
//! - `dpi.jump_pre_a`, `dpi.jump_post_a`: the peak rise of i_ca over rest within 10 ms of an isolated pre (post)
//!   spike (no other spike within 30 ms before or after it): the model's jump is that rise for a short pulse;
//! - `dpi.tau_s`: the decay after the isolated pre spike (else post spike): the time i_ca takes to fall from 50 % to
//!   20 % of that rise, over ln 2.5 (the time constant of a linear DPI; the apparent one of a non-linear DPI at
//!   those levels);
//! - `pot_switch.i_on_a`, `dep_switch.i_on_a`: the on-levels of the switched currents: the time-weighted median of
//!   i_hp (i_hd) over the time it is on (above 100 times its level at the start), so that the brief transients a
//!   transistor-level switch shows at its edges (nA for microseconds) do not count;
//! - `pot_comparator.threshold_a`, `dep_comparator.threshold_a`: i_ca when i_hp (i_hd) last falls through 95 % of its
//!   on-level: the comparator releases as the decaying calcium crosses its threshold. The
//!   rising edge cannot tell: a spike lifts the calcium past the threshold within its pulse, and the switch rises
//!   later. With a release delay this is the effective threshold (the threshold less what the calcium loses during
//!   the delay), so its spread includes the delay's; it is the threshold for instantaneous comparators (tested).
//!   A switch that never turns on says only that its threshold lies above the highest calcium of the run: the
//!   reading is censored ([`Reading::Above`]), and its on-level cannot be read ([`Reading::Missing`]).
//!
//! The spread is the log-normal one of [`crate::params::mismatch`]: per quantity, sigma = standard deviation of
//! ln x over the samples; where some readings are censored, the maximum-likelihood normal fit of ln x with those
//! readings as right-censored ([`spread`]); correlations of ln x over the samples where every quantity was read.

/// The extracted keys, in output order.
pub const KEYS: [&str; 8] = [
    "dpi.i_indc_a",
    "dpi.tau_s",
    "dpi.jump_pre_a",
    "dpi.jump_post_a",
    "pot_comparator.threshold_a",
    "dep_comparator.threshold_a",
    "pot_switch.i_on_a",
    "dep_switch.i_on_a",
];

/// What each key's readings are, in the order of [`KEYS`] (for reports).
pub const QUANTITIES: [&str; 8] = [
    "resting calcium",
    "DPI decay time (50 % to 20 %)",
    "calcium rise per isolated pre spike",
    "calcium rise per isolated post spike",
    "i_ca at i_hp release",
    "i_ca at i_hd release",
    "i_hp on-level",
    "i_hd on-level",
];

/// A spike with no other spike within this time before or after it is isolated: the calcium is at rest before it
/// and its own rise and decay (DPI time constants of a few ms) are over before the next one [s].
pub const ISOLATION_S: f64 = 0.030;

/// Window after an isolated spike in which its peak is looked for [s].
const PEAK_WINDOW_S: f64 = 0.010;

/// One quantity read off one sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    /// Read: the value.
    Value(f64),
    /// Not reached within the run: the quantity lies above this value (a right-censored reading).
    Above(f64),
    /// Cannot be read from this run, and why.
    Missing(String),
}

impl Reading {
    /// The value, if read.
    pub fn value(&self) -> Option<f64> {
        match self {
            Reading::Value(x) => Some(*x),
            _ => None,
        }
    }
}

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
    (1..s.y.len()).rev().find(|&k| s.y[k - 1] >= level && s.y[k] < level).map(|k| crossing(s, k, level))
}

/// The interpolated time at which `s` passes `level` between samples `k - 1` and `k`.
fn crossing(s: &Series, k: usize, level: f64) -> f64 {
    let (y0, y1) = (s.y[k - 1], s.y[k]);
    s.t_s[k - 1] + (level - y0) / (y1 - y0) * (s.t_s[k] - s.t_s[k - 1])
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

/// The first spike of `own` with no other spike (of `own` or `other`) within [`ISOLATION_S`] before or after it.
fn isolated(own: &[f64], other: &[f64]) -> Option<f64> {
    own.iter().enumerate().map(|(k, &t)| (k, t)).find_map(|(k, t)| {
        let near = |u: f64| (u - t).abs() < ISOLATION_S;
        let crowded = own.iter().enumerate().any(|(j, &u)| j != k && near(u)) || other.iter().any(|&u| near(u));
        (!crowded).then_some(t)
    })
}

/// Peak rise of i_ca over `rest` within [`PEAK_WINDOW_S`] after the spike at `t`, and the decay time constant after
/// it (50 % to 20 % of the rise, over ln 2.5). `None` for the decay when it does not fall that far within
/// [`ISOLATION_S`].
fn rise_and_decay(i_ca: &Series, rest: f64, t: f64) -> Result<(f64, Option<f64>), String> {
    let idx: Vec<usize> = (0..i_ca.t_s.len()).filter(|&k| i_ca.t_s[k] >= t && i_ca.t_s[k] <= t + ISOLATION_S).collect();
    let peak = idx
        .iter()
        .copied()
        .filter(|&k| i_ca.t_s[k] <= t + PEAK_WINDOW_S)
        .max_by(|&a, &b| i_ca.y[a].total_cmp(&i_ca.y[b]))
        .ok_or_else(|| format!("no i_ca sample within {PEAK_WINDOW_S} s after the spike at {t} s"))?;
    let rise = i_ca.y[peak] - rest;
    if rise.is_nan() || rise <= 0.0 {
        return Err(format!("i_ca does not rise above rest after the spike at {t} s"));
    }
    let fall = |f: f64| {
        let level = rest + f * rise;
        idx.iter()
            .copied()
            .filter(|&k| k > peak)
            .find(|&k| i_ca.y[k - 1] >= level && i_ca.y[k] < level)
            .map(|k| crossing(i_ca, k, level))
    };
    let tau = match (fall(0.5), fall(0.2)) {
        (Some(a), Some(b)) if b > a => Some((b - a) / 2.5f64.ln()),
        _ => None,
    };
    Ok((rise, tau))
}

/// The quantities of [`KEYS`], in that order, from one set with its input spikes `pre` and `post`. An error when
/// the run cannot be read at all (too few samples, no rest before the first spike); a quantity that this run
/// cannot give is [`Reading::Missing`] with the reason, a threshold never reached [`Reading::Above`].
pub fn extract(i_ca: &Series, i_hp: &Series, i_hd: &Series, pre: &[f64], post: &[f64]) -> Result<[Reading; 8], String> {
    for (name, s) in [("i_ca", i_ca), ("i_hp", i_hp), ("i_hd", i_hd)] {
        if s.y.len() < 2 || s.t_s.len() != s.y.len() {
            return Err(format!("{name} has {} samples: expected at least 2", s.y.len()));
        }
    }
    let first = pre.iter().chain(post).copied().fold(f64::INFINITY, f64::min);
    if !first.is_finite() {
        return Err("the stimulus has no spike".into());
    }
    let rest: Vec<f64> = i_ca.t_s.iter().zip(i_ca.y).filter(|(t, _)| **t < first).map(|(_, y)| *y).collect();
    if rest.is_empty() {
        return Err(format!("no i_ca sample before the first spike at {first} s (resting calcium)"));
    }
    let i_rest = rest.iter().sum::<f64>() / rest.len() as f64;
    let positive = |x: f64, what: &str| {
        if x.is_finite() && x > 0.0 {
            Reading::Value(x)
        } else {
            Reading::Missing(format!("{what} is not positive: {x:e}"))
        }
    };
    let mut out: [Reading; 8] = std::array::from_fn(|_| Reading::Missing(String::new()));
    out[0] = positive(i_rest, "the resting calcium");
    let no_spike = |side: &str| format!("no {side} spike with {ISOLATION_S} s free of other spikes on both sides");
    let mut taus = Vec::new();
    for (slot, side, own, other) in [(2, "pre", pre, post), (3, "post", post, pre)] {
        out[slot] = match isolated(own, other) {
            None => Reading::Missing(no_spike(side)),
            Some(t) => match rise_and_decay(i_ca, i_rest, t) {
                Ok((rise, tau)) => {
                    taus.push((side, tau));
                    positive(rise, "the rise")
                }
                Err(e) => Reading::Missing(e),
            },
        };
    }
    out[1] = match taus.iter().find_map(|(_, tau)| *tau) {
        Some(tau) => positive(tau, "the decay time"),
        None if taus.is_empty() => Reading::Missing(no_spike("pre or post")),
        None => Reading::Missing(format!("i_ca does not fall to 20 % of its rise within {ISOLATION_S} s")),
    };
    let i_max = i_ca.y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (slot, (name, s)) in [(4, ("i_hp", i_hp)), (5, ("i_hd", i_hd))] {
        match on_level(s) {
            None => {
                // The comparator never switched its switch on: its threshold lies above the highest calcium.
                out[slot] = Reading::Above(i_max);
                out[slot + 2] = Reading::Missing(format!(
                    "{name} is never on for 50 us (above 100 times its {:e} A at the start)",
                    s.y[0]
                ));
            }
            Some(on) => {
                out[slot] = match last_fall(s, 0.95 * on) {
                    Some(t) => positive(at(i_ca, t), "the calcium at release"),
                    None => Reading::Missing(format!("{name} does not fall back from its on-level within the run")),
                };
                out[slot + 2] = positive(on, "the on-level");
            }
        }
    }
    Ok(out)
}

/// The log-normal spread of one quantity over the samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Spread {
    /// Mean of ln x (the log of the geometric mean).
    pub mu: f64,
    /// Standard deviation of ln x: the sample standard deviation (n - 1) when every reading is a value; with
    /// censored readings the maximum-likelihood sigma times sqrt(n / (n - 1)), which is the same number when none
    /// is censored.
    pub sigma: f64,
    /// Readings that are values.
    pub n_values: usize,
    /// Readings that are lower bounds.
    pub n_censored: usize,
}

/// Negative log-likelihood of a normal (mu, e^log_sigma) for `values` and right-censored `bounds`, constant terms
/// dropped.
fn censored_nll(mu: f64, log_sigma: f64, values: &[f64], bounds: &[f64]) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let sigma = log_sigma.exp();
    let std = Normal::new(0.0, 1.0).expect("the standard normal");
    let obs: f64 = values.iter().map(|y| log_sigma + 0.5 * ((y - mu) / sigma).powi(2)).sum();
    let cens: f64 = bounds.iter().map(|c| -std.sf((c - mu) / sigma).max(f64::MIN_POSITIVE).ln()).sum();
    obs + cens
}

struct Censored<'a> {
    values: &'a [f64],
    bounds: &'a [f64],
}

impl argmin::core::CostFunction for Censored<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(censored_nll(p[0], p[1], self.values, self.bounds))
    }
}

/// The log-normal spread of `readings` of one quantity (missing ones ignored): [`Spread`]. `None` with fewer than
/// two values.
pub fn spread_of(readings: &[&Reading]) -> Option<Spread> {
    let values: Vec<f64> = readings.iter().filter_map(|r| r.value()).map(f64::ln).collect();
    let bounds: Vec<f64> =
        readings.iter().filter_map(|r| if let Reading::Above(b) = r { Some(b.ln()) } else { None }).collect();
    let nv = values.len();
    if nv < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / nv as f64;
    let sd = (values.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (nv - 1) as f64).sqrt();
    if bounds.is_empty() {
        return Some(Spread { mu: mean, sigma: sd, n_values: nv, n_censored: 0 });
    }
    let n = nv + bounds.len();
    let problem = Censored { values: &values, bounds: &bounds };
    let s0 = sd.max(1e-3).ln();
    let simplex = vec![vec![mean, s0], vec![mean + sd.max(1e-3), s0], vec![mean, s0 + 0.5]];
    let best = argmin::solver::neldermead::NelderMead::new(simplex)
        .with_sd_tolerance(1e-12)
        .and_then(|nm| argmin::core::Executor::new(problem, nm).configure(|s| s.max_iters(2000)).run())
        .ok()
        .and_then(|r| argmin::core::State::get_best_param(r.state()).cloned())?;
    Some(Spread {
        mu: best[0],
        sigma: best[1].exp() * (n as f64 / (n - 1) as f64).sqrt(),
        n_values: nv,
        n_censored: bounds.len(),
    })
}

/// Correlation matrix of ln x over `rows` (every entry read; n - 1 denominators).
pub fn correlations(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let k = rows.first().map_or(0, |r| r.len());
    let n = rows.len() as f64;
    let logs: Vec<Vec<f64>> = (0..k).map(|j| rows.iter().map(|r| r[j].ln()).collect()).collect();
    let mean: Vec<f64> = logs.iter().map(|v| v.iter().sum::<f64>() / n).collect();
    let cov = |a: usize, b: usize| {
        logs[a].iter().zip(&logs[b]).map(|(x, y)| (x - mean[a]) * (y - mean[b])).sum::<f64>() / (n - 1.0)
    };
    (0..k).map(|a| (0..k).map(|b| cov(a, b) / (cov(a, a) * cov(b, b)).sqrt()).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synapse::Spikes;
    use rand::Rng;

    /// On the behavioural model's own waveforms (known parameters, linear DPI, instantaneous comparators) the
    /// extraction returns the resting current, the decay time constant, the jumps, the thresholds and the on-levels
    /// it was given.
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
        p.dpi.i_g_a = 0.0;
        p.dpi.delay_pre_s = 0.0;
        p.dpi.i_init_a = p.dpi.i_rest();
        // An isolated pre spike, an isolated post spike, then a pairing that turns both switches on.
        let spikes = Spikes { pre: vec![0.010, 0.092], post: vec![0.050, 0.090] };
        let tr = p.simulate(&spikes, 0.13, 1e-6);
        let s = |y| Series { t_s: &tr.t_s, y };
        let x = extract(&s(&tr.i_ca_a), &s(&tr.i_hp_a), &s(&tr.i_hd_a), &spikes.pre, &spikes.post).unwrap();
        // The peak rise of a pulse of width w is jump (tau / w)(1 - e^(-w / tau)).
        let rise = |jump: f64, w: f64| jump * p.dpi.tau_s / w * (1.0 - (-w / p.dpi.tau_s).exp());
        let want = [
            p.dpi.i_rest(),
            p.dpi.tau_s,
            rise(p.dpi.jump_pre_a, p.dpi.pulse_pre_s),
            rise(p.dpi.jump_post_a, p.dpi.pulse_post_s),
            p.pot_comparator.threshold_a,
            p.dep_comparator.threshold_a,
            p.pot_switch.i_on_a,
            p.dep_switch.i_on_a,
        ];
        for ((k, got), w) in KEYS.iter().zip(&x).zip(want) {
            let got = got.value().unwrap_or_else(|| panic!("{k}: {got:?}"));
            assert!((got - w).abs() <= 0.02 * w, "{k}: extracted {got:e}, model {w:e}");
        }
        // Without isolated spikes the DPI quantities are missing (with the reason), the others still read.
        let paired = Spikes { pre: vec![0.012], post: vec![0.010] };
        let tr = p.simulate(&paired, 0.05, 1e-6);
        let s = |y| Series { t_s: &tr.t_s, y };
        let x = extract(&s(&tr.i_ca_a), &s(&tr.i_hp_a), &s(&tr.i_hd_a), &paired.pre, &paired.post).unwrap();
        for k in 1..4 {
            assert!(
                matches!(&x[k], Reading::Missing(m) if m.contains("free of other spikes")),
                "{}: {:?}",
                KEYS[k],
                x[k]
            );
        }
        assert!(x[0].value().is_some() && x[4..].iter().all(|r| r.value().is_some()), "{x:?}");
        // A potentiation threshold above every calcium: censored at the highest calcium, its on-level missing.
        p.pot_comparator.threshold_a = 1e-9;
        let tr = p.simulate(&spikes, 0.13, 1e-6);
        let s = |y| Series { t_s: &tr.t_s, y };
        let x = extract(&s(&tr.i_ca_a), &s(&tr.i_hp_a), &s(&tr.i_hd_a), &spikes.pre, &spikes.post).unwrap();
        let i_max = tr.i_ca_a.iter().copied().fold(0.0, f64::max);
        assert_eq!(x[4], Reading::Above(i_max));
        assert!(matches!(&x[6], Reading::Missing(m) if m.contains("i_hp is never on")), "{:?}", x[6]);
    }

    /// Right-censored log-normal readings: the maximum-likelihood fit recovers the sigma and mean the samples were
    /// drawn with, where leaving the censored readings out does not; without censoring it is the sample sd.
    #[test]
    fn censored_readings_are_fitted_not_dropped() {
        let mut rng = crate::stimulus::rng(11);
        let (mu, sigma) = (-23.0, 0.3);
        let draws: Vec<f64> =
            (0..2000).map(|_| mu + sigma * rng.sample::<f64, _>(rand_distr::StandardNormal)).collect();
        // Censor everything above mu + 0.5 sigma (31 % of the draws): the reading is that bound.
        let bound = mu + 0.5 * sigma;
        let readings: Vec<Reading> = draws
            .iter()
            .map(|&y| if y > bound { Reading::Above(bound.exp()) } else { Reading::Value(y.exp()) })
            .collect();
        let refs: Vec<&Reading> = readings.iter().collect();
        let fit = spread_of(&refs).unwrap();
        assert!(fit.n_censored > 500 && fit.n_values + fit.n_censored == 2000, "{fit:?}");
        assert!((fit.mu - mu).abs() < 0.03 && (fit.sigma / sigma - 1.0).abs() < 0.06, "{fit:?}");
        let kept: Vec<&Reading> = readings.iter().filter(|r| r.value().is_some()).collect();
        let dropped = spread_of(&kept).unwrap();
        assert!(dropped.sigma < 0.8 * sigma && (dropped.mu - mu) < -0.1, "{dropped:?}");
        // No censored reading: the sample standard deviation (n - 1) of ln x.
        let all: Vec<Reading> = draws.iter().map(|y| Reading::Value(y.exp())).collect();
        let plain = spread_of(&all.iter().collect::<Vec<_>>()).unwrap();
        let m = draws.iter().sum::<f64>() / 2000.0;
        let sd = (draws.iter().map(|y| (y - m).powi(2)).sum::<f64>() / 1999.0).sqrt();
        assert!((plain.sigma - sd).abs() < 1e-12 && (plain.mu - m).abs() < 1e-12 && plain.n_censored == 0);
        // Missing readings do not count; fewer than two values give nothing.
        let few = [Reading::Value(1.0), Reading::Above(2.0), Reading::Missing("x".into())];
        assert_eq!(spread_of(&few.iter().collect::<Vec<_>>()), None);
    }

    /// The correlations of exactly log-normal samples, as constructed.
    #[test]
    fn correlations_of_constructed_samples() {
        let pats: [[f64; 4]; 4] =
            [[1.0, 1.0, -1.0, 1.0], [-1.0, -1.0, 1.0, 1.0], [1.0, 1.0, -1.0, -1.0], [-1.0, -1.0, 1.0, -1.0]];
        let rows: Vec<Vec<f64>> = pats.iter().map(|z| z.iter().map(|z| 1e-11 * (0.1 * z).exp()).collect()).collect();
        let corr = correlations(&rows);
        assert!((corr[0][1] - 1.0).abs() < 1e-12 && (corr[0][2] + 1.0).abs() < 1e-12 && corr[0][3].abs() < 1e-12);
        assert!((0..4).all(|k| (corr[k][k] - 1.0).abs() < 1e-12));
    }
}
