//! [`CircuitParams::early_charge`] without allocation, for the per-synapse (device mismatch) path of the network,
//! where every synapse computes its own trajectory every sample.
//!
//! It is the same computation, operation for operation, so its results are bit-identical to `early_charge` (unit
//! tests below and `tests/network.rs` check that): the same DPI pieces (the spike edges merged by a stable sort, the
//! same exact `evolve` per piece), the same comparator edges and ramp sub-steps, the same midpoint evaluations, the
//! same ULL lags. What differs is bookkeeping only:
//! - every buffer lives in a reusable [`ChargeScratch`] (no allocation per trajectory, no clone of the trains);
//! - the equilibrium current of each DPI piece is computed once per piece instead of once per evaluation (the
//!   same expression, hence the same bits);
//! - the piece containing a time is found by walking from the last one used (times advance step by step) instead
//!   of a binary search (the same piece);
//! - a soft comparator's raw hysteretic crossings, which only a hard comparator uses, are not computed;
//! - a ULL lag whose state already equals its input is left as is: `o + 0 e = o`, `o dt + 0 = o dt` exactly;
//! - a ULL lag's exponential is reused while the step length is the same to the bit (the ramp sub-steps; the last
//!   four lengths per time constant);
//! - of a soft comparator's two delayed views, one at the value that decides the min (or max) alone is enough;
//! - a soft comparator's interval statuses, and its ramp where a view is outside it, use a view only through its
//!   side of the ramp's ends (clamped to 0 or 1 outside, "inside" inside), which each DPI piece's crossings of
//!   those ends tell without the exponential (`Track::view_class`; near a crossing, or where the piece moves too
//!   slowly for the side to be certain by far more than round-off, the view is computed); and no swap of the two
//!   views is looked for in an interval where one of them stays outside the ramp (neither crosses an end between
//!   edges, so the other one cannot reach it);
//! - the linear DPI's (`I_g = 0`) `evolve` is written out inline (the same operations), and a current read twice
//!   at the same time (two views whose delays coincide, e.g. both comparators' undelayed views with ideal blocks)
//!   is computed once.
//!
//! # The soft comparator's step pattern (speed branch)
//!
//! The soft comparator's step pattern changed on this branch, in `Channel` (every run of the circuit) and in `Chan`
//! here:
//! 1. *Held intervals are one step.* Between two edges of a channel neither delayed view crosses an edge of the
//!    ramp, so a view at 0 holds the min of the two (at 1 the max) for the whole interval
//!    ([`crate::blocks::wta::WtaParams::decided_output`]). Such an interval used to count as "in the ramp" (the
//!    other view inside it) and was cut into tau_DPI/100 sub-steps whose midpoint outputs all evaluated to that
//!    same constant; it is now one step, as outside the ramp. Under a constant output the switches' lags are exact
//!    exponentials that keep their time constant (the state never crosses the output), so the charge is the same
//!    up to the round-off of composing exponentials. With the onset delays of the calibration (about 2 ms, while a
//!    pre spike keeps the calcium in a ramp for about 3 ms) most former sub-steps were of this kind: the network's
//!    trajectories take about half as many steps.
//! 2. *The status is read inside its interval.* It was read at the middle of [t + tau_DPI/200, next edge]: for an
//!    interval shorter than tau_DPI/200 that point is past the edge, and the interval took the next one's status;
//!    when that was "outside the ramp" the step got the next interval's constant output instead of its own
//!    midpoint value. The old pattern hid most of it (a channel's status was not refreshed while the other one was
//!    in its ramp), but change 1 exposes it, so the status is now read inside the interval (at its middle).
//!    Against a brute-force midpoint integration with 0.2 us steps (`early_charge`'s model without edges or
//!    status: both soft outputs at the middle of every step), 12 regular pre and 12 regular post spikes in 0.35 s
//!    give a relative charge error of 4.0e-2 with the old rule and 5.2e-5 with the new one; 8 pre and 3 post
//!    spikes 5.4e-4 and 3.9e-5; pre spikes alone are unchanged (3.6e-3 and 2.7e-3, the sub-steps' own error).
//!    The simulation's grid (`simulate`, `charge_steps`, the network's exact mode) now uses the same statuses
//!    (merge of the speed branch with main, below).
//! 3. *Consecutive intervals of the same constant output are one.* The statuses of all intervals are read when the
//!    channel is made, at the middle of each interval between its edges (`Chan::held_intervals`,
//!    `Channel::held_intervals`), and an edge between two intervals of the same constant output is dropped: the
//!    output does not change there, so it need not end a step. Its only effect is where the other channel's ramp
//!    sub-steps start (they are no longer cut at that edge), within the sub-steps' own error: against the same
//!    reference, 3.4e-5 (8 pre, 3 post) and 4.7e-5 (12 and 12).
//!
//! 4. *The instant where the two delayed views swap order is an edge* (`circuit::view_swap`). Inside a ramp
//!    interval the output is the ramp of the smaller (larger) view, with a kink where the views cross; a midpoint
//!    evaluation over a step containing it is first-order only: with `fits/cadence.yaml` a pairing at +5 ms was
//!    off by 2e-2 of the potentiation charge (a 32 us interval, one step, both views in the ramp).
//!
//! The changes make `early_charge` differ from what it was (the steps in `steps_c` and the running extremes too:
//! fewer steps); `early_charge_in` follows it operation for operation, so the two stay bit-identical.
//!
//! **One model.** `simulate` and `charge_steps` use the same channels (statuses, dropped edges, swap instants) and
//! the same comparator steps: from edge to edge, cut into tau_DPI/100 sub-steps while a soft comparator is in its
//! ramp, outputs at the middle of each. `max_step_s` and the sample times only cut a comparator step into pieces
//! under the same outputs, so the three integrate one comparator output and agree to round-off of composing the
//! lags (`synapse::circuit` test against an independent 0.2 us midpoint integration: 1e-11 of the gross charge
//! between them, and against the reference at most 7.6e-4 with the network's synapse and 8.9e-4 with
//! `fits/cadence.yaml` over pairings from -10 to +10 ms: first order in the sub-step, from the switches' lags
//! changing time constant inside a sub-step; see that test).

use super::circuit::{held_statuses, ChargeSummary, CircuitParams};
use super::Spikes;
use crate::blocks::dpi::{self, DpiParams};
use crate::blocks::ull::{UllParams, UllState};
use crate::blocks::wta::WtaParams;

/// Reusable buffers of [`CircuitParams::early_charge_in`]: one per thread.
#[derive(Clone, Debug, Default)]
pub struct ChargeScratch {
    edges: Vec<(f64, f64)>,
    start: Vec<f64>,
    i0: Vec<f64>,
    i_in: Vec<f64>,
    i_inf: Vec<f64>,
    d0: Vec<f64>,
    pot_edges: Vec<f64>,
    dep_edges: Vec<f64>,
    pot_status: Vec<(bool, f64)>,
    dep_status: Vec<(bool, f64)>,
    held: Vec<f64>,
    bounds: Vec<(f64, f64)>,
    pot_sides: Vec<[PieceSide; 2]>,
    dep_sides: Vec<[PieceSide; 2]>,
    crossings: Vec<[f64; 2]>,
    /// Scratch of [`Chan::edges`]: the ramp ends' crossings, and those merged with the piece starts.
    ends: Vec<f64>,
    base: Vec<f64>,
    /// Net charge of every step with a non-zero charge, in order [C] (as [`ChargeSummary::steps_c`]).
    pub steps_c: Vec<f64>,
}

/// Net switched charge of one trajectory and its running extremes (the scalar part of [`ChargeSummary`]; the
/// steps are in [`ChargeScratch::steps_c`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChargeTotals {
    /// integral of (i_hp - i_hd) over the window [C].
    pub q_total_c: f64,
    /// Lowest running value of that integral [C] (<= 0).
    pub q_min_c: f64,
    /// Highest running value [C] (>= 0).
    pub q_max_c: f64,
}

/// The DPI's exact piecewise solution, borrowed from the scratch buffers.
struct Track<'a> {
    p: &'a DpiParams,
    start: &'a [f64],
    i0: &'a [f64],
    i_inf: &'a [f64],
    /// `i0 - i_inf` of every piece (the first operation of `dpi::evolve`, the same bits).
    d0: &'a [f64],
    /// The linear DPI (`I_g = 0`): `dpi::evolve` is then `i_inf + d0 e^(-t / tau)`, evaluated here inline.
    linear: bool,
    /// The last (time, value) of [`Track::value_at`]: two views with the same delay (e.g. both comparators'
    /// release views at delay 0 with ideal blocks) read the same time when both are in their ramps.
    last: std::cell::Cell<(f64, f64)>,
    /// Linear DPI: every piece's range of values, widened by far more than the round-off of `value_at`
    /// ([`Track::side`]); empty otherwise.
    bounds: &'a [(f64, f64)],
}

impl Track<'_> {
    /// Index of the piece containing `t` (the last start <= t, or 0), walking from `hint`.
    #[inline]
    fn piece(&self, hint: &mut usize, t: f64) -> usize {
        let mut k = (*hint).min(self.start.len() - 1);
        while k + 1 < self.start.len() && self.start[k + 1] <= t {
            k += 1;
        }
        while k > 0 && self.start[k] > t {
            k -= 1;
        }
        *hint = k;
        k
    }

    /// Exact calcium current at `t` (as `DpiTrack::value_at`).
    #[inline]
    fn value_at(&self, hint: &mut usize, t: f64) -> f64 {
        let (lt, lv) = self.last.get();
        if lt.to_bits() == t.to_bits() {
            return lv;
        }
        let k = self.piece(hint, t);
        let dt = (t - self.start[k]).max(0.0);
        let v = if self.linear {
            // `dpi::evolve` with a = 0, operation for operation.
            let d0 = self.d0[k];
            if dt <= 0.0 || d0 == 0.0 {
                self.i0[k]
            } else {
                self.i_inf[k] + d0 * (-dt / self.p.tau_s).exp()
            }
        } else {
            dpi::evolve(self.p.tau_s, self.p.i_g_a, self.i_inf[k], self.i0[k], dt)
        };
        self.last.set((t, v));
        v
    }

    /// The current seen through a view delayed by `d` (the initial current before t = 0).
    #[inline]
    fn view(&self, hint: &mut usize, t: f64, d: f64) -> f64 {
        if t - d < 0.0 {
            self.p.i_init_a
        } else {
            self.value_at(hint, t - d)
        }
    }

    /// The view at `t` through delay `d` for a caller that uses a value outside the soft comparator's ramp only
    /// through its side, and (`exact_inside = false`) a value inside it only through being inside: `-inf` below the
    /// ramp, `+inf` above it, the threshold inside it, where [`Track::side`] tells from the piece alone; else the
    /// value ([`Track::view`]). The ramp clamps a value outside it to exactly 0 or 1, `interval_status` asks of a
    /// value only whether it is inside and whether its ramp is 0 or 1, so the callers get the same numbers without
    /// the exponential.
    #[inline]
    fn view_class(&self, hint: &mut usize, t: f64, d: f64, ramp: &Ramp, exact_inside: bool) -> f64 {
        if t - d < 0.0 {
            return self.p.i_init_a;
        }
        if !ramp.sides.is_empty() {
            let s = t - d;
            let [lo, hi] = &ramp.sides[self.piece(hint, s)];
            let lo = lo.at(s);
            if lo == Side::Below {
                return f64::NEG_INFINITY;
            }
            let hi = hi.at(s);
            if hi == Side::Above {
                return f64::INFINITY;
            }
            if !exact_inside && lo == Side::Above && hi == Side::Below {
                return ramp.threshold;
            }
        }
        self.value_at(hint, t - d)
    }

    /// Which side of `level` the linear piece `k` is on, and when, where that is certain by far more than
    /// round-off: from the piece's range when the level lies outside it (widened by 1e-8 of `|i_inf| + |d0| +
    /// |i0|`, see `bounds`), else from the piece's crossing of the level `tc` (monotone: one side before it, the
    /// other after) more than [`SIDE_GUARD_S`] from it, when the piece moves through the level fast enough to be far
    /// from it
    /// there: with `|level - i_inf|` above 1.5e-3 of the piece's terms (`|i_inf| + |d0|`, which bound the level
    /// too) and tau up to 0.1 s, the value is more than 1.5e-9 of those terms from the level, against a round-off
    /// of about 1e-15 of them (and the crossing's own error is below 1e-13 s). `Unknown` elsewhere: the caller
    /// computes the value. The comparator's own test of "inside" (`|i - threshold| < width / 2`) differs from
    /// `lo < i < hi` only within a few ulp of the threshold and width, far below that margin while the ramp's
    /// lower end is above a millionth of the threshold (pA calcium against thresholds of tens of pA here).
    fn side(&self, k: usize, level: f64, tc: f64) -> PieceSide {
        let (lo, hi) = self.bounds[k];
        let always = |side| PieceSide { until: f64::INFINITY, from: f64::INFINITY, before: side, after: side };
        if hi < level {
            return always(Side::Below);
        }
        if lo > level {
            return always(Side::Above);
        }
        let i_inf = self.i_inf[k];
        if tc.is_nan() || (level - i_inf).abs() <= 1.5e-3 * (i_inf.abs() + self.d0[k].abs()) || self.p.tau_s > 0.1 {
            return always(Side::Unknown);
        }
        let (before, after) = if i_inf > level { (Side::Below, Side::Above) } else { (Side::Above, Side::Below) };
        PieceSide { until: tc - SIDE_GUARD_S, from: tc + SIDE_GUARD_S, before, after }
    }

    /// The crossings of the ramp's two ends `lo` and `hi` before `t_end`, appended to `out`, the lower end's first
    /// (as two passes of `DpiTrack::level_crossings`), each end's in time order; returns how many of the lower end.
    /// For a linear DPI, every piece's sides of the two ends ([`Track::side`]) go into `sides` (left empty
    /// otherwise); `cross` is a scratch buffer.
    fn ramp_crossings(
        &self,
        (lo, hi): (f64, f64),
        t_end: f64,
        sides: &mut Vec<[PieceSide; 2]>,
        cross: &mut Vec<[f64; 2]>,
        out: &mut Vec<f64>,
    ) -> usize {
        let first = out.len();
        let mut n_lo = 0;
        cross.clear();
        cross.resize(if self.bounds.is_empty() { 0 } else { self.start.len() }, [f64::NAN; 2]);
        for (j, level) in [lo, hi].into_iter().enumerate() {
            for k in 0..self.start.len() {
                let t0 = self.start[k];
                if t0 >= t_end {
                    break;
                }
                let t1 = self.start.get(k + 1).copied().unwrap_or(f64::INFINITY).min(t_end);
                if let Some(dt) = dpi::crossing_time(self.p.tau_s, self.p.i_g_a, self.i_inf[k], self.i0[k], level) {
                    if t0 + dt < t1 {
                        out.push(t0 + dt);
                        if let Some(c) = cross.get_mut(k) {
                            c[j] = t0 + dt;
                        }
                    }
                }
            }
            if j == 0 {
                n_lo = out.len() - first;
            }
        }
        sides.clear();
        sides.extend(cross.iter().enumerate().map(|(k, c)| [self.side(k, lo, c[0]), self.side(k, hi, c[1])]));
        n_lo
    }

    /// Raw hysteretic switching instants (as `DpiTrack::crossings`), for a hard comparator.
    fn crossings(&self, w: &WtaParams, t_end: f64) -> (bool, Vec<f64>) {
        let mut on = self.i0[0] > w.on_level();
        let initially = on;
        let mut edges = Vec::new();
        for k in 0..self.start.len() {
            let t0 = self.start[k];
            if t0 >= t_end {
                break;
            }
            let level = if on { w.off_level() } else { w.on_level() };
            if let Some(dt) = dpi::crossing_time(self.p.tau_s, self.p.i_g_a, self.i_inf[k], self.i0[k], level) {
                let t1 = self.start.get(k + 1).copied().unwrap_or(f64::INFINITY);
                if t0 + dt < t1 && t0 + dt < t_end {
                    edges.push(t0 + dt);
                    on = !on;
                }
            }
        }
        (initially, edges)
    }
}

/// Where a view lies against one end of a soft comparator's ramp ([`Track::side`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Below,
    Above,
    Unknown,
}

/// A view closer than this to a piece's crossing of a ramp end is computed, not classified [s].
const SIDE_GUARD_S: f64 = 1e-7;

/// A piece's side of one end of a ramp over time: `before` until `until`, `after` from `from`, unknown between.
#[derive(Clone, Copy, Debug)]
struct PieceSide {
    until: f64,
    from: f64,
    before: Side,
    after: Side,
}

impl PieceSide {
    #[inline]
    fn at(&self, s: f64) -> Side {
        if s < self.until {
            self.before
        } else if s > self.from {
            self.after
        } else {
            Side::Unknown
        }
    }
}

/// A soft comparator's ramp for [`Track::view_class`]: its threshold (a value inside it) and each piece's sides
/// of its two ends (empty: always compute).
struct Ramp<'a> {
    threshold: f64,
    sides: &'a [[PieceSide; 2]],
}

impl<'a> Ramp<'a> {
    fn of(w: &WtaParams, sides: &'a [[PieceSide; 2]]) -> Self {
        Ramp { threshold: w.threshold_a, sides }
    }
}

/// One comparator + switch channel (as `Channel` of the circuit simulation).
struct Chan<'a> {
    wta: &'a WtaParams,
    ull: &'a UllParams,
    soft: bool,
    initially_on: bool,
    edges: &'a [f64],
    /// A soft comparator's (in the ramp, else the constant output) of the interval before each edge and after the
    /// last ([`Chan::held_intervals`]).
    status: &'a [(bool, f64)],
    next: usize,
    state: UllState,
    cache_next: usize,
    ramp: bool,
    flat: f64,
    hint_on: usize,
    hint_off: usize,
    /// Evaluate the release-delayed view first (see [`Chan::soft_at`]).
    off_first: bool,
    /// Recent (step, e^(-step / tau)) of the rise, fall and tail lags: the ramp sub-steps have a few lengths to
    /// the bit (tau_DPI/100 rounded at the ulp of the time), so the exponential is reused (the same number).
    exp_cache: [ExpCache; 3],
    /// The soft comparator's ramp and the pieces' sides of its ends ([`Track::view_class`]).
    band: Ramp<'a>,
}

impl<'a> Chan<'a> {
    /// The channel's edges into `buf` (as `Channel::new`); returns whether the comparator starts on.
    /// A soft comparator's sides of its ramp's ends, per piece, go to `sides` ([`Track::ramp_crossings`]); `tmp`,
    /// `base` and `lo` are scratch buffers.
    fn edges(
        wta: &WtaParams,
        track: &Track,
        t_end: f64,
        buf: &mut Vec<f64>,
        sides: &mut Vec<[PieceSide; 2]>,
        tmp: &mut Vec<[f64; 2]>,
        (base, lo): (&mut Vec<f64>, &mut Vec<f64>),
    ) -> bool {
        buf.clear();
        sides.clear();
        if wta.width_a > 0.0 {
            let ends = (wta.threshold_a - 0.5 * wta.width_a, wta.threshold_a + 0.5 * wta.width_a);
            lo.clear();
            let n_lo = track.ramp_crossings(ends, t_end, sides, tmp, lo);
            // `Channel::new` sorts the crossings of both ends and the piece starts, each shifted by both delays, and
            // drops repeats. They are three sorted runs, so they are merged instead: into `base` unshifted, then
            // `base` + onset delay with `base` + release delay, each time computed as there (t + delay, the same
            // bits). A sorted list without repeats is unique, so it is the same list.
            base.clear();
            let (lower, upper) = lo.split_at_mut(n_lo);
            for run in [&mut *lower, &mut *upper] {
                // Each end's crossings come in piece order, one per piece at most, so they are sorted, unless a
                // non-linear DPI's crossing time rounds below its piece's start (within an ulp of it).
                if !run.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
                    run.sort_by(f64::total_cmp);
                }
            }
            merge_sorted(lower, upper, |t| t, |t| t, f64::INFINITY, buf);
            merge_sorted(buf, &track.start[1..], |t| t, |t| t, f64::INFINITY, base);
            buf.clear();
            merge_sorted(base, base, |t| t + wta.delay_on_s, |t| t + wta.delay_off_s, t_end, buf);
            track.i0[0] > wta.on_level()
        } else {
            let (initially_on, raw) = track.crossings(wta, t_end);
            buf.extend(wta.delay_edges(&raw, initially_on));
            initially_on
        }
    }

    /// As `Channel::held_intervals`: the statuses of the intervals between the soft comparator's edges `buf`,
    /// read at their middles, into `status`; edges between two intervals of the same constant output are left out,
    /// and the instants where the two views swap order inside a ramp interval are added (`circuit::view_swap`);
    /// `tmp` is a scratch buffer. The merge is [`held_statuses`], the one `Channel::held_intervals` uses.
    ///
    /// The statuses need each view only through its side of the ramp ([`Track::view_class`]), which the pieces'
    /// crossings of the ramp's ends tell without the exponential. Between two edges neither view crosses an end,
    /// so a view outside the ramp at the middle of an interval stays outside through it, and the other view, on
    /// the other side of that end or inside the ramp, cannot meet it: no swap to look for.
    fn held_intervals(
        wta: &WtaParams,
        track: &Track,
        sides: &[[PieceSide; 2]],
        buf: &mut Vec<f64>,
        status: &mut Vec<(bool, f64)>,
        tmp: &mut Vec<f64>,
    ) {
        status.clear();
        if wta.width_a <= 0.0 {
            return;
        }
        let ramp = Ramp::of(wta, sides);
        let (mut h_on, mut h_off) = (0usize, 0usize);
        let at = |start: f64, end: f64| {
            let tm = 0.5 * (start + end.min(start + 1.0));
            let i_on = track.view_class(&mut h_on, tm, wta.delay_on_s, &ramp, false);
            let i_off = track.view_class(&mut h_off, tm, wta.delay_off_s, &ramp, false);
            (wta.interval_status(i_on, i_off), i_on.is_finite() && i_off.is_finite())
        };
        let (mut g_on, mut g_off) = (0usize, 0usize);
        let g = |t: f64| track.view(&mut g_on, t, wta.delay_on_s) - track.view(&mut g_off, t, wta.delay_off_s);
        held_statuses(buf, at, g, super::circuit::exp_shape_from(wta, track.p), tmp, status);
        std::mem::swap(buf, tmp);
    }

    fn new(
        wta: &'a WtaParams,
        ull: &'a UllParams,
        initially_on: bool,
        edges: &'a [f64],
        status: &'a [(bool, f64)],
        sides: &'a [[PieceSide; 2]],
    ) -> Self {
        let x = if initially_on { 1.0 } else { 0.0 };
        Chan {
            wta,
            ull,
            soft: wta.width_a > 0.0,
            initially_on,
            edges,
            status,
            next: 0,
            state: UllState { fast: x, tail: x },
            cache_next: usize::MAX,
            ramp: false,
            flat: 0.0,
            hint_on: 0,
            hint_off: 0,
            off_first: true,
            exp_cache: [ExpCache::default(); 3],
            band: Ramp::of(wta, sides),
        }
    }

    #[inline]
    fn next_edge(&self) -> f64 {
        self.edges.get(self.next).copied().unwrap_or(f64::INFINITY)
    }

    /// The soft comparator's output at `tm` (as `WtaParams::soft_output_delayed` of the two delayed views). The
    /// output is the min (release delay <= onset delay) or the max of the two views' ramps, so a view at 0 (min)
    /// or 1 (max) decides it alone: that view is evaluated first and the other one only when needed (the result
    /// is the same number).
    #[inline]
    fn soft_at(&mut self, track: &Track, tm: f64) -> f64 {
        let w = self.wta;
        let min = w.delay_off_s <= w.delay_on_s;
        let decisive = if min { 0.0 } else { 1.0 };
        let (d_first, d_second) =
            if self.off_first { (w.delay_off_s, w.delay_on_s) } else { (w.delay_on_s, w.delay_off_s) };
        let (h_first, h_second) = if self.off_first {
            (&mut self.hint_off, &mut self.hint_on)
        } else {
            (&mut self.hint_on, &mut self.hint_off)
        };
        let first = w.soft_output(track.view_class(h_first, tm, d_first, &self.band, true));
        if first == decisive {
            return first;
        }
        let second = w.soft_output(track.view_class(h_second, tm, d_second, &self.band, true));
        if second == decisive {
            self.off_first = !self.off_first;
        }
        if min {
            first.min(second)
        } else {
            first.max(second)
        }
    }

    #[inline]
    fn output(&mut self, track: &Track, t0: f64, t1: f64) -> f64 {
        if self.soft && !self.ramp && self.cache_next == self.next {
            self.flat
        } else if self.soft {
            self.soft_at(track, 0.5 * (t0 + t1))
        } else if self.initially_on ^ (self.next % 2 == 1) {
            1.0
        } else {
            0.0
        }
    }

    /// Whether the channel is in its ramp on its current edge interval (as `Channel::in_ramp`).
    #[inline]
    fn in_ramp(&mut self) -> bool {
        if !self.soft || self.cache_next == self.next {
            return self.ramp;
        }
        self.cache_next = self.next;
        (self.ramp, self.flat) = self.status[self.next];
        self.ramp
    }

    #[inline]
    fn advance(&mut self, out: f64, dt: f64, t1: f64) -> f64 {
        let u = self.ull;
        let s = self.state;
        let (fast, int_fast) = if out >= s.fast {
            lag(s.fast, out, dt, u.tau_rise_s, &mut self.exp_cache[0])
        } else {
            lag(s.fast, out, dt, u.tau_fall_s, &mut self.exp_cache[1])
        };
        let (tail, int_tail) = if out >= s.tail {
            lag(s.tail, out, dt, u.tau_rise_s, &mut self.exp_cache[0])
        } else {
            lag(s.tail, out, dt, u.tau_tail_s, &mut self.exp_cache[2])
        };
        let int_x = (1.0 - u.tail_fraction) * int_fast + u.tail_fraction * int_tail;
        self.state = UllState { fast, tail };
        while self.next_edge() <= t1 {
            self.next += 1;
        }
        u.i_off_a * dt + (u.i_on_a - u.i_off_a) * int_x
    }
}

/// The last few (dt, e^(-dt / tau)) of one time constant.
#[derive(Clone, Copy, Debug)]
struct ExpCache {
    dt: [f64; 4],
    e: [f64; 4],
    next: usize,
}

impl Default for ExpCache {
    fn default() -> Self {
        ExpCache { dt: [f64::NAN; 4], e: [f64::NAN; 4], next: 0 }
    }
}

impl ExpCache {
    /// e^(-dt / tau), from the cache when `dt` is there to the bit (the same number).
    #[inline]
    fn get(&mut self, dt: f64, tau: f64) -> f64 {
        for k in 0..4 {
            if self.dt[k] == dt {
                return self.e[k];
            }
        }
        let e = (-dt / tau).exp();
        let k = self.next;
        self.dt[k] = dt;
        self.e[k] = e;
        self.next = (k + 1) % 4;
        e
    }
}

/// The ULL lag (as `ull::lag`); a state equal to its input stays, which is what the formula gives exactly; `cache`
/// holds recent (dt, e^(-dt / tau)) of this `tau`.
#[inline]
fn lag(x0: f64, o: f64, dt: f64, tau: f64, cache: &mut ExpCache) -> (f64, f64) {
    if tau <= 0.0 || x0 == o {
        return (o, o * dt);
    }
    let e = cache.get(dt, tau);
    let x = o + (x0 - o) * e;
    (x, o * dt + (x0 - o) * tau * (1.0 - e))
}

/// The values `fa(a[i])` and `fb(b[j])` below `limit`, both sorted (`a` and `b` sorted, `fa` and `fb` monotone),
/// merged in ascending order (by `total_cmp`) without repeats, appended to `out` (which must not end above them).
#[inline]
fn merge_sorted(
    a: &[f64],
    b: &[f64],
    fa: impl Fn(f64) -> f64,
    fb: impl Fn(f64) -> f64,
    limit: f64,
    out: &mut Vec<f64>,
) {
    let (mut i, mut j) = (0, 0);
    loop {
        let t = match (a.get(i).map(|&t| fa(t)), b.get(j).map(|&t| fb(t))) {
            (Some(x), Some(y)) if x.total_cmp(&y).is_le() => {
                i += 1;
                x
            }
            (_, Some(y)) => {
                j += 1;
                y
            }
            (Some(x), None) => {
                i += 1;
                x
            }
            (None, None) => return,
        };
        // Both runs ascend: the first value at or past the limit ends the merge.
        if t >= limit {
            return;
        }
        if out.last() != Some(&t) {
            out.push(t);
        }
    }
}

/// Stable insertion sort by time (the order `sort_by` gives: a stable sort's result is unique); the edges are
/// two sorted runs (pre, post), so it is fast.
fn stable_sort_by_time(v: &mut [(f64, f64)]) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1].0.total_cmp(&v[j].0).is_gt() {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

impl CircuitParams {
    /// [`CircuitParams::early_charge`] of the trains `pre`, `post` over `[0, t_end]`, bit-identical, with every
    /// buffer in `scratch`: returns the totals; the charge of every non-zero step is left in `scratch.steps_c`.
    pub fn early_charge_in(&self, pre: &[f64], post: &[f64], t_end: f64, scratch: &mut ChargeScratch) -> ChargeTotals {
        if self.pot_comparator.integrating() || self.dep_comparator.integrating() || !self.dpi.published() {
            // Slew-charge comparators and a DPI slope ratio or growing capacitance have no allocation-free path yet: the same function,
            // hence the same bits.
            let q = self.early_charge(&Spikes { pre: pre.to_vec(), post: post.to_vec() }, t_end);
            scratch.steps_c.clone_from(&q.steps_c);
            return ChargeTotals { q_total_c: q.q_total_c, q_min_c: q.q_min_c, q_max_c: q.q_max_c };
        }
        let d = &self.dpi;
        let ChargeScratch {
            edges,
            start,
            i0,
            i_in,
            i_inf,
            d0,
            pot_edges,
            dep_edges,
            pot_status,
            dep_status,
            held,
            bounds,
            pot_sides,
            dep_sides,
            crossings,
            ends,
            base,
            steps_c,
        } = scratch;
        // The DPI pieces (as `DpiTrack::new`).
        edges.clear();
        let (ap, aq) = (d.amplitude_pre(), d.amplitude_post());
        for &t in pre {
            let t0 = t + d.delay_pre_s;
            edges.push((t0, ap));
            edges.push((t0 + d.pulse_pre_s, -ap));
        }
        for &t in post {
            edges.push((t, aq));
            edges.push((t + d.pulse_post_s, -aq));
        }
        stable_sort_by_time(edges);
        start.clear();
        i0.clear();
        i_in.clear();
        start.push(0.0);
        i0.push(d.i_init_a);
        i_in.push(d.i_indc_a);
        for &(t, da) in edges.iter() {
            let k = start.len() - 1;
            if t <= start[k] {
                i_in[k] += da;
                continue;
            }
            let i = d.evolve(i0[k], i_in[k], t - start[k]);
            start.push(t);
            i0.push(i);
            i_in.push(i_in[k] + da);
        }
        for x in i_in.iter_mut() {
            if (*x - d.i_indc_a).abs() < 1e-9 * d.i_indc_a {
                *x = d.i_indc_a;
            }
        }
        i_inf.clear();
        i_inf.extend(i_in.iter().map(|&x| d.i_inf(x)));
        d0.clear();
        d0.extend(i0.iter().zip(i_inf.iter()).map(|(&a, &b)| a - b));
        let linear = d.i_g_a == 0.0;
        bounds.clear();
        if linear {
            // A linear piece moves monotonically from i0 toward i_inf, reaching the next piece's i0 at its end.
            for k in 0..i0.len() {
                let end = i0.get(k + 1).copied().unwrap_or(i_inf[k]);
                let slack = 1e-8 * (i_inf[k].abs() + d0[k].abs() + i0[k].abs());
                bounds.push((i0[k].min(end) - slack, i0[k].max(end) + slack));
            }
        }
        let track = Track { p: d, start, i0, i_inf, d0, linear, last: std::cell::Cell::new((f64::NAN, 0.0)), bounds };
        // The comparator channels (as `Channel::new`) and the step loop (as `run` without the slow parts).
        let horizon = t_end + 1e-12;
        let merge = (&mut *base, &mut *ends);
        let pot_on = Chan::edges(&self.pot_comparator, &track, horizon, pot_edges, pot_sides, crossings, merge);
        let merge = (base, ends);
        let dep_on = Chan::edges(&self.dep_comparator, &track, horizon, dep_edges, dep_sides, crossings, merge);
        Chan::held_intervals(&self.pot_comparator, &track, pot_sides, pot_edges, pot_status, held);
        Chan::held_intervals(&self.dep_comparator, &track, dep_sides, dep_edges, dep_status, held);
        let mut pot = Chan::new(&self.pot_comparator, &self.pot_switch, pot_on, pot_edges, pot_status, pot_sides);
        let mut dep = Chan::new(&self.dep_comparator, &self.dep_switch, dep_on, dep_edges, dep_status, dep_sides);
        let soft_step = d.tau_s / 100.0;
        steps_c.clear();
        let mut totals = ChargeTotals::default();
        let (mut q, mut t) = (0.0, 0.0);
        while t < t_end {
            let mut t1 = t_end.min(pot.next_edge()).min(dep.next_edge());
            if pot.in_ramp() || dep.in_ramp() {
                t1 = t1.min(t + soft_step);
            }
            if t1 <= t {
                t1 = t_end.min(t + 1e-12);
            }
            let dt = t1 - t;
            let op = pot.output(&track, t, t1);
            let od = dep.output(&track, t, t1);
            let dq = pot.advance(op, dt, t1) - dep.advance(od, dt, t1);
            q += dq;
            if dq != 0.0 {
                steps_c.push(dq);
            }
            totals.q_min_c = totals.q_min_c.min(q);
            totals.q_max_c = totals.q_max_c.max(q);
            t = t1;
        }
        totals.q_total_c = q;
        totals
    }

    /// [`CircuitParams::early_charge_in`] as a [`ChargeSummary`] (bit-identical to `early_charge`).
    pub fn early_charge_with(
        &self,
        pre: &[f64],
        post: &[f64],
        t_end: f64,
        scratch: &mut ChargeScratch,
    ) -> ChargeSummary {
        let q = self.early_charge_in(pre, post, t_end, scratch);
        ChargeSummary {
            steps_c: scratch.steps_c.clone(),
            q_total_c: q.q_total_c,
            q_min_c: q.q_min_c,
            q_max_c: q.q_max_c,
        }
    }

    /// [`CircuitParams::apply_charge`] of the trajectory [`CircuitParams::early_charge_in`] just left in `scratch`.
    pub fn apply_charge_in(&self, v: f64, q: &ChargeTotals, scratch: &ChargeScratch) -> f64 {
        let c = self.capacitor.c_f;
        if self.within_rails(v, q.q_min_c, q.q_max_c) {
            return v + q.q_total_c / c;
        }
        self.walk_steps(v, &scratch.steps_c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synapse::Spikes;
    use rand::Rng;

    fn calibrated() -> CircuitParams {
        crate::cli::train::synapse("mnist-network", None).unwrap().0
    }

    /// Random trains like the network's (regular and Poisson-like, coincident spikes, spikes near the end).
    fn one(rng: &mut impl Rng) -> Vec<f64> {
        let n = rng.random_range(0..9usize);
        let mut v: Vec<f64> = if rng.random_bool(0.5) {
            (0..n).map(|k| 0.025 * k as f64 + 0.0125).collect()
        } else {
            (0..n).map(|_| rng.random_range(0.0..0.35)).collect()
        };
        v.sort_by(f64::total_cmp);
        v
    }

    fn trains(rng: &mut impl Rng) -> (Vec<f64>, Vec<f64>) {
        let pre = one(rng);
        let mut post = one(rng);
        if rng.random_bool(0.2) && !pre.is_empty() {
            post.push(pre[0]);
            post.sort_by(f64::total_cmp);
        }
        (pre, post)
    }

    fn check_identical(p: &CircuitParams, rng: &mut impl Rng, scratch: &mut ChargeScratch) {
        for _ in 0..40 {
            let (pre, post) = trains(rng);
            let want = p.early_charge(&Spikes { pre: pre.clone(), post: post.clone() }, 0.35);
            let got = p.early_charge_with(&pre, &post, 0.35, scratch);
            assert_eq!(got, want, "pre {pre:?} post {post:?}");
            let v = rng.random_range(0.0..1.8);
            let q = p.early_charge_in(&pre, &post, 0.35, scratch);
            assert_eq!(p.apply_charge_in(v, &q, scratch).to_bits(), p.apply_charge(v, &want).to_bits());
        }
    }

    #[test]
    fn bit_identical_to_early_charge_with_mismatched_parameters() {
        let base = calibrated();
        let mut rng = crate::stimulus::rng(7);
        let mut scratch = ChargeScratch::default();
        check_identical(&base, &mut rng, &mut scratch);
        for _ in 0..30 {
            let mut p = base.clone();
            for key in crate::network::net::MISMATCH_CURRENTS {
                let f = (0.2 * rng.sample::<f64, _>(rand_distr::StandardNormal)).exp();
                let x = p.get(key).unwrap();
                p.set(key, x * f);
            }
            p.dpi.i_init_a = p.dpi.i_rest();
            check_identical(&p, &mut rng, &mut scratch);
        }
    }

    #[test]
    fn bit_identical_with_ideal_blocks_nonlinear_dpi_and_rails() {
        let mut rng = crate::stimulus::rng(8);
        let mut scratch = ChargeScratch::default();
        // Hard comparators (hysteresis, inertial delays), a non-linear DPI, a small capacitor (rails).
        let (mut p, _) = crate::cli::train::synapse("mnist-network", Some("none")).unwrap();
        p.pot_comparator.hysteresis_a = 2e-12;
        p.dep_comparator.delay_on_s = 0.5e-3;
        p.dep_comparator.delay_off_s = 0.2e-3;
        p.capacitor.c_f = 1e-14;
        check_identical(&p, &mut rng, &mut scratch);
        let mut q = calibrated();
        q.dpi.i_g_a = 2e-12;
        q.dpi.i_init_a = q.dpi.i_rest();
        q.capacitor.c_f = 1e-14;
        check_identical(&q, &mut rng, &mut scratch);
        // Release later than onset (the soft output is the max of the two views' ramps, not the min).
        let mut r = calibrated();
        for w in [&mut r.pot_comparator, &mut r.dep_comparator] {
            std::mem::swap(&mut w.delay_on_s, &mut w.delay_off_s);
        }
        assert!(r.dep_comparator.delay_off_s > r.dep_comparator.delay_on_s);
        check_identical(&r, &mut rng, &mut scratch);
    }
}
