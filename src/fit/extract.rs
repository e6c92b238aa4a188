//! Block quantities read straight off one waveform set, without a fit, and their spread over Monte Carlo samples.
//!
//! Why not a fit per sample: a device-mismatch file needs the relative spread of a few bias-like parameters over
//! many samples, and a full fit per sample costs minutes. Each quantity here is read from the signal of the block
//! that sets it, so it needs no model run:
//! - `dpi.i_indc_a`: the resting calcium current (mean of i_ca before the first spike). The model's resting calcium
//!   is gain x I_INDC - I_g, and a network synapse starts every sample at it, so its spread is written as that of
//!   I_INDC (exact for the linear DPI, I_g = 0, of the network presets);
//! - `dpi.jump_pre_a`, `dpi.jump_post_a`: the peak rise of i_ca within 10 ms of an isolated pre (post) spike (no
//!   other spike within 30 ms before or after it), over its level at the spike: the model's jump is that rise for a
//!   short pulse;
//! - `dpi.tau_s`: the decay after the isolated pre spike (else post spike): the time i_ca takes to fall from 50 % to
//!   20 % of that rise, over ln 2.5 (the time constant of a linear DPI; the apparent one of a non-linear DPI at
//!   those levels);
//! - `pot_switch.i_on_a`, `dep_switch.i_on_a`: the on-levels of the switched currents: the time-weighted median of
//!   i_hp (i_hd) over the time it is on (above 100 times its value at the start), so that the brief transients a
//!   transistor-level switch shows at its edges (nA for microseconds) do not count; samples taken while v_h is
//!   within [`RAIL_MARGIN_V`] of the rail the switch drives it toward are left out (its current sags there);
//! - `pot_comparator.threshold_a`, `dep_comparator.threshold_a`: i_ca when i_hp (i_hd) last falls through 95 % of its
//!   on-level after at least 50 us on (a charge-injection spike is not a release): the comparator releases as the
//!   decaying calcium crosses its threshold. The rising edge cannot tell: a spike lifts the calcium past the
//!   threshold within its pulse, and the switch rises later. With a release delay this is the effective threshold
//!   (the threshold less what the calcium loses during the delay), so its spread includes the delay's; it is the
//!   threshold for instantaneous comparators (tested). Censored readings: a switch that never turns on says only
//!   that its threshold lies above the highest level the calcium held for the comparator's onset,
//!   [`ONSET_HOLD_S`] ([`Reading::Above`]; an approximate bound), and its on-level cannot be read; a switch still
//!   on at the end of the run (e.g. on from the start: the resting calcium above the threshold) says that the
//!   threshold lies below the calcium there ([`Reading::Below`]). A release while v_h is at a rail is not read.
//!
//! The spread is the log-normal one of [`crate::params::mismatch`]: per quantity, sigma = standard deviation of
//! ln x over the samples; where some readings are censored, the maximum-likelihood normal fit of ln x with those
//! readings censored ([`spread_of`]); correlations of ln x over the samples where every quantity was read.

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

/// A switch current above 100 times its value at the start, or above this, is on: an ultra-low-leakage switch is
/// off at fA and on at pA, and a switch on from the start has no off level to compare with [A].
const ON_FLOOR_A: f64 = 1e-13;

/// A switch counts as having been on before a fall only if it was above half its on-level for this long: the
/// charge-injection spikes of a transistor-level switch (nA for microseconds) are not releases [s].
const GENUINE_ON_S: f64 = 50e-6;

/// Switch readings are not taken while v_h is within this of the rail the switch drives it toward: there the
/// switch's output device leaves saturation and its current sags (the sky130 potentiation current falls from ~50
/// to 5-8 pA as v_h nears V_DD) [V].
pub const RAIL_MARGIN_V: f64 = 0.15;

/// A comparator switches on only once the calcium has stayed above its threshold for a while (its onset delay or
/// slew charge: the sky130 comparators need ~3.6 fC, 0.2 ms at 20 pA overdrive). A switch that never turns on
/// therefore bounds its threshold by the highest level the calcium held for this long (the default of
/// [`Run::onset_hold_s`]), not by the highest calcium: in the sky130 Monte Carlo samples whose switch did turn on,
/// the calcium stayed above the threshold read at release for up to 1.2 ms (potentiation) and 1.7 ms (depression)
/// without turning it on; 2 ms lies above both [s].
pub const ONSET_HOLD_S: f64 = 2e-3;

/// One sample's signals and stimulus.
pub struct Run<'a> {
    pub i_ca: Series<'a>,
    pub i_hp: Series<'a>,
    pub i_hd: Series<'a>,
    /// v_h, if recorded: i_hp readings are not taken while it is within [`RAIL_MARGIN_V`] of V_DD, i_hd readings
    /// while it is within that of 0.
    pub v_h: Option<Series<'a>>,
    /// Upper rail (supply) of v_h [V].
    pub v_dd_v: f64,
    /// A switch that never turns on bounds its threshold by the highest level the calcium held for this long
    /// ([`ONSET_HOLD_S`] by default; 0: the highest calcium) [s].
    pub onset_hold_s: f64,
    /// Input spike times [s].
    pub pre: &'a [f64],
    pub post: &'a [f64],
}

/// One quantity read off one sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    /// Read: the value.
    Value(f64),
    /// Not reached within the run: the quantity lies above this value (a right-censored reading).
    Above(f64),
    /// Exceeded throughout: the quantity lies below this value (a left-censored reading).
    Below(f64),
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

/// The interpolated time at which `s` passes `level` between samples `k - 1` and `k`.
fn crossing(s: &Series, k: usize, level: f64) -> f64 {
    let (y0, y1) = (s.y[k - 1], s.y[k]);
    s.t_s[k - 1] + (level - y0) / (y1 - y0) * (s.t_s[k] - s.t_s[k - 1])
}

/// The level above which a switch current `s` is on: 100 times its value at the start, or [`ON_FLOOR_A`].
fn on_floor(s: &Series) -> f64 {
    (100.0 * s.y[0].abs().max(1e-18)).min(ON_FLOOR_A)
}

/// Time-weighted median of `s` over the intervals where it is on (above 100 times its value at the start, or
/// above [`ON_FLOOR_A`]) and `usable` holds at both ends; None when that is less than 50 us in all.
fn on_level(s: &Series, usable: &[bool]) -> Option<f64> {
    let floor = on_floor(s);
    let mut pieces: Vec<(f64, f64)> = (1..s.y.len())
        .filter(|&k| s.y[k - 1] > floor && s.y[k] > floor && usable[k - 1] && usable[k])
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

/// The time of the switch's last release: the last fall through 95 % of its on-level `on` that follows at least
/// [`GENUINE_ON_S`] above half of it (so a spike up and down is not a release).
fn release(s: &Series, on: f64) -> Option<f64> {
    let level = 0.95 * on;
    (1..s.y.len()).rev().filter(|&k| s.y[k - 1] >= level && s.y[k] < level).find_map(|k| {
        // Back over the time on before it, across single-sample dips (charge injection while on).
        let mut j = k - 1;
        while j > 0 && (s.y[j - 1] > 0.5 * on || (j > 1 && s.y[j - 2] > 0.5 * on)) {
            j -= 1;
        }
        (s.t_s[k - 1] - s.t_s[j] >= GENUINE_ON_S).then(|| crossing(s, k, level))
    })
}

/// The highest level `s` stays at or above for `hold` seconds (samples linearly interpolated at the window's end).
fn held_level(s: &Series, hold: f64) -> f64 {
    let mut best = f64::NEG_INFINITY;
    for k in 0..s.t_s.len() {
        let end = s.t_s[k] + hold;
        if end > s.t_s[s.t_s.len() - 1] {
            break;
        }
        let inside = s.t_s[k..].iter().zip(&s.y[k..]).take_while(|(t, _)| **t <= end).map(|(_, y)| *y);
        best = best.max(inside.fold(at(s, end), f64::min));
    }
    best
}

/// The longest time the calcium stayed above `threshold` while the switch current `s` was off (below
/// [`on_floor`]), ending where the calcium falls back or the switch turns on. For a comparator whose threshold was
/// read at its release, this is how long its onset took at least: the evidence for [`ONSET_HOLD_S`] [s].
pub fn longest_off_excursion(i_ca: &Series, s: &Series, threshold: f64) -> f64 {
    let floor = on_floor(s);
    let (t, y) = (i_ca.t_s, i_ca.y);
    let (mut best, mut start): (f64, Option<f64>) = (0.0, None);
    for k in 1..t.len() {
        let off = at(s, t[k]) < floor;
        let above = y[k] > threshold;
        match start {
            None if above && off => {
                start = Some(if y[k - 1] <= threshold { crossing(i_ca, k, threshold) } else { t[k] });
            }
            Some(t0) if !(above && off) => {
                let end = if !off || y[k - 1] <= threshold { t[k] } else { crossing(i_ca, k, threshold) };
                best = best.max(end - t0);
                start = None;
            }
            _ => {}
        }
    }
    best
}

/// What one switch's current says about its comparator's threshold (as the calcium at its release) and its
/// on-level; `usable` marks the samples taken with v_h off the rails.
fn switch_readings(name: &str, s: &Series, i_ca: &Series, usable: &[bool], onset_hold_s: f64) -> (Reading, Reading) {
    let Some(on) = on_level(s, usable) else {
        if on_level(s, &vec![true; usable.len()]).is_some() {
            let why = format!("{name} is on only while v_h is within {RAIL_MARGIN_V} V of a rail");
            return (Reading::Missing(why.clone()), Reading::Missing(why));
        }
        // Never on: the threshold lies above what the calcium held for the comparator's onset.
        let never =
            format!("{name} is never on for 50 us (above 100 times its value at the start or {ON_FLOOR_A:e} A)");
        let bound = held_level(i_ca, onset_hold_s);
        if !(bound.is_finite() && bound > 0.0) {
            let why = format!("{name} is never on, and the run is too short to bound its threshold");
            return (Reading::Missing(why), Reading::Missing(never));
        }
        return (Reading::Above(bound), Reading::Missing(never));
    };
    let last = s.y.len() - 1;
    // On over its last two samples (a spike at the last sample is not "on"; a dip there is not a release).
    if s.y[last - 1] > 0.5 * on {
        // Still on at the end (e.g. on from the start, the resting calcium above the threshold): the threshold
        // lies below the calcium there.
        let bound = i_ca.y[i_ca.y.len() - 1];
        let below = if bound.is_finite() && bound > 0.0 {
            Reading::Below(bound)
        } else {
            Reading::Missing(format!("{name} is on to the end, where the calcium is not positive: {bound:e}"))
        };
        return (below, Reading::Value(on));
    }
    let threshold = match release(s, on) {
        None => Reading::Missing(format!("{name} does not fall back from its on-level within the run")),
        Some(t) => {
            let k = s.t_s.partition_point(|&x| x < t).min(last);
            if !(usable[k] && usable[k.saturating_sub(1)]) {
                Reading::Missing(format!(
                    "v_h is within {RAIL_MARGIN_V} V of a rail when {name} falls from its on-level (a release cannot \
                     be told from the sag there)"
                ))
            } else {
                positive(at(i_ca, t), &format!("the calcium at the release of {name}"))
            }
        }
    };
    (threshold, Reading::Value(on))
}

/// `x` as a reading if it is a positive current or time, else missing with the reason (`what` names it).
fn positive(x: f64, what: &str) -> Reading {
    if x.is_finite() && x > 0.0 {
        Reading::Value(x)
    } else {
        Reading::Missing(format!("{what} is not positive: {x:e}"))
    }
}

/// The first spike of `own` with no other spike (of `own` or `other`) within [`ISOLATION_S`] before or after it.
fn isolated(own: &[f64], other: &[f64]) -> Option<f64> {
    own.iter().enumerate().map(|(k, &t)| (k, t)).find_map(|(k, t)| {
        let near = |u: f64| (u - t).abs() < ISOLATION_S;
        let crowded = own.iter().enumerate().any(|(j, &u)| j != k && near(u)) || other.iter().any(|&u| near(u));
        (!crowded).then_some(t)
    })
}

/// Peak rise of i_ca within [`PEAK_WINDOW_S`] after the spike at `t`, over its level at `t`, and the decay time
/// constant after it (50 % to 20 % of the rise, over ln 2.5; the crossings interpolated in ln(i_ca - base), exact
/// for an exponential between samples). `None` for the decay when it does not fall that far within
/// [`ISOLATION_S`].
fn rise_and_decay(i_ca: &Series, t: f64) -> Result<(f64, Option<f64>), String> {
    let base = at(i_ca, t);
    let idx: Vec<usize> = (0..i_ca.t_s.len()).filter(|&k| i_ca.t_s[k] >= t && i_ca.t_s[k] <= t + ISOLATION_S).collect();
    let peak = idx
        .iter()
        .copied()
        .filter(|&k| i_ca.t_s[k] <= t + PEAK_WINDOW_S)
        .max_by(|&a, &b| i_ca.y[a].total_cmp(&i_ca.y[b]))
        .ok_or_else(|| format!("no i_ca sample within {PEAK_WINDOW_S} s after the spike at {t} s"))?;
    let rise = i_ca.y[peak] - base;
    if rise.is_nan() || rise <= 0.0 {
        return Err(format!("i_ca does not rise after the spike at {t} s"));
    }
    let fall = |f: f64| {
        let level = base + f * rise;
        idx.iter().copied().filter(|&k| k > peak).find(|&k| i_ca.y[k - 1] >= level && i_ca.y[k] < level).map(|k| {
            let (a, b) = (i_ca.y[k - 1] - base, i_ca.y[k] - base);
            let (t0, t1) = (i_ca.t_s[k - 1], i_ca.t_s[k]);
            if b > 0.0 {
                t0 + (a.ln() - (f * rise).ln()) / (a.ln() - b.ln()) * (t1 - t0)
            } else {
                crossing(i_ca, k, level)
            }
        })
    };
    let tau = match (fall(0.5), fall(0.2)) {
        (Some(a), Some(b)) if b > a => Some((b - a) / 2.5f64.ln()),
        _ => None,
    };
    Ok((rise, tau))
}

/// The quantities of [`KEYS`], in that order, from one run. An error when the run cannot be read at all (too few
/// samples, no rest before the first spike); a quantity that this run cannot give is [`Reading::Missing`] with the
/// reason, a threshold never reached [`Reading::Above`], one exceeded to the end of the run [`Reading::Below`].
pub fn extract(run: &Run) -> Result<[Reading; 8], String> {
    let (i_ca, i_hp, i_hd) = (&run.i_ca, &run.i_hp, &run.i_hd);
    for (name, s) in
        [("i_ca", i_ca), ("i_hp", i_hp), ("i_hd", i_hd)].into_iter().chain(run.v_h.as_ref().map(|v| ("v_h", v)))
    {
        if s.y.len() < 2 || s.t_s.len() != s.y.len() {
            return Err(format!("{name} has {} samples: expected at least 2", s.y.len()));
        }
    }
    let (pre, post) = (run.pre, run.post);
    let first = pre.iter().chain(post).copied().fold(f64::INFINITY, f64::min);
    if !first.is_finite() {
        return Err("the stimulus has no spike".into());
    }
    let rest: Vec<f64> = i_ca.t_s.iter().zip(i_ca.y).filter(|(t, _)| **t < first).map(|(_, y)| *y).collect();
    if rest.is_empty() {
        return Err(format!("no i_ca sample before the first spike at {first} s (resting calcium)"));
    }
    let i_rest = rest.iter().sum::<f64>() / rest.len() as f64;
    let mut out: [Reading; 8] = std::array::from_fn(|_| Reading::Missing(String::new()));
    out[0] = positive(i_rest, "the resting calcium");
    let no_spike = |side: &str| format!("no {side} spike with {ISOLATION_S} s free of other spikes on both sides");
    let mut taus = Vec::new();
    for (slot, side, own, other) in [(2, "pre", pre, post), (3, "post", post, pre)] {
        out[slot] = match isolated(own, other) {
            None => Reading::Missing(no_spike(side)),
            Some(t) => match rise_and_decay(i_ca, t) {
                Ok((rise, tau)) => {
                    taus.push(tau);
                    positive(rise, "the rise")
                }
                Err(e) => Reading::Missing(e),
            },
        };
    }
    out[1] = match taus.iter().find_map(|tau| *tau) {
        Some(tau) => positive(tau, "the decay time"),
        None if taus.is_empty() => Reading::Missing(no_spike("pre or post")),
        None => Reading::Missing(format!("i_ca does not fall to 20 % of its rise within {ISOLATION_S} s")),
    };
    // i_hp flows from the supply onto the capacitor and sags as v_h nears V_DD; i_hd flows to ground and sags as
    // v_h nears 0.
    let rails = [
        (4, "i_hp", i_hp, f64::NEG_INFINITY, run.v_dd_v - RAIL_MARGIN_V),
        (5, "i_hd", i_hd, RAIL_MARGIN_V, f64::INFINITY),
    ];
    for (slot, name, s, lo, hi) in rails {
        let usable: Vec<bool> =
            s.t_s.iter().map(|&t| run.v_h.as_ref().is_none_or(|v| (lo..=hi).contains(&at(v, t)))).collect();
        (out[slot], out[slot + 2]) = switch_readings(name, s, i_ca, &usable, run.onset_hold_s);
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
    /// Readings that are bounds (above or below).
    pub n_censored: usize,
}

/// Negative log-likelihood of a normal (mu, e^log_sigma) for `values`, right-censored `above` and left-censored
/// `below` readings, constant terms dropped.
fn censored_nll(mu: f64, log_sigma: f64, c: &Censored) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let sigma = log_sigma.exp();
    let std = Normal::new(0.0, 1.0).expect("the standard normal");
    let ln = |p: f64| p.max(f64::MIN_POSITIVE).ln();
    let obs: f64 = c.values.iter().map(|y| log_sigma + 0.5 * ((y - mu) / sigma).powi(2)).sum();
    let above: f64 = c.above.iter().map(|b| -ln(std.sf((b - mu) / sigma))).sum();
    let below: f64 = c.below.iter().map(|b| -ln(std.cdf((b - mu) / sigma))).sum();
    obs + above + below
}

/// ln x of the values and of the two kinds of censored readings of one quantity.
struct Censored {
    values: Vec<f64>,
    above: Vec<f64>,
    below: Vec<f64>,
}

impl argmin::core::CostFunction for &Censored {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(censored_nll(p[0], p[1], self))
    }
}

/// The log-normal spread of `readings` of one quantity (missing ones ignored): [`Spread`]. An error with fewer than
/// two values or when the likelihood cannot be maximised.
pub fn spread_of(readings: &[&Reading]) -> Result<Spread, String> {
    let pick = |f: fn(&Reading) -> Option<f64>| readings.iter().filter_map(|r| f(r)).map(f64::ln).collect::<Vec<f64>>();
    let c = Censored {
        values: pick(|r| r.value()),
        above: pick(|r| if let Reading::Above(b) = r { Some(*b) } else { None }),
        below: pick(|r| if let Reading::Below(b) = r { Some(*b) } else { None }),
    };
    let nv = c.values.len();
    if nv < 2 {
        return Err(format!("{nv} value(s) read; at least 2 needed"));
    }
    let mean = c.values.iter().sum::<f64>() / nv as f64;
    let sd = (c.values.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (nv - 1) as f64).sqrt();
    let n_censored = c.above.len() + c.below.len();
    if n_censored == 0 {
        return Ok(Spread { mu: mean, sigma: sd, n_values: nv, n_censored: 0 });
    }
    let n = nv + n_censored;
    let s0 = sd.max(1e-3).ln();
    let simplex = vec![vec![mean, s0], vec![mean + sd.max(1e-3), s0], vec![mean, s0 + 0.5]];
    let best = argmin::solver::neldermead::NelderMead::new(simplex)
        .with_sd_tolerance(1e-12)
        .and_then(|nm| argmin::core::Executor::new(&c, nm).configure(|s| s.max_iters(2000)).run())
        .map_err(|e| format!("the censored maximum-likelihood fit failed: {e}"))?;
    let p = argmin::core::State::get_best_param(best.state())
        .cloned()
        .ok_or("the censored maximum-likelihood fit returned no parameters")?;
    if !(p[0].is_finite() && p[1].is_finite()) {
        return Err(format!("the censored maximum-likelihood fit did not converge (mu {}, ln sigma {})", p[0], p[1]));
    }
    Ok(Spread { mu: p[0], sigma: p[1].exp() * (n as f64 / (n - 1) as f64).sqrt(), n_values: nv, n_censored })
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

    /// One run of the model: its waveforms as a [`Run`] (no v_h, so no rail check) handed to `f`.
    fn read(p: &crate::synapse::circuit::CircuitParams, spikes: &Spikes, t_end: f64) -> ([Reading; 8], f64) {
        let tr = p.simulate(spikes, t_end, 1e-6);
        let s = |y| Series { t_s: &tr.t_s, y };
        let run = Run {
            i_ca: s(&tr.i_ca_a),
            i_hp: s(&tr.i_hp_a),
            i_hd: s(&tr.i_hd_a),
            v_h: None,
            v_dd_v: 1.8,
            onset_hold_s: ONSET_HOLD_S,
            pre: &spikes.pre,
            post: &spikes.post,
        };
        (extract(&run).unwrap(), held_level(&run.i_ca, ONSET_HOLD_S))
    }

    fn ideal_comparators() -> crate::synapse::circuit::CircuitParams {
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
        p
    }

    /// An isolated pre spike, an isolated post spike, then a pairing that turns both switches on.
    fn probe() -> Spikes {
        Spikes { pre: vec![0.010, 0.092], post: vec![0.050, 0.090] }
    }

    /// On the behavioural model's own waveforms (known parameters, linear DPI, instantaneous comparators) the
    /// extraction returns the resting current, the decay time constant, the jumps, the thresholds and the on-levels
    /// it was given.
    #[test]
    fn extraction_recovers_known_block_parameters() {
        let mut p = ideal_comparators();
        let (x, _) = read(&p, &probe(), 0.13);
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
        let (x, _) = read(&p, &Spikes { pre: vec![0.012], post: vec![0.010] }, 0.05);
        for k in 1..4 {
            assert!(
                matches!(&x[k], Reading::Missing(m) if m.contains("free of other spikes")),
                "{}: {:?}",
                KEYS[k],
                x[k]
            );
        }
        assert!(x[0].value().is_some() && x[4..].iter().all(|r| r.value().is_some()), "{x:?}");
        // A potentiation threshold above every calcium: censored at the level the calcium held for the onset time
        // (below its peak), its on-level missing.
        p.pot_comparator.threshold_a = 1e-9;
        let (x, held) = read(&p, &probe(), 0.13);
        let peak = p.simulate(&probe(), 0.13, 1e-6).i_ca_a.iter().copied().fold(0.0, f64::max);
        assert!(held > p.dpi.i_rest() && held < 0.9 * peak, "held {held:e}, peak {peak:e}");
        assert_eq!(x[4], Reading::Above(held));
        assert!(matches!(&x[6], Reading::Missing(m) if m.contains("i_hp is never on")), "{:?}", x[6]);
        // A depression threshold below the resting calcium: the switch is on to the end of the run, the threshold
        // below the calcium there; its on-level is still read.
        let mut q = ideal_comparators();
        q.dep_comparator.threshold_a = 0.5 * q.dpi.i_rest();
        let (x, _) = read(&q, &probe(), 0.13);
        let end = *q.simulate(&probe(), 0.13, 1e-6).i_ca_a.last().unwrap();
        assert_eq!(x[5], Reading::Below(end));
        assert!((x[7].value().unwrap() / q.dep_switch.i_on_a - 1.0).abs() < 0.02, "{:?}", x[7]);
    }

    /// With an onset delay of 1 ms (and none on release, so that the release reads the threshold itself) the
    /// calcium stays above the threshold for 1 ms with the switch off before the pairing turns it on.
    #[test]
    fn the_longest_off_excursion_is_the_onset_delay() {
        let mut p = ideal_comparators();
        p.pot_comparator.delay_on_s = 1e-3;
        let tr = p.simulate(&probe(), 0.13, 1e-6);
        let s = |y| Series { t_s: &tr.t_s, y };
        let ex = longest_off_excursion(&s(&tr.i_ca_a), &s(&tr.i_hp_a), p.pot_comparator.threshold_a);
        assert!((ex - 1e-3).abs() < 1e-5, "{ex}");
        // Without the delay the switch turns on as the calcium crosses.
        let q = ideal_comparators();
        let tr = q.simulate(&probe(), 0.13, 1e-6);
        let s = |y| Series { t_s: &tr.t_s, y };
        assert!(longest_off_excursion(&s(&tr.i_ca_a), &s(&tr.i_hp_a), q.pot_comparator.threshold_a) < 1e-5);
    }

    /// A transistor-level switch's current: charge-injection spikes (up after the release, down while on) are not
    /// releases, and while v_h sits at a rail (the current sags) neither the on-level nor a release is read.
    #[test]
    fn switch_spikes_and_rails_do_not_make_readings() {
        let p = ideal_comparators();
        let spikes = probe();
        let tr = p.simulate(&spikes, 0.13, 1e-6);
        let run = |i_hp: &[f64], v_h: Option<&[f64]>| {
            let s = |y| Series { t_s: &tr.t_s, y };
            extract(&Run {
                i_ca: s(&tr.i_ca_a),
                i_hp: s(i_hp),
                i_hd: s(&tr.i_hd_a),
                v_h: v_h.map(s),
                v_dd_v: 1.8,
                onset_hold_s: ONSET_HOLD_S,
                pre: &spikes.pre,
                post: &spikes.post,
            })
            .unwrap()
        };
        let clean = run(&tr.i_hp_a, None);
        let on = clean[6].value().unwrap();
        // The last on-interval of i_hp (the pairing's).
        let last = (0..tr.t_s.len()).rev().find(|&k| tr.i_hp_a[k] > 0.5 * on).unwrap();
        let mut first = last;
        while tr.i_hp_a[first - 1] > 0.5 * on {
            first -= 1;
        }
        let mut spiky = tr.i_hp_a.clone();
        spiky[last + 2000] = 2e-9; // 1 us spike 2 ms after the release
        spiky[(first + last) / 2] = -5e-12; // 1 us dip while on
        assert_eq!(run(&spiky, None)[4], clean[4]);
        // v_h at the rail for the second half of the on-time, the current sagging to a fifth there.
        let mid = (first + last) / 2;
        let v_h: Vec<f64> = (0..tr.t_s.len()).map(|k| if k >= mid { 1.79 } else { 0.9 }).collect();
        // (i_hd, which drives v_h toward 0, is read as without v_h.)
        let mut sag = tr.i_hp_a.clone();
        for y in &mut sag[mid..=last] {
            *y *= 0.2;
        }
        let x = run(&sag, Some(&v_h));
        assert!((x[6].value().unwrap() / on - 1.0).abs() < 1e-9, "{:?} against {on:e}", x[6]);
        assert!(matches!(&x[4], Reading::Missing(m) if m.contains("rail")), "{:?}", x[4]);
        assert_eq!((&x[5], &x[7]), (&clean[5], &clean[7]));
        // Without the rail check the sag would be read as the release, at another calcium.
        let wrong = run(&sag, None)[4].value().unwrap() / clean[4].value().unwrap();
        assert!((wrong - 1.0).abs() > 0.05, "{wrong}");
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
        // The same draws censored from below (everything under mu - 0.5 sigma): the same recovery.
        let low = mu - 0.5 * sigma;
        let below: Vec<Reading> =
            draws.iter().map(|&y| if y < low { Reading::Below(low.exp()) } else { Reading::Value(y.exp()) }).collect();
        let fit_below = spread_of(&below.iter().collect::<Vec<_>>()).unwrap();
        assert!((fit_below.mu - mu).abs() < 0.03 && (fit_below.sigma / sigma - 1.0).abs() < 0.06, "{fit_below:?}");
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
        assert!(spread_of(&few.iter().collect::<Vec<_>>()).unwrap_err().contains("1 value(s)"));
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
