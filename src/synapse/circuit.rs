//! The circuit-behavioural STC synapse: the blocks of [`crate::blocks`] wired as in thesis Fig. 8.
//!
//! The blocks form a feed-forward chain (spikes -> DPI -> comparators -> ULL switches -> capacitor -> tag ->
//! late phase), with one local feedback (v_h sets the sign of its own recovery current). The simulation is
//! event-driven and exact wherever the blocks allow it:
//! 1. the DPI input is piecewise constant (rectangular spike pulses), so i_ca is known in closed form on every
//!    piece ([`crate::blocks::dpi`]);
//! 2. the comparators' switching instants are the exact threshold crossings of that closed form, shifted by the
//!    onset/release delays;
//! 3. between switching instants the ULL currents and the charge they deliver are exact exponentials;
//! 4. the capacitor integrates that charge; recovery, the rails, the tag and the late phase are evaluated on
//!    steps no longer than `max_step_s` (default 0.1 ms), which only matters for those slow parts.
//!
//! A comparator with a finite transition width has a continuously varying output while its input is inside the
//! ramp; there it is evaluated at the midpoint of sub-steps no longer than tau_DPI/100 (first-order accurate in
//! the sub-step where a switch's lag changes its time constant inside one, second order elsewhere; see the test
//! against an independent integration below).
//! The instants where the input enters or leaves the ramp are exact crossings, and outside the ramp the output is
//! exactly 0 or 1, so quiet stretches cost one step.

use crate::blocks::bump::{Tag, TagParams};
use crate::blocks::capacitor::CapacitorParams;
use crate::blocks::dpi::DpiParams;
use crate::blocks::late_phase::{LateParams, LateState};
use crate::blocks::ull::{UllParams, UllState};
use crate::blocks::weight::WeightParams;
use crate::blocks::wta::WtaParams;
use crate::blocks::{Checker, Fields, RangeError};
use serde::{Deserialize, Serialize};

/// Process-wide count of [`CircuitParams::simulate_at`] calls (hence of `simulate`, and of every model evaluation a
/// fit makes). It is instrumentation, kept apart from the fit's own evaluation counter so that a test can check that
/// counter against the simulations actually run.
static SIMULATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Simulations run by [`CircuitParams::simulate_at`] in this process so far.
pub fn simulations_run() -> u64 {
    SIMULATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Every parameter of the circuit synapse, block by block (a parameter file with `model: circuit`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitParams {
    /// Always `circuit` for this model.
    pub model: String,
    /// Short name of the parameter set.
    #[serde(default)]
    pub name: String,
    /// What the set is and where its values come from.
    #[serde(default)]
    pub description: String,
    /// DPI calcium integrator.
    pub dpi: DpiParams,
    /// Potentiation comparator (I_THPOT).
    pub pot_comparator: WtaParams,
    /// Depression comparator (I_THDEP).
    pub dep_comparator: WtaParams,
    /// Potentiation ULL switch (i_hp).
    pub pot_switch: UllParams,
    /// Depression ULL switch (i_hd, a magnitude: it discharges the capacitor).
    pub dep_switch: UllParams,
    /// Early-phase capacitor and recovery.
    pub capacitor: CapacitorParams,
    /// Bump/anti-bump tag detector and protein condition.
    pub tag: TagParams,
    /// Late phase (counter or Eq. 4 ODE).
    pub late: LateParams,
    /// Total weight mapping.
    pub weight: WeightParams,
    /// Longest internal step for the slow parts (recovery, rails, tag, late phase) [s].
    #[serde(default = "default_max_step")]
    pub max_step_s: f64,
    /// Where the values come from (written by `stc fit`): free-form, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<serde_yaml::Value>,
}

fn default_max_step() -> f64 {
    1e-4
}

/// Pre- and postsynaptic spike times [s], each sorted ascending.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spikes {
    /// Presynaptic spike times [s].
    pub pre: Vec<f64>,
    /// Postsynaptic spike times [s].
    pub post: Vec<f64>,
}

/// Sampled traces of the circuit synapse, SI units.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CircuitTrace {
    /// Sample times [s].
    pub t_s: Vec<f64>,
    /// Calcium current [A].
    pub i_ca_a: Vec<f64>,
    /// Potentiation current [A].
    pub i_hp_a: Vec<f64>,
    /// Depression current magnitude [A].
    pub i_hd_a: Vec<f64>,
    /// Early-phase voltage [V].
    pub v_h_v: Vec<f64>,
    /// Late-phase weight [1].
    pub z: Vec<f64>,
    /// Total weight [1].
    pub w: Vec<f64>,
}

/// Net charge delivered by the switched currents over a window, for the network's shared trajectories.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChargeSummary {
    /// Net charge of each integration step in order [C]: replaying them through the capacitor (with its rail
    /// clamp) reproduces exactly what the single-synapse simulation does without recovery.
    pub steps_c: Vec<f64>,
    /// integral of (i_hp - i_hd) over the window [C].
    pub q_total_c: f64,
    /// Lowest running value of that integral within the window [C] (<= 0).
    pub q_min_c: f64,
    /// Highest running value [C] (>= 0).
    pub q_max_c: f64,
}

/// Piecewise-constant DPI input and the exact calcium current on each piece.
#[derive(Clone, Debug)]
pub struct DpiTrack {
    /// Start time of each piece [s] (first is 0).
    pub start_s: Vec<f64>,
    /// Calcium current at the start of each piece [A].
    pub i_start_a: Vec<f64>,
    /// Total DPI input current on each piece [A].
    pub i_in_a: Vec<f64>,
}

impl DpiTrack {
    /// Build the exact piecewise solution for a spike train.
    pub fn new(p: &DpiParams, spikes: &Spikes) -> Self {
        let mut edges: Vec<(f64, f64)> = Vec::with_capacity(2 * (spikes.pre.len() + spikes.post.len()));
        let (ap, aq) = (p.amplitude_pre(), p.amplitude_post());
        for &t in &spikes.pre {
            let t0 = t + p.delay_pre_s;
            edges.push((t0, ap));
            edges.push((t0 + p.pulse_pre_s, -ap));
        }
        for &t in &spikes.post {
            edges.push((t, aq));
            edges.push((t + p.pulse_post_s, -aq));
        }
        edges.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut start_s = vec![0.0];
        let mut i_start_a = vec![p.i_init_a];
        let mut i_in_a = vec![p.i_indc_a];
        for (t, da) in edges {
            let k = start_s.len() - 1;
            if t <= start_s[k] {
                // Coincident edge (or an edge at t <= 0): merge into the current piece.
                i_in_a[k] += da;
                continue;
            }
            let i = p.evolve(i_start_a[k], i_in_a[k], t - start_s[k]);
            start_s.push(t);
            i_start_a.push(i);
            i_in_a.push(i_in_a[k] + da);
        }
        // Guard against round-off in the running input sum: it returns to I_INDC after all pulses.
        for x in i_in_a.iter_mut() {
            if (*x - p.i_indc_a).abs() < 1e-9 * p.i_indc_a {
                *x = p.i_indc_a;
            }
        }
        DpiTrack { start_s, i_start_a, i_in_a }
    }

    fn piece(&self, t: f64) -> usize {
        self.start_s.partition_point(|&s| s <= t).saturating_sub(1)
    }

    /// Exact calcium current at time `t` [A].
    pub fn value_at(&self, p: &DpiParams, t: f64) -> f64 {
        let k = self.piece(t);
        p.evolve(self.i_start_a[k], self.i_in_a[k], (t - self.start_s[k]).max(0.0))
    }

    /// Every piece that starts before `t_end`: its index, start and end (clipped at `t_end`).
    fn pieces(&self, t_end: f64) -> impl Iterator<Item = (usize, f64, f64)> + '_ {
        (0..self.start_s.len()).map_while(move |k| {
            let t0 = self.start_s[k];
            (t0 < t_end).then(|| (k, t0, self.start_s.get(k + 1).copied().unwrap_or(f64::INFINITY).min(t_end)))
        })
    }

    /// Every instant before `t_end` at which the calcium current crosses `level`, in either direction.
    pub fn level_crossings(&self, p: &DpiParams, level: f64, t_end: f64) -> Vec<f64> {
        let mut out = Vec::new();
        for (k, t0, t1) in self.pieces(t_end) {
            if let Some(dt) = p.crossing_time(self.i_start_a[k], self.i_in_a[k], level) {
                if t0 + dt < t1 {
                    out.push(t0 + dt);
                }
            }
        }
        out
    }

    /// Raw switching instants of an ideal comparator with hysteresis (alternating, starting from the initial
    /// state, which is returned too).
    pub fn crossings(&self, p: &DpiParams, w: &WtaParams, t_end: f64) -> (bool, Vec<f64>) {
        let mut on = self.i_start_a[0] > w.on_level();
        let initially = on;
        let mut edges = Vec::new();
        for (k, t0, t1) in self.pieces(t_end) {
            let level = if on { w.off_level() } else { w.on_level() };
            if let Some(dt) = p.crossing_time(self.i_start_a[k], self.i_in_a[k], level) {
                if t0 + dt < t1 {
                    edges.push(t0 + dt);
                    on = !on;
                }
            }
        }
        (initially, edges)
    }

    /// Raw switching instants of a comparator with slew charges ([`WtaParams::integrating`]): its output node
    /// integrates `i - threshold`, clamped to `[0, charge_on_c + charge_off_c]`, and the output is on while the
    /// node is above `charge_on_c`. The node starts saturated on the side of the initial comparison. On every DPI
    /// piece, split at the threshold crossing, the integrand has one sign, so the node is monotone there and the
    /// instant it reaches `charge_on_c` is the one root of the exact integral ([`crate::blocks::dpi::integral`]),
    /// found by safeguarded Newton.
    pub fn integrating_crossings(&self, p: &DpiParams, w: &WtaParams, t_end: f64) -> (bool, Vec<f64>) {
        let th = w.threshold_a;
        let (q_on, q_max) = (w.charge_on_c, w.charge_on_c + w.charge_off_c);
        let mut on = self.i_start_a[0] > th;
        let initially = on;
        let mut q = if on { q_max } else { 0.0 };
        let mut edges = Vec::new();
        for (k, t0, t1) in self.pieces(t_end) {
            let (i_in, i0) = (self.i_in_a[k], self.i_start_a[k]);
            let tc = p.crossing_time(i0, i_in, th).map(|d| t0 + d).filter(|&t| t > t0 && t < t1);
            let (mut a, mut ia) = (t0, i0);
            for b in [tc, Some(t1)].into_iter().flatten() {
                let len = b - a;
                if len <= 0.0 {
                    continue;
                }
                // Node charge gained over [a, a + s] (exact), and the input at a + s.
                let g = |s: f64| {
                    let i = p.evolve(ia, i_in, s);
                    (p.integral(ia, i_in, i, s) - th * s, i)
                };
                let (dq, ib) = g(len);
                // The integrand has one sign on the segment, so the charge gained says which.
                let rising = dq > 0.0;
                let target = q_on - q;
                let crosses = if rising { !on && dq >= target } else { on && dq < target };
                if crosses {
                    // g is monotone on [0, len] with slope i - th: Newton inside a shrinking bracket.
                    let (mut lo, mut hi) = (0.0, len);
                    let mut s = if dq != 0.0 { (target / dq * len).clamp(0.0, len) } else { 0.0 };
                    for _ in 0..80 {
                        let (v, i) = g(s);
                        let f = v - target;
                        if f == 0.0 {
                            break;
                        }
                        if (f >= 0.0) == rising {
                            hi = s;
                        } else {
                            lo = s;
                        }
                        let slope = i - th;
                        let mut next = if slope != 0.0 { s - f / slope } else { f64::NAN };
                        if !(next > lo && next < hi) {
                            next = 0.5 * (lo + hi);
                        }
                        if (hi - lo) <= 1e-15 * (1.0 + a.abs()) || (next - s).abs() <= 1e-16 * (1.0 + a.abs()) {
                            s = next.clamp(lo, hi);
                            break;
                        }
                        s = next;
                    }
                    edges.push(a + s);
                    on = !on;
                }
                q = (q + dq).clamp(0.0, q_max);
                (a, ia) = (b, ib);
            }
        }
        (initially, edges)
    }
}

/// The instant in `(a, b)` where the two delayed views of a soft comparator's input swap order, on an edge
/// interval in the ramp (`ramp`): `g(t)` = onset-delayed minus release-delayed view. The output is the ramp of the
/// smaller (larger) view, so it has a kink there; evaluated at the middle of a step that contains the kink, the
/// midpoint rule is only first-order accurate (up to 2e-2 of a channel's charge when the interval is shorter than
/// a sub-step), so the instant becomes an edge. Between edges each view stays on one DPI piece, so `g` is smooth;
/// a sign change between the ends is bisected to 1e-12 s. `None` without a sign change (or outside the ramp).
/// Shared by `Channel` and `charge::Chan`, which evaluate `g` to the same bits, so both find the same instant.
///
/// `shape`: `Some(tau)` when the caller knows that `g = alpha + beta e^(-t / tau)` on `[a, b]` (a linear DPI: each
/// view is `i_inf + d0 e^(-t / tau)` on its piece, with the same tau), so `g` is monotone there. The bisection's
/// result is then found with a few evaluations instead of about 35 (most of the per-synapse path's DPI evaluations
/// were bisection steps) and is the same number: the root of that shape through `g(a)` and `g(b)`, confirmed by
/// evaluating `g` just either side of it (Illinois steps if it is not), brackets the sign change within
/// [`SWAP_BRACKET_S`], and the bisection is replayed, evaluating `g` only at midpoints within [`SWAP_GUARD_S`] of
/// that bracket; anywhere else the sign of a monotone `g` is that of the bracket end on the same side. The replay
/// could differ from evaluating only where the computed `g` has the wrong sign more than 1e-13 s from its sign
/// change, i.e. where `g` changes by less than its round-off over 1e-13 s. Unit tests:
/// `view_swap_replays_the_bisection` (random pairs of linear-DPI views, realistic and extreme, against the plain
/// bisection) and
/// `held_statuses_find_the_same_swaps_with_the_shape` (the network's synapses on random trains, edges and statuses
/// with and without the shape).
///
/// `memo` holds the last `(b, g(b))`: the next interval starts where this one ends, and `g` at a time is the same
/// number whichever interval asks (each view is found by its time alone).
pub(crate) fn view_swap(
    ramp: bool,
    a: f64,
    b: f64,
    shape: Option<f64>,
    memo: &mut (f64, f64),
    mut g: impl FnMut(f64) -> f64,
) -> Option<f64> {
    if !ramp || !b.is_finite() {
        return None;
    }
    let ga = if memo.0.to_bits() == a.to_bits() { memo.1 } else { g(a) };
    let gb = g(b);
    *memo = (b, gb);
    if ga * gb >= 0.0 || (ga * gb).is_nan() {
        return None;
    }
    // The bisection keeps `lo` where g has a's sign class: `(g < 0) == (ga < 0)`.
    let same = |x: f64| (x < 0.0) == (ga < 0.0);
    let (mut known_lo, mut known_hi) = (f64::NEG_INFINITY, f64::INFINITY);
    if let Some(tau) = shape {
        // A bracket [x0, x1], x0 in a's class and x1 not, from genuine evaluations.
        let (mut x0, mut x1, mut f0, mut f1) = (a, b, ga, gb);
        // g(a + s) = alpha + beta e^(-s / tau): beta = (ga - gb) / (1 - e^(-(b - a) / tau)), alpha = ga - beta,
        // root where e^(-s / tau) = -alpha / beta.
        let beta = (ga - gb) / -(-(b - a) / tau).exp_m1();
        let r = a - tau * ((beta - ga) / beta).ln();
        let h = 0.25 * SWAP_BRACKET_S;
        if r - h > a && r + h < b {
            let (fl, fr) = (g(r - h), g(r + h));
            if same(fl) {
                (x0, f0) = (r - h, fl);
            }
            if !same(fr) {
                (x1, f1) = (r + h, fr);
            }
        }
        let mut last_side = 0i8;
        for _ in 0..SWAP_MAX_STEPS {
            if x1 - x0 <= SWAP_BRACKET_S {
                break;
            }
            let mut x = x0 - f0 * (x1 - x0) / (f1 - f0);
            if !(x > x0 && x < x1) {
                x = 0.5 * (x0 + x1);
                if !(x > x0 && x < x1) {
                    break;
                }
            }
            let fx = g(x);
            if same(fx) {
                (x0, f0) = (x, fx);
                if last_side == -1 {
                    f1 *= 0.5;
                }
                last_side = -1;
            } else {
                (x1, f1) = (x, fx);
                if last_side == 1 {
                    f0 *= 0.5;
                }
                last_side = 1;
            }
        }
        (known_lo, known_hi) = (x0 - SWAP_GUARD_S, x1 + SWAP_GUARD_S);
    }
    let (mut lo, mut hi) = (a, b);
    while hi - lo > 1e-12 {
        let m = 0.5 * (lo + hi);
        if m <= lo || m >= hi {
            break;
        }
        let in_a_class = if m < known_lo {
            true
        } else if m > known_hi {
            false
        } else {
            same(g(m))
        };
        if in_a_class {
            lo = m;
        } else {
            hi = m;
        }
    }
    let r = 0.5 * (lo + hi);
    (r > a && r < b).then_some(r)
}

/// The bracket [`view_swap`] looks for around its sign change [s].
const SWAP_BRACKET_S: f64 = 1e-14;
/// Midpoints of the replayed bisection this close to the bracket are evaluated, not inferred [s].
const SWAP_GUARD_S: f64 = 1e-13;
/// At most this many Illinois steps (the bisection replay evaluates whatever the bracket leaves open).
const SWAP_MAX_STEPS: usize = 40;

/// From when on the difference of a soft comparator's two delayed views has the shape `alpha + beta e^(-t / tau)`
/// between its edges (`(from, Some(tau))`): once both views are past t = 0 (before it a view is the initial
/// current), for the linear DPI (`I_g = 0`: each view is `i_inf + d0 e^(-t / tau)` on its piece); never for the
/// non-linear one.
pub(crate) fn exp_shape_from(wta: &WtaParams, dpi: &DpiParams) -> (f64, Option<f64>) {
    if dpi.i_g_a == 0.0 {
        (wta.delay_on_s.max(wta.delay_off_s), Some(dpi.tau_s))
    } else {
        (f64::INFINITY, None)
    }
}

/// The merge behind [`Channel::held_intervals`], shared with the allocation-free path (`synapse::charge`), which
/// must follow it operation for operation: `at(start, end)` gives an interval's status and whether the two views
/// may swap order in it (`false` only where that is known not to happen, e.g. one view outside the ramp all through
/// the interval: then the other one cannot reach it), `g` the difference of the two delayed views (for
/// [`view_swap`]). Fills `kept` with the edges kept (and the swap instants) and `status` with the status of the
/// interval before each of them and after the last; both are cleared first. On intervals that start at or after
/// `shape.0`, `g` has the shape `alpha + beta e^(-t / tau)` with `tau = shape.1` ([`exp_shape_from`]).
pub(crate) fn held_statuses(
    edges: &[f64],
    mut at: impl FnMut(f64, f64) -> ((bool, f64), bool),
    mut g: impl FnMut(f64) -> f64,
    shape: (f64, Option<f64>),
    kept: &mut Vec<f64>,
    status: &mut Vec<(bool, f64)>,
) {
    kept.clear();
    status.clear();
    let end = edges.first().copied().unwrap_or(f64::INFINITY);
    let (s, may_swap) = at(0.0, end);
    status.push(s);
    let mut memo = (f64::NAN, 0.0);
    let shape_at = |t: f64| if t >= shape.0 { shape.1 } else { None };
    if let Some(r) = view_swap(s.0 && may_swap, 0.0, end, shape_at(0.0), &mut memo, &mut g) {
        kept.push(r);
        status.push(s);
    }
    for (k, &e) in edges.iter().enumerate() {
        let end = edges.get(k + 1).copied().unwrap_or(f64::INFINITY);
        let (s, may_swap) = at(e, end);
        let last = status[status.len() - 1];
        if !(s.0 || last.0) && s.1 == last.1 {
            continue;
        }
        kept.push(e);
        status.push(s);
        if let Some(r) = view_swap(s.0 && may_swap, e, end, shape_at(e), &mut memo, &mut g) {
            kept.push(r);
            status.push(s);
        }
    }
}

/// One comparator + switch channel prepared for a run.
struct Channel<'a> {
    wta: &'a WtaParams,
    ull: &'a UllParams,
    initially_on: bool,
    edges: Vec<f64>,
    next: usize,
    state: UllState,
    /// Edge index the cached ramp status belongs to (between two edges it cannot change).
    cache_next: usize,
    /// Soft comparator: whether the output follows the ramp on the current edge interval (a delayed view inside
    /// it and not decided by the other view, [`Channel::held_intervals`]); `false` where the output is constant.
    ramp: bool,
    /// Soft comparator outside its ramp: the constant output (0 or 1) on the current edge interval.
    flat: f64,
    /// Soft comparator: (in the ramp, else the constant output) of the interval before each edge and after the
    /// last ([`Channel::held_intervals`]).
    status: Vec<(bool, f64)>,
}

impl<'a> Channel<'a> {
    fn new(wta: &'a WtaParams, ull: &'a UllParams, track: &DpiTrack, dpi: &DpiParams, t_end: f64) -> Self {
        let (initially_on, raw) = if wta.integrating() {
            track.integrating_crossings(dpi, wta, t_end)
        } else {
            track.crossings(dpi, wta, t_end)
        };
        let (edges, status) = if wta.width_a > 0.0 {
            Self::held_intervals(wta, track, dpi, &Self::soft_edges(wta, track, dpi, t_end), exp_shape_from(wta, dpi))
        } else {
            (wta.delay_edges(&raw, initially_on), Vec::new())
        };
        let x = if initially_on { 1.0 } else { 0.0 };
        Channel {
            wta,
            ull,
            initially_on,
            edges,
            next: 0,
            state: UllState { fast: x, tail: x },
            cache_next: usize::MAX,
            ramp: false,
            flat: 0.0,
            status,
        }
    }
    /// A soft comparator's breakpoints before `t_end`: where the current enters or leaves the ramp, and where its
    /// input piece changes, each seen through both delayed views (onset and release); outside the ramp the output
    /// is exactly 0 or 1.
    fn soft_edges(wta: &WtaParams, track: &DpiTrack, dpi: &DpiParams, t_end: f64) -> Vec<f64> {
        let (lo, hi) = (wta.threshold_a - 0.5 * wta.width_a, wta.threshold_a + 0.5 * wta.width_a);
        let mut e: Vec<f64> = track.level_crossings(dpi, lo, t_end);
        e.extend(track.level_crossings(dpi, hi, t_end));
        e.extend(track.start_s.iter().skip(1).copied());
        let mut e: Vec<f64> =
            e.into_iter().flat_map(|t| [t + wta.delay_on_s, t + wta.delay_off_s]).filter(|&t| t < t_end).collect();
        e.sort_by(f64::total_cmp);
        e.dedup();
        e
    }
    /// The status (in the ramp, else the constant output) of every interval between the soft comparator's edges,
    /// read at its middle, with the edges between two intervals of the same constant output left out (nothing
    /// changes there: the views only change piece or cross a ramp edge where the other one holds the output).
    /// An interval on which one delayed view holds the output at 0 (or 1) counts as outside the ramp, the other
    /// view moving inside it notwithstanding ([`WtaParams::decided_output`]). Returns the edges kept and the
    /// status of the interval before each of them and after the last. Known defect: the last interval's status is
    /// read 0.5 s after the last edge, past the end of the run, so a run that ends inside an excursion takes the
    /// status after it for its last stretch. Reading it at the middle of [last edge, end] leaves the checked-in
    /// calibrations' predictions unchanged but moves the Fig. 17 refit to another optimum (README "Status"), so
    /// it waits for a refit. `shape`: [`exp_shape_from`] (a test compares it with none, the plain bisection).
    fn held_intervals(
        wta: &WtaParams,
        track: &DpiTrack,
        dpi: &DpiParams,
        edges: &[f64],
        shape: (f64, Option<f64>),
    ) -> (Vec<f64>, Vec<(bool, f64)>) {
        let at = |start: f64, end: f64| {
            let tm = 0.5 * (start + end.min(start + 1.0));
            let view = |d: f64| if tm - d < 0.0 { dpi.i_init_a } else { track.value_at(dpi, tm - d) };
            (wta.interval_status(view(wta.delay_on_s), view(wta.delay_off_s)), true)
        };
        let g = |t: f64| {
            let view = |d: f64| if t - d < 0.0 { dpi.i_init_a } else { track.value_at(dpi, t - d) };
            view(wta.delay_on_s) - view(wta.delay_off_s)
        };
        let mut kept = Vec::with_capacity(edges.len());
        let mut status = Vec::with_capacity(edges.len() + 1);
        held_statuses(edges, at, g, shape, &mut kept, &mut status);
        (kept, status)
    }
    fn next_edge(&self) -> f64 {
        self.edges.get(self.next).copied().unwrap_or(f64::INFINITY)
    }
    /// Comparator output on [t0, t1] (hard: constant between edges; soft: the ramp of the onset- and
    /// release-delayed views of the current at the midpoint, see [`WtaParams::soft_output_delayed`]).
    fn output(&self, track: &DpiTrack, dpi: &DpiParams, t0: f64, t1: f64) -> f64 {
        if self.wta.width_a > 0.0 && !self.ramp && self.cache_next == self.next {
            self.flat
        } else if self.wta.width_a > 0.0 {
            let tm = 0.5 * (t0 + t1);
            let view = |d: f64| if tm - d < 0.0 { dpi.i_init_a } else { track.value_at(dpi, tm - d) };
            self.wta.soft_output_delayed(view(self.wta.delay_on_s), view(self.wta.delay_off_s))
        } else {
            let on = self.initially_on ^ (self.next % 2 == 1);
            if on {
                1.0
            } else {
                0.0
            }
        }
    }
    /// Whether the soft comparator is inside its ramp on the current edge interval (the status read inside that
    /// interval when the channel was made, [`Channel::held_intervals`]); caches it with its constant output.
    fn in_ramp(&mut self) -> bool {
        if self.wta.width_a <= 0.0 || self.cache_next == self.next {
            return self.ramp;
        }
        self.cache_next = self.next;
        (self.ramp, self.flat) = self.status[self.next];
        self.ramp
    }
    fn advance(&mut self, out: f64, dt: f64, t1: f64) -> f64 {
        let (s, q) = self.ull.advance(&self.state, out, dt);
        self.state = s;
        while self.next_edge() <= t1 {
            self.next += 1;
        }
        q
    }
}

impl CircuitParams {
    /// All range violations of the parameter set (empty when valid).
    pub fn check(&self) -> Vec<RangeError> {
        let mut errors = Vec::new();
        let mut run = |prefix: &str, f: &dyn Fn(&mut Checker)| {
            let mut c = Checker::new(prefix);
            f(&mut c);
            errors.append(&mut c.errors);
        };
        run("dpi", &|c| self.dpi.check(c));
        run("pot_comparator", &|c| self.pot_comparator.check(c));
        run("dep_comparator", &|c| self.dep_comparator.check(c));
        run("pot_switch", &|c| self.pot_switch.check(c));
        run("dep_switch", &|c| self.dep_switch.check(c));
        run("capacitor", &|c| self.capacitor.check(c));
        run("tag", &|c| self.tag.check(c));
        run("late", &|c| self.late.check(c));
        run("weight", &|c| self.weight.check(c));
        let mut c = Checker::new("top");
        c.positive("max_step_s", self.max_step_s, "s");
        for mut e in c.errors {
            e.key = e.key.trim_start_matches("top.").to_string();
            errors.push(e);
        }
        errors
    }

    /// Every numeric parameter by dotted key (e.g. `dpi.tau_s`), for fits and calibration overlays.
    pub fn fields_mut(&mut self) -> Vec<(String, &mut f64)> {
        let mut out = Vec::new();
        let blocks: Vec<(&str, &mut dyn Fields)> = vec![
            ("dpi", &mut self.dpi),
            ("pot_comparator", &mut self.pot_comparator),
            ("dep_comparator", &mut self.dep_comparator),
            ("pot_switch", &mut self.pot_switch),
            ("dep_switch", &mut self.dep_switch),
            ("capacitor", &mut self.capacitor),
            ("tag", &mut self.tag),
            ("late", &mut self.late),
            ("weight", &mut self.weight),
        ];
        for (prefix, b) in blocks {
            for (k, v) in b.fields_mut() {
                out.push((format!("{prefix}.{k}"), v));
            }
        }
        out.push(("max_step_s".to_string(), &mut self.max_step_s));
        out
    }

    /// Every parameter key, in file order.
    pub fn keys(&self) -> Vec<String> {
        self.clone().fields_mut().into_iter().map(|(k, _)| k).collect()
    }

    /// Read a parameter by dotted key.
    pub fn get(&self, key: &str) -> Option<f64> {
        let mut c = self.clone();
        let v = c.fields_mut().into_iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        v
    }

    /// Set a parameter by dotted key; false if there is no such key.
    pub fn set(&mut self, key: &str, value: f64) -> bool {
        match self.fields_mut().into_iter().find(|(k, _)| k == key) {
            Some((_, v)) => {
                *v = value;
                true
            }
            None => false,
        }
    }

    /// Simulate `duration_s` seconds and sample every `dt_s` (from 0 to duration inclusive).
    pub fn simulate(&self, spikes: &Spikes, duration_s: f64, dt_s: f64) -> CircuitTrace {
        let n = (duration_s / dt_s + 1e-9).floor() as usize;
        let times: Vec<f64> = (0..=n).map(|k| k as f64 * dt_s).collect();
        self.simulate_at(spikes, &times)
    }

    /// Simulate and sample at the given times (sorted ascending, >= 0), e.g. a measurement's own time points.
    ///
    /// Once the stimulus is over (the last DPI piece has started, both comparators have made their last switch
    /// and the switches' transients have died out), the rest is event-driven: the switched currents are
    /// constant, v_h moves linearly (constant recovery, with the stop at V_H0 and the rails; a transconductor
    /// recovery in steps of 1 % of its time constant, [`CircuitParams::quiet_step`]), the tag and protein change
    /// only where v_h crosses their thresholds, and the counter advances in closed form between those events. A
    /// 100 s protocol with 0.2 s of stimulus then costs the stimulus, not 10^6 steps of `max_step_s`.
    pub fn simulate_at(&self, spikes: &Spikes, times: &[f64]) -> CircuitTrace {
        SIMULATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut tr = CircuitTrace::default();
        let t_end = times.last().copied().unwrap_or(0.0);
        self.run(spikes, 0.0, t_end, times, Some(&mut tr), self.max_step_s, true, None);
        tr
    }

    /// As [`CircuitParams::simulate_at`] but stepping the quiet tail with `max_step_s` too (no event jumps): the
    /// reference the event-driven tail is tested and benchmarked against.
    pub fn simulate_at_stepped(&self, spikes: &Spikes, times: &[f64]) -> CircuitTrace {
        let mut tr = CircuitTrace::default();
        let t_end = times.last().copied().unwrap_or(0.0);
        self.run(spikes, 0.0, t_end, times, Some(&mut tr), self.max_step_s, false, None);
        tr
    }

    /// The switched charge of every step of this synapse's own simulation grid over `[t_start, t_end]` (the grid
    /// of [`CircuitParams::simulate`]: steps no longer than `max_step_s`, cut at every switching instant, a step
    /// boundary at `t_start`), as (net charge [C], step length [s]); the calcium and the switches are at their
    /// initial state until the first spike. Replaying them in order through the capacitor, the tag and the late
    /// phase ([`CircuitParams::replay`]) is what `simulate` does step by step, for a synapse at any state. Times
    /// are absolute, as in a simulation that started at 0, so that the round-off of the step lengths is the same.
    pub fn charge_steps(&self, spikes: &Spikes, t_start: f64, t_end: f64) -> Vec<(f64, f64)> {
        let mut grid = Vec::new();
        self.run(spikes, t_start, t_end, &[], None, self.max_step_s, false, Some(&mut grid));
        grid
    }

    /// Replay [`CircuitParams::charge_steps`] on a synapse at (`v`, `late`) with protein `protein`, as
    /// `simulate` advances its slow parts: per step the tag of v_h at the step's start drives the late phase
    /// (`late_on`), then the capacitor integrates the step's charge with recovery and the rail clamp. Returns the
    /// new (v_h, late state).
    pub fn replay(
        &self,
        steps: &[(f64, f64)],
        mut v: f64,
        mut late: LateState,
        protein: f64,
        late_on: bool,
    ) -> (f64, LateState) {
        let cap = &self.capacitor;
        for &(dq, dt) in steps {
            if late_on && protein > 0.0 {
                let tag = self.tag.tag(v - cap.v_h0_v);
                late = self.late.advance(&late, tag, protein, dt);
            }
            v = cap.advance(v, dq, dt);
        }
        (v, late)
    }

    /// Net switched charge over `[0, t_end]` and its running extremes, with the late phase and recovery left out:
    /// the part of a synapse's early-phase change that depends only on its spike trains (used by the network to
    /// share one exact trajectory among all synapses with the same trains).
    pub fn early_charge(&self, spikes: &Spikes, t_end: f64) -> ChargeSummary {
        self.run(spikes, 0.0, t_end, &[], None, f64::INFINITY, false, None)
    }

    /// Apply a shared charge trajectory to a synapse at voltage `v` [V]: exact (no clamp needed) when the
    /// running extremes stay inside the rails, otherwise replayed step by step through the rail clamp.
    pub fn apply_charge(&self, v: f64, q: &ChargeSummary) -> f64 {
        let c = self.capacitor.c_f;
        if self.within_rails(v, q.q_min_c, q.q_max_c) {
            return v + q.q_total_c / c;
        }
        self.walk_steps(v, &q.steps_c)
    }

    /// Whether a trajectory whose running switched charge stays within [`q_min_c`, `q_max_c`] [C] keeps v_h,
    /// starting at `v`, within the rails: then it moves v_h by its total charge, else it is walked step by step
    /// ([`CircuitParams::walk_steps`]).
    pub fn within_rails(&self, v: f64, q_min_c: f64, q_max_c: f64) -> bool {
        let c = self.capacitor.c_f;
        v + q_min_c / c >= 0.0 && v + q_max_c / c <= self.capacitor.v_dd_v
    }

    /// `v` after the steps' charges `steps_c` [C] one by one, clamped to the rails [0, V_DD] after each: what a
    /// trajectory that reaches a rail does to v_h.
    pub fn walk_steps(&self, v: f64, steps_c: &[f64]) -> f64 {
        let (c, vdd) = (self.capacitor.c_f, self.capacitor.v_dd_v);
        steps_c.iter().fold(v, |v, dq| (v + dq / c).clamp(0.0, vdd))
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        spikes: &Spikes,
        t_start: f64,
        t_end: f64,
        times: &[f64],
        mut out: Option<&mut CircuitTrace>,
        max_step: f64,
        event_tail: bool,
        mut grid: Option<&mut Vec<(f64, f64)>>,
    ) -> ChargeSummary {
        let d = &self.dpi;
        let track = DpiTrack::new(d, spikes);
        let horizon = t_end + 1e-12;
        let slow = out.is_some();
        let mut pot = Channel::new(&self.pot_comparator, &self.pot_switch, &track, d, horizon);
        let mut dep = Channel::new(&self.dep_comparator, &self.dep_switch, &track, d, horizon);
        let soft_step = d.tau_s / 100.0;
        let cap = &self.capacitor;
        let mut v = cap.v_init_v;
        let mut late = self.late.init();
        let mut protein = 0.0;
        let mut q = 0.0;
        let mut summary = ChargeSummary::default();
        let mut t = t_start;
        // The current comparator step ends at `cmp_end`, with the two outputs `cmp_out` (see the loop).
        let (mut cmp_end, mut cmp_out) = (t_start, (0.0, 0.0));
        let mut next_sample = 0usize;
        // Start of the quiet tail: after the last input change and the last comparator switch, plus 40 of the
        // switches' slowest time constants (their transients are then below 1e-17 of their swing).
        let slowest = [&self.pot_switch, &self.dep_switch]
            .iter()
            .flat_map(|u| [u.tau_rise_s, u.tau_fall_s, u.tau_tail_s])
            .fold(0.0, f64::max);
        let last_change = [track.start_s.last(), pot.edges.last(), dep.edges.last()]
            .into_iter()
            .flatten()
            .fold(0.0, |a: f64, &b| a.max(b));
        let t_quiet = last_change + 40.0 * slowest;
        let record = |tr: &mut CircuitTrace, t: f64, v: f64, late: &LateState, pot: &Channel, dep: &Channel| {
            tr.t_s.push(t);
            tr.i_ca_a.push(track.value_at(d, t));
            // As the hold node at v receives them (`on_factor_vs_v_h`).
            tr.i_hp_a.push(pot.ull.current_at(&pot.state, v));
            tr.i_hd_a.push(dep.ull.current_at(&dep.state, v));
            tr.v_h_v.push(v);
            tr.z.push(late.z);
            tr.w.push(self.weight.total(v, cap.v_h0_v, late.z));
        };
        loop {
            while next_sample < times.len() && times[next_sample] <= t {
                if let Some(tr) = out.as_deref_mut() {
                    record(tr, times[next_sample], v, &late, &pot, &dep);
                }
                next_sample += 1;
            }
            if t >= t_end {
                break;
            }
            if event_tail
                && slow
                && t >= t_quiet
                && pot.next_edge().is_infinite()
                && dep.next_edge().is_infinite()
                && !pot.in_ramp()
                && !dep.in_ramp()
            {
                let t_next = times.get(next_sample).copied().unwrap_or(t_end).min(t_end);
                let (op, od) = (pot.output(&track, d, t, t), dep.output(&track, d, t, t));
                let i_net = pot.ull.current_at(&pot.state, v) - dep.ull.current_at(&dep.state, v);
                let (t1, v1) = self.quiet_step(v, i_net, protein > 0.0, t, t_next);
                let dt = t1 - t;
                // No threshold is crossed inside the interval, so the midpoint decides the tag and protein (an
                // end point may sit on a threshold up to rounding).
                let vm = 0.5 * (v + v1);
                if protein == 0.0 && (vm - cap.v_h0_v).abs() > self.tag.theta_pro_v {
                    protein = self.tag.alpha;
                }
                late = self.late.advance(&late, self.tag.tag(vm - cap.v_h0_v), protein, dt);
                q += pot.advance(op, dt, t1) - dep.advance(od, dt, t1);
                v = v1;
                t = t1;
                continue;
            }
            if t >= cmp_end {
                // The comparators' next step: to the next edge of either channel, cut into sub-steps of
                // tau_DPI/100 while a soft comparator is in its ramp, with both outputs at its middle. Whether it is
                // in its ramp is the status of the edge interval the step starts in, read at that interval's middle
                // when the channel was made (not at the step's start, where the current may sit on a ramp's edge up
                // to round-off, nor half a sub-step later, which is past the end of an interval shorter than that
                // and gave it the next interval's constant output). This grid and these outputs do not depend on
                // `max_step` or on the sample times, which only cut a comparator step into pieces under the same
                // outputs (the switches' lags compose exactly), so `simulate`, `charge_steps` and `early_charge`
                // integrate one comparator output.
                let mut ce = t_end.min(pot.next_edge()).min(dep.next_edge());
                if pot.in_ramp() || dep.in_ramp() {
                    ce = ce.min(t + soft_step);
                }
                if ce <= t {
                    ce = t_end.min(t + 1e-12);
                }
                cmp_out = (pot.output(&track, d, t, ce), dep.output(&track, d, t, ce));
                cmp_end = ce;
            }
            let mut t1 = cmp_end.min(t + max_step);
            if let Some(&ts) = times.get(next_sample) {
                t1 = t1.min(ts);
            }
            if t1 <= t {
                t1 = cmp_end;
            }
            let dt = t1 - t;
            let (op, od) = cmp_out;
            let qp = pot.advance(op, dt, t1);
            let qd = dep.advance(od, dt, t1);
            let dq = qp - qd;
            q += dq;
            if !slow && dq != 0.0 {
                summary.steps_c.push(dq);
            }
            if let Some(g) = grid.as_deref_mut() {
                g.push((dq, dt));
            }
            summary.q_min_c = summary.q_min_c.min(q);
            summary.q_max_c = summary.q_max_c.max(q);
            if slow {
                let tag = self.tag.tag(v - cap.v_h0_v);
                late = self.late.advance(&late, tag, protein, dt);
                // The hold node receives the switches' charges at its own v_h (`on_factor_vs_v_h`; without
                // tables, `dq` to the bit).
                let dq_v = self.pot_switch.charge_at(qp, dt, v) - self.dep_switch.charge_at(qd, dt, v);
                v = cap.advance(v, dq_v, dt);
                if protein == 0.0 && (v - cap.v_h0_v).abs() > self.tag.theta_pro_v {
                    protein = self.tag.alpha;
                }
            }
            t = t1;
        }
        summary.q_total_c = q;
        summary
    }

    /// One event-driven step of the quiet tail from `(t, v)` with a constant net switched current `i_net`: v_h
    /// moves linearly (switched current plus constant recovery; at V_H0 it stays unless the switched current beats
    /// the recovery current) until the first of `t_next`, its arrival at V_H0, a tag or protein threshold, or a
    /// rail. A transconductor recovery (`v_lin_v > 0`) moves v_h at the slope of the step's middle, over at most
    /// 1 % of its time constant. Returns the time and voltage at that event.
    fn quiet_step(&self, v: f64, i_net: f64, has_protein: bool, t: f64, t_next: f64) -> (f64, f64) {
        let cap = &self.capacitor;
        let v0 = cap.v_h0_v;
        let (up, down) = (cap.accel * cap.i_hrn_a, cap.accel * cap.i_hrp_a);
        // A transconductor recovery changes with v_h: steps of at most 1 % of its time constant C v_lin / i, with
        // the slope at the step's middle (midpoint rule; the closed form is for i_net = 0 only).
        let mut t_next = t_next;
        let transconductor = cap.v_lin_v > 0.0;
        if transconductor && up.max(down) > 0.0 {
            t_next = t_next.min(t + 0.01 * cap.c_f * cap.v_lin_v / up.max(down));
        }
        let leak = cap.leak_current(v);
        if leak != 0.0 {
            // The leakage near the rail: at most 1 % of its own time constant C v_leak / i_leak(v) per step.
            t_next = t_next.min(t + 0.01 * cap.c_f * cap.v_leak_top_v / -leak);
        }
        let slope = if transconductor {
            // When a level below cuts the step short, the slope stays that of the whole capped step: v1 is the
            // level exactly, its time off by a fraction of the step (at most 1 % of the time constant).
            // node_current(v), with the leakage at v computed once above.
            let s0 = (i_net + (cap.recovery_current(v) + leak)) / cap.c_f;
            (i_net + cap.node_current(v + 0.5 * s0 * (t_next - t))) / cap.c_f
        } else if v == v0 {
            if i_net > up {
                (i_net - up) / cap.c_f
            } else if i_net < -down {
                (i_net + down) / cap.c_f
            } else {
                0.0
            }
        } else {
            (i_net + cap.recovery_current(v)) / cap.c_f
        };
        let mut t1 = t_next;
        let mut v1 = None;
        if slope != 0.0 {
            let (tt, tp) = (self.tag.theta_tag_v, self.tag.theta_pro_v);
            let mut levels = vec![v0 + tt, v0 - tt, 0.0, cap.v_dd_v];
            if v != v0 {
                levels.push(v0);
            }
            if !has_protein {
                levels.extend([v0 + tp, v0 - tp]);
            }
            for l in levels {
                let dt = (l - v) / slope;
                if dt > 0.0 && t + dt < t1 {
                    t1 = t + dt;
                    v1 = Some(l);
                }
            }
        }
        let v1 = v1.unwrap_or(v + slope * (t1 - t));
        (t1, v1.clamp(0.0, cap.v_dd_v))
    }

    /// The tag a synapse carries at voltage `v_h`.
    pub fn tag_at(&self, v_h: f64) -> Tag {
        self.tag.tag(v_h - self.capacitor.v_h0_v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;

    /// `view_swap` as it was: the bisection evaluating `g` at every midpoint (the reference the replay must equal).
    fn swap_by_bisection(a: f64, b: f64, g: impl Fn(f64) -> f64) -> Option<f64> {
        let (ga, gb) = (g(a), g(b));
        if ga * gb >= 0.0 || (ga * gb).is_nan() {
            return None;
        }
        let (mut lo, mut hi) = (a, b);
        while hi - lo > 1e-12 {
            let m = 0.5 * (lo + hi);
            if m <= lo || m >= hi {
                break;
            }
            if (g(m) < 0.0) == (ga < 0.0) {
                lo = m;
            } else {
                hi = m;
            }
        }
        let r = 0.5 * (lo + hi);
        (r > a && r < b).then_some(r)
    }

    #[test]
    fn view_swap_replays_the_bisection() {
        use rand::Rng;
        let mut rng = crate::stimulus::rng(11);
        let (mut swaps, mut evaluations, mut bisection_evaluations) = (0, 0, 0);
        for case in 0..1_000_000 {
            // Two delayed views of a linear DPI, each on its piece: i_inf + d0 e^(-(t - d - start) / tau), as
            // `DpiTrack::value_at` and `charge::Track::value_at` compute them. One piece is often a 1 us pulse
            // (i_inf ~ 1e-7 A), the views' asymptotes equal or apart by fA to pA, intervals 1 us to 20 ms.
            let tau = rng.random_range(2e-3..40e-3);
            let a = rng.random_range(0.0..0.35);
            let b = a + 10f64.powf(rng.random_range(-6.0..-1.7));
            let rest = rng.random_range(1e-12..30e-12);
            let piece = |rng: &mut rand_chacha::ChaCha8Rng| {
                let i_inf = match rng.random_range(0..4) {
                    0 => rest,
                    1 => rest + 10f64.powf(rng.random_range(-16.0..-11.0)),
                    2 => rng.random_range(1e-8..3e-7),
                    _ => rng.random_range(1e-12..60e-12),
                };
                let i0 = rng.random_range(1e-12..80e-12);
                (i_inf, i0 - i_inf, a - rng.random_range(0.0..0.03), rng.random_range(0.0..3e-3))
            };
            let (p, q) = (piece(&mut rng), piece(&mut rng));
            let view =
                |(i_inf, d0, start, d): (f64, f64, f64, f64), t: f64| i_inf + d0 * (-(t - d - start) / tau).exp();
            let g = |t: f64| view(p, t) - view(q, t);
            // Now and then a shape with the wrong tau (the Illinois steps must then find the bracket).
            let shape = if case % 7 == 0 { tau * rng.random_range(0.5..2.0) } else { tau };
            let count = std::cell::Cell::new(0);
            let counted = |t: f64| {
                count.set(count.get() + 1);
                g(t)
            };
            let want = swap_by_bisection(a, b, g);
            let got = view_swap(true, a, b, Some(shape), &mut (f64::NAN, 0.0), counted);
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "case {case}: a {a} b {b} {p:?} {q:?}");
            assert_eq!(view_swap(true, a, b, None, &mut (f64::NAN, 0.0), g), want, "case {case}");
            if want.is_some() {
                swaps += 1;
                evaluations += count.get();
                bisection_evaluations += 2 + ((b - a) / 1e-12).log2().ceil() as usize;
            }
        }
        eprintln!(
            "{swaps} swaps: {:.1} evaluations of g per swap, the plain bisection {:.1}",
            evaluations as f64 / swaps as f64,
            bisection_evaluations as f64 / swaps as f64
        );
        // Enough sign changes to mean something, each found with far fewer evaluations than the bisection's.
        assert!(swaps > 10_000, "{swaps}");
        assert!(evaluations * 4 < bisection_evaluations, "{evaluations} vs {bisection_evaluations}");
        // The endpoint memo: a second interval starting where the first ended does not evaluate g there again.
        let g = |t: f64| t - 0.0105;
        let mut memo = (f64::NAN, 0.0);
        assert_eq!(view_swap(true, 0.0, 0.01, Some(1.0), &mut memo, g), None);
        assert_eq!(memo, (0.01, g(0.01)));
        let count = std::cell::Cell::new(0);
        let r = view_swap(true, 0.01, 0.011, None, &mut memo, |t| {
            assert!(t != 0.01, "g(a) was memoised");
            count.set(count.get() + 1);
            g(t)
        });
        assert!((r.unwrap() - 0.0105).abs() < 1e-12, "{r:?}");
    }

    fn network() -> CircuitParams {
        params::load_circuit("thesis-network").unwrap()
    }

    #[test]
    fn held_statuses_find_the_same_swaps_with_the_shape() {
        use rand::Rng;
        let base = crate::cli::train::synapse("mnist-network", None).unwrap().0;
        let mut rng = crate::stimulus::rng(12);
        let (mut swaps, mut channels) = (0usize, 0usize);
        for case in 0..300 {
            // The network's synapse, mismatched as `--mismatch-sigma 0.2` draws it, on random trains.
            let mut p = base.clone();
            if case > 0 {
                for key in crate::network::net::MISMATCH_CURRENTS {
                    let f = (0.2 * rng.sample::<f64, _>(rand_distr::StandardNormal)).exp();
                    let x = p.get(key).unwrap();
                    p.set(key, x * f);
                }
                p.dpi.i_init_a = p.dpi.i_rest();
            }
            let train = |rng: &mut rand_chacha::ChaCha8Rng| {
                let n = rng.random_range(0..12usize);
                let mut v: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..0.3)).collect();
                v.sort_by(f64::total_cmp);
                v
            };
            let spikes = Spikes { pre: train(&mut rng), post: train(&mut rng) };
            let track = DpiTrack::new(&p.dpi, &spikes);
            for wta in [&p.pot_comparator, &p.dep_comparator] {
                let shape = exp_shape_from(wta, &p.dpi);
                assert!(shape.1.is_some());
                let edges = Channel::soft_edges(wta, &track, &p.dpi, 0.35);
                let with = Channel::held_intervals(wta, &track, &p.dpi, &edges, shape);
                let plain = Channel::held_intervals(wta, &track, &p.dpi, &edges, (f64::INFINITY, None));
                let bits = |(e, st): &(Vec<f64>, Vec<(bool, f64)>)| {
                    let e: Vec<u64> = e.iter().map(|x| x.to_bits()).collect();
                    let st: Vec<(bool, u64)> = st.iter().map(|&(r, x)| (r, x.to_bits())).collect();
                    (e, st)
                };
                assert_eq!(bits(&with), bits(&plain), "case {case}: {spikes:?}");
                swaps += with.0.len() - edges.iter().filter(|e| with.0.contains(e)).count();
                channels += 1;
            }
        }
        eprintln!("{channels} channels, {swaps} swap instants, the same with and without the shape");
        assert!(swaps > 100, "{swaps}");
    }

    /// Final v_h after 150 ms of the given trains (40 Hz regular trains when `true`).
    fn dv_after(p: &CircuitParams, pre: bool, post: bool) -> f64 {
        let train: Vec<f64> = (0..6).map(|k| 0.010 + k as f64 * 0.025).collect();
        let post_train: Vec<f64> = train.iter().map(|t| t + 0.001).collect();
        let s = Spikes { pre: if pre { train.clone() } else { vec![] }, post: if post { post_train } else { vec![] } };
        let tr = p.simulate(&s, 0.2, 1e-3);
        tr.v_h_v.last().unwrap() - p.capacitor.v_init_v
    }

    #[test]
    fn thesis_fig14_pairing_potentiates_single_sides_depress_silence_does_nothing() {
        let p = network();
        let both = dv_after(&p, true, true);
        let pre = dv_after(&p, true, false);
        let post = dv_after(&p, false, true);
        let none = dv_after(&p, false, false);
        assert!(both > 1e-3, "pre+post must potentiate: {both}");
        assert!(pre < -1e-3, "pre only must depress: {pre}");
        assert!(post < -1e-3, "post only must depress: {post}");
        assert!(none.abs() < 1e-6, "no spikes: v_h unchanged (only fA recovery at V_H0): {none}");
    }

    #[test]
    fn early_charge_matches_the_full_simulation() {
        let p = network();
        let s = Spikes { pre: vec![0.01, 0.035, 0.06], post: vec![0.011, 0.036] };
        let q = p.early_charge(&s, 0.35);
        let tr = p.simulate(&s, 0.35, 1e-3);
        let dv = tr.v_h_v.last().unwrap() - p.capacitor.v_init_v;
        // Recovery over 0.35 s is at most 80 fA * 0.35 s / C.
        let rec = 80e-15 * 0.35 / p.capacitor.c_f;
        assert!((q.q_total_c / p.capacitor.c_f - dv).abs() <= rec + 1e-9, "{} vs {dv}", q.q_total_c / p.capacitor.c_f);
        assert!(q.q_max_c >= q.q_total_c.max(0.0) && q.q_min_c <= q.q_total_c.min(0.0));
    }

    #[test]
    fn slew_charge_comparator_matches_an_independent_euler_integration_of_its_node() {
        // A non-linear DPI (I_g = 0.4 pA; the sky130 calibration's is 9.4 pA), charges of the sky130 order and
        // beyond, pairings and a burst; the reference integrates the node charge by midpoint Euler on a 0.05 us grid of the calcium,
        // with the clamp, and switches where the node passes charge_on_c.
        let mut p = params::load_circuit("cadence-fig17").unwrap();
        p.dpi.i_g_a = 0.4e-12;
        let trains = [
            Spikes { pre: vec![0.004, 0.030], post: vec![0.002, 0.033] },
            Spikes { pre: vec![0.002, 0.0025, 0.003, 0.0035], post: vec![] },
            Spikes { pre: vec![0.010], post: vec![0.0102] },
        ];
        for w in [(3.7e-15, 0.3e-15), (1e-15, 8e-15), (0.0, 2e-15)] {
            let wta = WtaParams { charge_on_c: w.0, charge_off_c: w.1, ..WtaParams::ideal(40e-12) };
            for s in &trains {
                let track = DpiTrack::new(&p.dpi, s);
                let t_end = 0.06;
                let (on0, edges) = track.integrating_crossings(&p.dpi, &wta, t_end);
                let dt = 0.05e-6;
                let (mut q, mut on) = (0.0, false);
                let mut reference = Vec::new();
                let mut t = 0.0;
                while t < t_end {
                    let i = track.value_at(&p.dpi, t + 0.5 * dt);
                    q = (q + (i - wta.threshold_a) * dt).clamp(0.0, w.0 + w.1);
                    let now = q > w.0;
                    if now != on {
                        reference.push(t + dt);
                        on = now;
                    }
                    t += dt;
                }
                assert!(!on0);
                assert_eq!(edges.len(), reference.len(), "{w:?} {s:?}: {edges:?} vs {reference:?}");
                assert!(!edges.is_empty());
                for (a, b) in edges.iter().zip(&reference) {
                    assert!((a - b).abs() < 0.2e-6, "{w:?} {s:?}: edge {a} vs Euler {b}");
                }
            }
        }
    }

    #[test]
    fn slew_charge_release_is_the_closed_form_integral_and_zero_charges_are_the_ideal_step() {
        // Linear DPI (I_g = 0), one pre spike: the calcium decays as i_inf + d0 e^{-(t - t0)/tau} through the
        // threshold; the release comes when the integral of (threshold - i) from the crossing reaches charge_off_c.
        let mut p = params::load_circuit("cadence-fig17").unwrap();
        p.dpi.i_g_a = 0.0;
        let s = Spikes { pre: vec![0.002], post: vec![] };
        let track = DpiTrack::new(&p.dpi, &s);
        let ideal = WtaParams::ideal(p.dpi.i_init_a * 1.5);
        let (_, raw) = track.crossings(&p.dpi, &ideal, 0.1);
        assert_eq!(raw.len(), 2);
        let zero = WtaParams { charge_on_c: 0.0, charge_off_c: 0.0, ..ideal.clone() };
        assert_eq!(track.integrating_crossings(&p.dpi, &zero, 0.1).1, raw);
        let q_off = 2e-15;
        let w = WtaParams { charge_on_c: 1e-18, charge_off_c: q_off, ..ideal.clone() };
        let (_, e) = track.integrating_crossings(&p.dpi, &w, 0.1);
        assert_eq!(e.len(), 2);
        let k = track.piece(raw[1]);
        let (i0, t0, tau) = (track.i_start_a[k], track.start_s[k], p.dpi.tau_s);
        let i_inf = p.dpi.i_inf(track.i_in_a[k]);
        let g = |t: f64| {
            (ideal.threshold_a - i_inf) * (t - raw[1])
                - (i0 - i_inf) * tau * ((-(raw[1] - t0) / tau).exp() - (-(t - t0) / tau).exp())
        };
        assert!(e[1] > raw[1] && (g(e[1]) - q_off).abs() < 1e-6 * q_off, "release {} after {}", e[1], raw[1]);
        assert!(e[0] > raw[0] && e[0] - raw[0] < 1e-6, "onset {} vs crossing {}", e[0], raw[0]);
    }

    #[test]
    fn comparator_delay_shifts_the_current_onset() {
        let mut p = params::load_circuit("cadence-fig17").unwrap();
        let s = Spikes { pre: vec![0.004], post: vec![0.002] };
        let onset = |p: &CircuitParams| {
            let tr = p.simulate(&s, 0.012, 1e-6);
            let k = tr.i_hp_a.iter().position(|&i| i > 0.5 * p.pot_switch.i_on_a).unwrap();
            tr.t_s[k]
        };
        let t0 = onset(&p);
        p.pot_comparator.delay_on_s = 1.2e-3;
        let t1 = onset(&p);
        assert!((t1 - t0 - 1.2e-3).abs() < 2e-6, "onset moved by {} s", t1 - t0);
    }

    /// A switch current that depends on v_h (`on_factor_vs_v_h`): a constant factor is the same synapse with the
    /// on-current scaled (an independent route: the switch's own current), and a sloped table moves v_h the way
    /// the factor at v_h says (a depression current larger above V_H0 depresses more while v_h is above it).
    #[test]
    fn switch_current_against_v_h_reaches_the_hold_node() {
        let base = params::load_circuit("cadence-fig17").unwrap();
        let s = Spikes { pre: vec![0.004, 0.030, 0.056], post: vec![0.002, 0.028, 0.054] };
        let end = |p: &CircuitParams| *p.simulate(&s, 0.09, 1e-4).v_h_v.last().unwrap();
        let mut table = base.clone();
        table.dep_switch.on_factor_vs_v_h = vec![[0.5, 1.07]];
        table.pot_switch.on_factor_vs_v_h = vec![[0.5, 0.95]];
        let mut scaled = base.clone();
        for (u, f) in [(&mut scaled.dep_switch, 1.07), (&mut scaled.pot_switch, 0.95)] {
            u.i_on_a = u.i_off_a + f * (u.i_on_a - u.i_off_a);
        }
        let (a, b, v0) = (end(&table), end(&scaled), end(&base));
        assert!((a - b).abs() < 1e-12, "table {a} against scaled currents {b}");
        assert!((a - v0).abs() > 1e-3, "the factors change v_h: {a} against {v0}");
        // The trace carries the current the node receives.
        let tr = table.simulate(&s, 0.09, 1e-4);
        let peak = tr.i_hd_a.iter().cloned().fold(0.0, f64::max);
        assert!(
            (peak - (base.dep_switch.i_off_a + 1.07 * (base.dep_switch.i_on_a - base.dep_switch.i_off_a))).abs()
                < 1e-3 * peak
        );
        // A depression current that grows with v_h against one held at its factor at the start: less depression
        // where v_h falls below the start (this protocol depresses), more where it rises.
        let mut up = base.clone();
        up.dep_switch.on_factor_vs_v_h = vec![[0.0, 1.0], [1.8, 1.0 + 1.8 * 0.5]];
        let mut flat = base.clone();
        flat.dep_switch.on_factor_vs_v_h = vec![[0.0, 1.0 + base.capacitor.v_init_v * 0.5]];
        let (vu, vf) = (end(&up), end(&flat));
        assert!((vu - vf).abs() > 1e-5, "{vu} {vf}");
        assert_eq!(vu > vf, end(&base) < base.capacitor.v_init_v, "{vu} {vf}");
    }

    #[test]
    fn ull_tail_sets_the_current_decay() {
        let mut p = params::load_circuit("cadence-fig17").unwrap();
        p.pot_switch.tau_fall_s = 0.5e-3;
        p.pot_switch.tau_rise_s = 0.0;
        let s = Spikes { pre: vec![0.004], post: vec![0.002] };
        let tr = p.simulate(&s, 0.02, 1e-6);
        let peak = tr.i_hp_a.iter().cloned().fold(0.0, f64::max);
        let k_off = tr.i_hp_a.iter().rposition(|&i| i >= peak * 0.999999).unwrap();
        let k_tau = tr.t_s.iter().position(|&t| t >= tr.t_s[k_off] + 0.5e-3).unwrap();
        let ratio = (tr.i_hp_a[k_tau] - p.pot_switch.i_off_a) / (peak - p.pot_switch.i_off_a);
        assert!((ratio - (-1.0f64).exp()).abs() < 5e-3, "after one tau: {ratio}");
    }

    #[test]
    fn recovery_is_linear_in_the_circuit_model() {
        let mut p = network();
        p.capacitor.v_init_v = 1.0;
        p.capacitor.accel = 1000.0;
        let tr = p.simulate(&Spikes::default(), 1.0, 0.01);
        let slope = -1000.0 * p.capacitor.i_hrn_a / p.capacitor.c_f;
        let k = tr.v_h_v.iter().position(|&v| v <= p.capacitor.v_h0_v + 1e-12).unwrap();
        // Straight line until V_H0, then flat.
        for j in 1..k.saturating_sub(1) {
            assert!(((tr.v_h_v[j] - 1.0) - slope * tr.t_s[j]).abs() < 1e-9);
        }
        assert!(tr.v_h_v[k..].iter().all(|&v| (v - p.capacitor.v_h0_v).abs() < 1e-12));
    }

    #[test]
    fn strong_pairing_sets_the_tag_and_the_late_phase_consolidates() {
        let mut p = network();
        p.late.accel = 32.0;
        // 0.2 s of paired 100 Hz trains, then 60 s of rest (thesis Fig. 11 protocol).
        let pre: Vec<f64> = (0..20).map(|k| k as f64 * 0.01).collect();
        let post: Vec<f64> = pre.iter().map(|t| t + 0.001).collect();
        let tr = p.simulate(&Spikes { pre, post }, 60.0, 0.05);
        let vmax = tr.v_h_v.iter().cloned().fold(0.0, f64::max);
        assert!(vmax - p.capacitor.v_h0_v > p.tag.theta_tag_v, "early-phase change above the tag threshold");
        assert!(*tr.z.last().unwrap() > 0.05, "late phase consolidated: z = {}", tr.z.last().unwrap());
        // A change below the tag threshold is not consolidated, even with protein available.
        p.tag.theta_pro_v = 1e-3;
        let tr = p.simulate(&Spikes { pre: vec![0.01], post: vec![] }, 10.0, 0.05);
        let dv = tr.v_h_v.iter().map(|v| (v - p.capacitor.v_h0_v).abs()).fold(0.0, f64::max);
        assert!(dv > 1e-3 && dv < p.tag.theta_tag_v, "a single pre spike depresses a little: {dv}");
        assert_eq!(*tr.z.last().unwrap(), tr.z[0]);
    }

    /// The Fig. 11(b) protocol: 0.2 s of regular 100 Hz pre and post (post 1 ms after pre), then silence.
    fn fig11_spikes() -> Spikes {
        let pre: Vec<f64> = (0..20).map(|k| k as f64 * 0.01).collect();
        let post = pre.iter().map(|t| t + 0.001).collect();
        Spikes { pre, post }
    }

    #[test]
    fn event_driven_tail_matches_an_independent_forward_euler() {
        // No spikes: v_h starts 100 mV above V_H0 and recovers linearly; the tag is up until v_h - V_H0 falls to
        // theta_tag; protein is on from the start (theta_pro 50 mV); the 8-bit soft-bound counter climbs meanwhile.
        let mut p = network();
        p.capacitor.v_init_v = p.capacitor.v_h0_v + 0.1;
        p.capacitor.c_f = 12.2e-12;
        p.capacitor.i_hrn_a = 2.5e-15;
        p.capacitor.accel = 32.0;
        p.late.accel = 32.0;
        p.late.bits = 8;
        p.tag.theta_pro_v = 0.05;
        let times: Vec<f64> = (0..=50).map(|k| k as f64 * 2.0).collect();
        let fast = p.simulate_at(&Spikes::default(), &times);
        // Independent reference: forward Euler of C dv/dt = -accel i_hrn (v > V_H0), the tag rule, and the
        // counter's oscillator f = p (z_max - z) / (tau_z/accel dz) as a phase accumulator, on 10 us steps.
        let (c, v0, tt) = (p.capacitor.c_f, p.capacitor.v_h0_v, p.tag.theta_tag_v);
        let (bits, tau) = (8u32, p.late.tau_z_s / p.late.accel);
        let n_max = (1u32 << bits) - 1;
        let dz = (p.late.z_max - p.late.z_min) / n_max as f64;
        let mut count = ((p.late.z_init - p.late.z_min) / dz).round() as u32;
        let (mut v, mut phase, h) = (p.capacitor.v_init_v, 0.0, 1e-5);
        let mut k = 0;
        let mut ref_v = Vec::new();
        let mut ref_z = Vec::new();
        for step in 0..=10_000_000u64 {
            let t = step as f64 * h;
            if k < times.len() && t >= times[k] - 1e-12 {
                ref_v.push(v);
                ref_z.push(p.late.z_min + dz * count as f64);
                k += 1;
            }
            if v - v0 > tt {
                let z = p.late.z_min + dz * count as f64;
                phase += (p.late.z_max - z) / (tau * dz) * h;
                if phase >= 1.0 {
                    phase -= 1.0;
                    count = (count + 1).min(n_max);
                }
            }
            if v > v0 {
                v = (v - p.capacitor.accel * p.capacitor.i_hrn_a / c * h).max(v0);
            }
        }
        for j in 0..times.len() {
            assert!((fast.v_h_v[j] - ref_v[j]).abs() < 1e-6, "t = {}: v_h {} vs {}", times[j], fast.v_h_v[j], ref_v[j]);
            assert!((fast.z[j] - ref_z[j]).abs() <= dz * 1.01, "t = {}: z {} vs {}", times[j], fast.z[j], ref_z[j]);
        }
        // The late phase did something: several counts up, then frozen once the tag is gone.
        assert!(fast.z.last().unwrap() - fast.z[0] > 10.0 * dz);
        // Closed form of the linear recovery at t = 4 s.
        let slope = p.capacitor.accel * p.capacitor.i_hrn_a / c;
        assert!((fast.v_h_v[2] - (v0 + 0.1 - slope * 4.0)).abs() < 1e-12);
    }

    /// The Fig. 17 calibration with the Fig. 11 acceleration (recovery and late phase x32) and a protein threshold
    /// the Fig. 11 protocol passes: the event-driven tail's test set-up.
    fn fig11_tail_params() -> CircuitParams {
        let mut p = params::load_circuit("fits/cadence-fig17.yaml").unwrap();
        p.capacitor.accel = 32.0;
        p.late.accel = 32.0;
        p.tag.theta_pro_v = 0.005;
        p
    }

    #[test]
    fn event_driven_tail_matches_the_stepped_simulation_on_the_fig11_protocol() {
        let p = fig11_tail_params();
        let times: Vec<f64> = (0..=200).map(|k| k as f64 * 0.5).collect();
        let s = fig11_spikes();
        let fast = p.simulate_at(&s, &times);
        let stepped = p.simulate_at_stepped(&s, &times);
        let dz = p.late.step();
        let vmax = fast.v_h_v.iter().cloned().fold(0.0, f64::max);
        assert!(vmax - p.capacitor.v_h0_v > p.tag.theta_tag_v, "the protocol tags the synapse");
        assert!(fast.z.last().unwrap() - fast.z[0] > 10.0 * dz, "and consolidates");
        for (j, t) in times.iter().enumerate() {
            // The stepped path decides the tag on 0.1 ms steps: v_h agrees to round-off, z to one count.
            assert!((fast.v_h_v[j] - stepped.v_h_v[j]).abs() < 1e-9, "t = {t}");
            assert!((fast.z[j] - stepped.z[j]).abs() <= dz * 1.01, "t = {t}: {} vs {}", fast.z[j], stepped.z[j]);
        }
    }

    /// The same with a transconductor recovery (`v_lin_v` 70 mV): the event-driven tail takes steps of 1 % of the
    /// recovery's time constant with a midpoint slope; the stepped simulation (0.1 ms explicit steps of
    /// `CapacitorParams::advance`) is the reference. After the stimulus v_h relaxes as the closed form
    /// sinh((v_h - V_H0) / v_lin) ~ e^(-t / tau) while the switches are off.
    #[test]
    fn event_driven_tail_follows_a_transconductor_recovery() {
        let mut p = fig11_tail_params();
        p.capacitor.v_lin_v = 0.07;
        let times: Vec<f64> = (0..=200).map(|k| k as f64 * 0.5).collect();
        // Potentiated by the Fig. 11 protocol (above V_H0, i_hrn), and from 100 mV below V_H0 without spikes with
        // i_hrp a third of i_hrn (below, i_hrp).
        let below = {
            let mut q = p.clone();
            q.capacitor.v_init_v = 0.8;
            q.capacitor.i_hrp_a = q.capacitor.i_hrn_a / 3.0;
            q
        };
        for (p, s) in [(p.clone(), fig11_spikes()), (below, Spikes { pre: vec![], post: vec![] })] {
            tail_against_stepped_and_closed_form(&p, &s, &times);
        }
    }

    /// A hold node close to sky130's (`scripts/fit-sky130` measures it: 66.8 mV, 4.6 mV, 54.9 / 57.5 fA, 2.20 pA,
    /// 27.5 mV; the test keeps an earlier measurement's values): a transconductor recovery with an offset and
    /// the leakage near V_DD, from 1.75 V without spikes: the event-driven tail (steps of 1 % of the leakage's time
    /// constant near the rail) against the stepped simulation, and v_h falls through the leakage's range into the
    /// recovery's.
    #[test]
    fn event_driven_tail_follows_the_leakage_near_the_rail() {
        let mut p = fig11_tail_params();
        let cap = &mut p.capacitor;
        (cap.v_lin_v, cap.v_rec_offset_v, cap.i_hrp_a, cap.i_hrn_a) = (0.068, 0.0048, 55e-15, 62e-15);
        (cap.i_leak_top_a, cap.v_leak_top_v, cap.v_init_v, cap.accel) = (2.16e-12, 0.0276, 1.75, 1.0);
        let times: Vec<f64> = (0..=200).map(|k| k as f64 * 0.05).collect();
        let none = Spikes { pre: vec![], post: vec![] };
        let (fast, stepped) = (p.simulate_at(&none, &times), p.simulate_at_stepped(&none, &times));
        let worst = fast.v_h_v.iter().zip(&stepped.v_h_v).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        println!("leak tail vs stepped {worst:.2e} V; v_h {} -> {} V", fast.v_h_v[0], fast.v_h_v[200]);
        // 2.0e-6 V with the leakage's step cap, 1.5e-5 V without it (steps then capped by the recovery's time
        // constant).
        assert!(worst < 5e-6, "{worst}");
        // The leakage dominates at first: over the first 0.5 s v_h falls by more than three times what the
        // recovery alone (at most i_hrn) would take.
        let recovery_only = 62e-15 * 0.5 / p.capacitor.c_f;
        assert!(1.75 - fast.v_h_v[10] > 3.0 * recovery_only, "{} vs {recovery_only}", 1.75 - fast.v_h_v[10]);
    }

    fn tail_against_stepped_and_closed_form(p: &CircuitParams, s: &Spikes, times: &[f64]) {
        let fast = p.simulate_at(s, times);
        let stepped = p.simulate_at_stepped(s, times);
        let cap = &p.capacitor;
        let dz = p.late.step();
        let (mut worst, mut moved) = (0.0f64, 0.0f64);
        for (j, t) in times.iter().enumerate() {
            worst = worst.max((fast.v_h_v[j] - stepped.v_h_v[j]).abs());
            moved = moved.max((fast.v_h_v[j] - cap.v_h0_v).abs());
            assert!(
                (fast.v_h_v[j] - stepped.v_h_v[j]).abs() < 2e-5,
                "t = {t}: {} vs {}",
                fast.v_h_v[j],
                stepped.v_h_v[j]
            );
            assert!((fast.z[j] - stepped.z[j]).abs() <= dz * 1.01, "t = {t}: z {} vs {}", fast.z[j], stepped.z[j]);
        }
        assert!(moved > 0.05, "the protocol moves v_h ({moved} V)");
        // Past the stimulus (0.2 s) the tail relaxes as the closed form, from the value at 20 s to 30 s.
        let (a, b) = (40, 60);
        let (u_a, u_b) = ((fast.v_h_v[a] - cap.v_h0_v) / cap.v_lin_v, (fast.v_h_v[b] - cap.v_h0_v) / cap.v_lin_v);
        let i = if u_a > 0.0 { cap.i_hrn_a } else { cap.i_hrp_a };
        let tau = cap.c_f * cap.v_lin_v / (cap.accel * i);
        let expected = u_a.sinh() * (-(times[b] - times[a]) / tau).exp();
        println!("tail vs stepped {worst:.2e} V; sinh(u) at 30 s {} against {expected} (tau {tau:.3} s)", u_b.sinh());
        assert!(
            u_a.abs() > 0.1 && (u_b.sinh() - expected).abs() < 1e-4 * expected.abs(),
            "{} vs {expected}",
            u_b.sinh()
        );
    }

    /// Independent brute-force reference of the switched charge: the DPI's ODE `tau (1 + I_g/i) di/dt =
    /// -(i - (gain i_in - I_g))` by RK4 on a 0.1 us grid (split at every input-pulse edge), the calcium between grid
    /// points by linear interpolation; the comparators' soft ramps of both delayed views evaluated at the middle
    /// of every 0.2 us step; the switches' two lags advanced exactly over each step under that output. No function
    /// of the simulation is used, only the parameters. Returns the potentiation and depression charges [C].
    fn midpoint_reference(p: &CircuitParams, s: &Spikes, t_end: f64) -> (f64, f64) {
        midpoint_reference_dt(p, s, t_end, 0.2e-6)
    }
    fn midpoint_reference_dt(p: &CircuitParams, s: &Spikes, t_end: f64, dt: f64) -> (f64, f64) {
        let d = &p.dpi;
        let gain = d.i_th_a / d.i_tau_a;
        let (ap, aq) =
            (d.jump_pre_a * d.tau_s / (gain * d.pulse_pre_s), d.jump_post_a * d.tau_s / (gain * d.pulse_post_s));
        let mut inputs: Vec<(f64, f64)> = Vec::new();
        for &t in &s.pre {
            inputs.push((t + d.delay_pre_s, ap));
            inputs.push((t + d.delay_pre_s + d.pulse_pre_s, -ap));
        }
        for &t in &s.post {
            inputs.push((t, aq));
            inputs.push((t + d.pulse_post_s, -aq));
        }
        inputs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let f = |i: f64, i_in: f64| -(i - (gain * i_in - d.i_g_a)) / (d.tau_s * (1.0 + d.i_g_a / i));
        let rk4 = |i: f64, i_in: f64, h: f64| {
            let k1 = f(i, i_in);
            let k2 = f(i + 0.5 * h * k1, i_in);
            let k3 = f(i + 0.5 * h * k2, i_in);
            let k4 = f(i + h * k3, i_in);
            i + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        };
        let h = 0.1e-6;
        let n = (t_end / h).ceil() as usize + 1;
        let mut ca = Vec::with_capacity(n + 1);
        let (mut i, mut i_in, mut next) = (d.i_init_a, d.i_indc_a, 0);
        ca.push(i);
        for k in 0..n {
            let (mut t, t1) = (k as f64 * h, (k + 1) as f64 * h);
            while next < inputs.len() && inputs[next].0 < t1 {
                let te = inputs[next].0.max(t);
                i = rk4(i, i_in, te - t);
                i_in += inputs[next].1;
                t = te;
                next += 1;
            }
            i = rk4(i, i_in, t1 - t);
            ca.push(i);
        }
        let at = |t: f64| {
            if t < 0.0 {
                return d.i_init_a;
            }
            let x = t / h;
            let k = x.floor() as usize;
            ca[k] + (ca[k + 1] - ca[k]) * (x - k as f64)
        };
        let output = |w: &WtaParams, tm: f64| {
            let ramp = |i: f64| ((i - w.threshold_a) / w.width_a + 0.5).clamp(0.0, 1.0);
            let (a, b) = (ramp(at(tm - w.delay_on_s)), ramp(at(tm - w.delay_off_s)));
            if w.delay_off_s <= w.delay_on_s {
                a.min(b)
            } else {
                a.max(b)
            }
        };
        let lag = |x: f64, o: f64, dt: f64, tau: f64| {
            if tau <= 0.0 {
                return (o, o * dt);
            }
            let e = (-dt / tau).exp();
            (o + (x - o) * e, o * dt + (x - o) * tau * (1.0 - e))
        };
        let steps = (t_end / dt).round() as usize;
        let mut q = [0.0; 2];
        for (c, (w, u)) in
            [(&p.pot_comparator, &p.pot_switch), (&p.dep_comparator, &p.dep_switch)].into_iter().enumerate()
        {
            assert!(w.width_a > 0.0 && w.hysteresis_a == 0.0 && !w.integrating());
            let x0 = if d.i_init_a > w.threshold_a { 1.0 } else { 0.0 };
            let (mut fast, mut tail) = (x0, x0);
            for k in 0..steps {
                let o = output(w, (k as f64 + 0.5) * dt);
                let (f1, int_f) = lag(fast, o, dt, if o >= fast { u.tau_rise_s } else { u.tau_fall_s });
                let (t1, int_t) = lag(tail, o, dt, if o >= tail { u.tau_rise_s } else { u.tau_tail_s });
                q[c] += u.i_off_a * dt
                    + (u.i_on_a - u.i_off_a) * ((1.0 - u.tail_fraction) * int_f + u.tail_fraction * int_t);
                (fast, tail) = (f1, t1);
            }
        }
        (q[0], q[1])
    }

    #[test]
    fn soft_comparator_charge_matches_an_independent_midpoint_integration() {
        // Six pre spikes at 40 Hz, each paired with a post spike at a lag: causal, anti-causal, coincident and lags
        // that put two edges of a comparator's interval list within tau_DPI/200 of each other (the ramp status of
        // such an interval was read past its end). `simulate` (v_h with recovery off and a capacitor large enough
        // never to reach a rail), `early_charge` and the reference must agree on the net switched charge, relative
        // to the gross charge (potentiation plus depression: the net is near zero at some lags). Three synapses:
        // the Cadence calibration, the network's, and the network's with each comparator's onset and release
        // delays swapped (release later than onset: the output is the max of the two views' ramps, not the min).
        let (network, _) = crate::cli::train::synapse("mnist-network", None).unwrap();
        let cadence = params::load_circuit("fits/cadence.yaml").unwrap();
        let mut swapped = network.clone();
        for w in [&mut swapped.pot_comparator, &mut swapped.dep_comparator] {
            std::mem::swap(&mut w.delay_on_s, &mut w.delay_off_s);
        }
        assert!(swapped.pot_comparator.delay_off_s > swapped.pot_comparator.delay_on_s);
        let mut shortest = f64::INFINITY;
        let mut worst = (0.0f64, 0.0f64);
        for (name, base) in [("cadence", cadence), ("network", network), ("network, delays swapped", swapped)] {
            let mut p = base;
            p.capacitor.i_hrp_a = 0.0;
            p.capacitor.i_hrn_a = 0.0;
            p.capacitor.c_f *= 100.0;
            let lags = [-10e-3, -1e-3, -0.1e-3, 0.0, 3e-6, 10e-6, 50e-6, 0.2e-3, 0.98e-3, 1e-3, 2e-3, 5e-3, 10e-3];
            // A run cut inside an excursion (t_end 1 ms after the last pre spike) is not checked here: the last
            // interval's status is read past the end (known defect, `Channel::held_intervals`).
            let t_end = 0.2;
            for lag in lags {
                let pre: Vec<f64> = (0..6).map(|k| 0.010 + k as f64 * 0.025).collect();
                let post = pre.iter().map(|t| t + lag).collect();
                let s = Spikes { pre, post };
                let track = DpiTrack::new(&p.dpi, &s);
                for (w, u) in [(&p.pot_comparator, &p.pot_switch), (&p.dep_comparator, &p.dep_switch)] {
                    // The shortest interval that the next one's different status follows (the kind the old rule
                    // read past).
                    let ch = Channel::new(w, u, &track, &p.dpi, t_end);
                    let key = |k: usize| (ch.status[k].0, ch.status[k].1.to_bits());
                    let short = (1..ch.edges.len())
                        .filter(|&k| key(k) != key(k + 1))
                        .map(|k| ch.edges[k] - ch.edges[k - 1])
                        .fold(f64::INFINITY, f64::min);
                    shortest = shortest.min(short / p.dpi.tau_s);
                }
                let (qp, qd) = midpoint_reference(&p, &s, t_end);
                let q_ref = qp - qd;
                let gross = qp + qd;
                let tr = p.simulate(&s, t_end, t_end);
                let q_sim = (tr.v_h_v.last().unwrap() - p.capacitor.v_init_v) * p.capacitor.c_f;
                let q_early = p.early_charge(&s, t_end).q_total_c;
                let (e_sim, e_early) = ((q_sim - q_ref).abs() / gross, (q_sim - q_early).abs() / gross);
                println!(
                    "{name} lag {:+.3} ms: net {:.6e} C (gross {:.4e}); simulate - reference {:.2e}, simulate - early_charge {:.2e}, early_charge - reference {:.2e} of gross; net rel {:.2e}",
                    lag * 1e3,
                    q_ref,
                    gross,
                    e_sim,
                    e_early,
                    (q_early - q_ref).abs() / gross,
                    (q_sim - q_ref).abs() / q_ref.abs()
                );
                worst = (worst.0.max(e_sim), worst.1.max(e_early));
            }
        }
        println!("shortest edge interval {shortest:.3e} tau; worst simulate - reference {:.2e}, simulate - early_charge {:.2e}", worst.0, worst.1);
        assert!(shortest < 0.005, "no lag gives an interval shorter than tau/200 before another status: {shortest}");
        // Measured: at most 7.6e-4 of the gross charge with the network's synapse (lags -10 and +10 ms) and 8.9e-4
        // with fits/cadence.yaml (+2 ms); the other lags below 6e-5. It is the ramp sub-steps' own error and it is
        // first order in their length: tau_DPI/200 gives 4.3e-4 and 4.8e-4, tau_DPI/400 1.6e-4 and 1.7e-4 at the
        // same lags. With the switches' rise, fall and tail time constants made equal it is second order and
        // small (worst 3.6e-5 at tau_DPI/100, 1.1e-5 at /200): what carries it is the lag changing its time
        // constant (rise while the output is above the state, fall or tail below) where the output crosses the
        // state inside a sub-step, which no edge marks. Left as it is (below 1e-3 of the gross charge); the bound
        // still fails on the status bug this test was written for (simulate - reference 6.3e-3 with the
        // network's synapse, 3.4e-3 with fits/cadence.yaml, before the fix).
        assert!(worst.0 < 1.5e-3, "simulate vs reference {}", worst.0);
        assert!(worst.1 < 1e-9, "simulate vs early_charge {}", worst.1);
    }
}
