//! Winner-take-all current comparators (Lazzaro 1988; Indiveri 2001, hysteretic WTA) that compare the calcium
//! current with the potentiation and depression thresholds I_THPOT and I_THDEP (thesis Fig. 8, top-left block).
//!
//! The thesis treats them as ideal: `on = i_ca > I_TH`. The Cadence run shows the output switching ~1 ms after
//! i_ca crosses the threshold and releasing sooner, so the behavioural comparator here has:
//! - a threshold and a **hysteresis** (switches on above `threshold + hysteresis/2`, off below
//!   `threshold - hysteresis/2`), so a current that hovers at the threshold does not chatter;
//! - separate **onset and release delays**, inertial: a pulse shorter than the onset delay is swallowed, a gap
//!   shorter than the release delay is bridged, as a real comparator swallows a glitch ([`WtaParams::delay_edges`]);
//! - a **transition width**: with `width_a > 0` the output is a linear ramp from 0 to 1 over
//!   `[threshold - width/2, threshold + width/2]` of the delayed current instead of a step — the finite gain of a
//!   two-cell WTA; the onset follows the current delayed by `delay_on_s`, the release the current delayed by
//!   `delay_off_s` ([`WtaParams::soft_output_delayed`]). Hysteresis is modelled only for the ideal step (width 0
//!   keeps the exact event-driven switching); a soft comparator with hysteresis is rejected by the range check.
//!
//! - a **slew charge** (`charge_on_c`, `charge_off_c`): the comparator's output node is charged by the difference
//!   between input and threshold current, so the output switches on once the integral of `i - threshold` since the
//!   upward crossing reaches `charge_on_c`, and off once the integral of `threshold - i` reaches `charge_off_c`
//!   (the node's charge is clamped between its rails, 0 and `charge_on_c + charge_off_c`). The delay is then short
//!   for a large overdrive and long for a slow ramp through the threshold, as a sub-threshold WTA behaves: the
//!   sky130 comparator of `circuits/sky130` comparators switch on 0.202 ms after the crossing at a 19.3 pA
//!   overdrive and 0.276 ms at 14.0 pA, after 3.62 and 3.70 fC ([`WtaParams::integrating`]). A charge is a capacitance times a voltage swing,
//!   so it carries to other bias currents unchanged. With both charges 0 the comparator is the ideal step; the
//!   delays above, if also set, follow the integrator (pure transport delays).
//!
//! What the thesis says: only the ideal comparison. What we chose: the forms above, each a parameter a fit can move.

use super::{Checker, Fields};
use serde::{Deserialize, Serialize};

/// Comparator parameters, SI units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WtaParams {
    /// Threshold current [A] (I_THPOT or I_THDEP).
    pub threshold_a: f64,
    /// Hysteresis [A]: on above threshold + h/2, off below threshold - h/2.
    #[serde(default)]
    pub hysteresis_a: f64,
    /// Transition width [A]: 0 = ideal step; > 0 = linear ramp of this width centred on the threshold.
    #[serde(default)]
    pub width_a: f64,
    /// Delay from the current crossing upwards to the output switching on [s].
    #[serde(default)]
    pub delay_on_s: f64,
    /// Delay from the current crossing downwards to the output switching off [s].
    #[serde(default)]
    pub delay_off_s: f64,
    /// Slew charge to switch on [C]: integral of (i - threshold) after the upward crossing (0: no slew).
    #[serde(default)]
    pub charge_on_c: f64,
    /// Slew charge to switch off [C]: integral of (threshold - i) after the downward crossing (0: no slew).
    #[serde(default)]
    pub charge_off_c: f64,
}

impl WtaParams {
    /// An ideal comparator at `threshold_a`.
    pub fn ideal(threshold_a: f64) -> Self {
        WtaParams {
            threshold_a,
            hysteresis_a: 0.0,
            width_a: 0.0,
            delay_on_s: 0.0,
            delay_off_s: 0.0,
            charge_on_c: 0.0,
            charge_off_c: 0.0,
        }
    }
    /// Whether the output follows the slew integrator (a slew charge is set).
    pub fn integrating(&self) -> bool {
        self.charge_on_c > 0.0 || self.charge_off_c > 0.0
    }
    /// Current above which an off comparator switches on [A].
    pub fn on_level(&self) -> f64 {
        self.threshold_a + 0.5 * self.hysteresis_a
    }
    /// Current below which an on comparator switches off [A].
    pub fn off_level(&self) -> f64 {
        self.threshold_a - 0.5 * self.hysteresis_a
    }
    /// Soft output in [0, 1] for an input current when `width_a > 0` (linear ramp), else the ideal step.
    pub fn soft_output(&self, i: f64) -> f64 {
        if self.width_a > 0.0 {
            ((i - self.threshold_a) / self.width_a + 0.5).clamp(0.0, 1.0)
        } else if i > self.threshold_a {
            1.0
        } else {
            0.0
        }
    }
    /// Output of a soft comparator (`width_a > 0`) from two delayed views of its input current: `i_on` =
    /// i(t - delay_on_s), `i_off` = i(t - delay_off_s). The onset follows the onset-delayed view and the release
    /// the release-delayed one: with `delay_off <= delay_on` the output is the smaller of the two ramps (while the
    /// current rises the older view is lower, while it falls the newer one is), otherwise the larger. It is
    /// continuous, equals the single-delay ramp when both delays are equal, and is exact for a current that
    /// passes the ramp rising then falling (one calcium peak per passage), which is what a spike pair gives.
    pub fn soft_output_delayed(&self, i_on: f64, i_off: f64) -> f64 {
        let (a, b) = (self.soft_output(i_on), self.soft_output(i_off));
        if self.delay_off_s <= self.delay_on_s {
            a.min(b)
        } else {
            a.max(b)
        }
    }
    /// The output of a soft comparator when one delayed view alone decides it: the smaller of the two ramps (see
    /// [`WtaParams::soft_output_delayed`]) is 0 as soon as one view is at 0, the larger is 1 as soon as one is at 1.
    /// `None` when both views are needed. Over a stretch where neither view crosses an edge of the ramp, a view at
    /// that value stays there, so the output is that constant even while the other view moves inside the ramp.
    pub fn decided_output(&self, i_on: f64, i_off: f64) -> Option<f64> {
        let decisive = if self.delay_off_s <= self.delay_on_s { 0.0 } else { 1.0 };
        (self.soft_output(i_on) == decisive || self.soft_output(i_off) == decisive).then_some(decisive)
    }
    /// A soft comparator's output over an interval between its edges, from the two delayed views at the interval's
    /// middle: `(true, NaN)` while it follows the ramp, else `(false, x)` with the constant output x (both views
    /// outside the ramp, or one view deciding it, [`WtaParams::decided_output`]).
    pub fn interval_status(&self, i_on: f64, i_off: f64) -> (bool, f64) {
        let inside = |i: f64| (i - self.threshold_a).abs() < 0.5 * self.width_a;
        if !(inside(i_on) || inside(i_off)) {
            (false, self.soft_output_delayed(i_on, i_off))
        } else if let Some(x) = self.decided_output(i_on, i_off) {
            (false, x)
        } else {
            (true, f64::NAN)
        }
    }
    /// Range checks.
    pub fn check(&self, c: &mut Checker) {
        c.positive("threshold_a", self.threshold_a, "A");
        c.non_negative("hysteresis_a", self.hysteresis_a, "A");
        c.non_negative("width_a", self.width_a, "A");
        c.within("delay_on_s", self.delay_on_s, 0.0, 1.0, "s");
        c.within("delay_off_s", self.delay_off_s, 0.0, 1.0, "s");
        c.within("charge_on_c", self.charge_on_c, 0.0, 1e-9, "C");
        c.within("charge_off_c", self.charge_off_c, 0.0, 1e-9, "C");
        if self.integrating() && (self.width_a != 0.0 || self.hysteresis_a != 0.0) {
            // The slew integrator replaces both the ramp and the hysteresis (its clamped node is the memory).
            // Rejected rather than silently ignored, so no fit moves a parameter that has no effect.
            let (key, value) =
                if self.width_a != 0.0 { ("width_a", self.width_a) } else { ("hysteresis_a", self.hysteresis_a) };
            c.within(key, value, 0.0, 0.0, "A (must be 0 when a slew charge is set)");
        }
        if self.width_a > 0.0 && self.hysteresis_a != 0.0 {
            // The ramp models the finite gain of the comparator; hysteresis is modelled only for the ideal step.
            // Rejected rather than silently ignored, so no fit moves a parameter that has no effect.
            c.within("hysteresis_a", self.hysteresis_a, 0.0, 0.0, "A (must be 0 when width_a > 0)");
        }
        if self.hysteresis_a >= 2.0 * self.threshold_a && self.threshold_a > 0.0 {
            c.within(
                "hysteresis_a",
                self.hysteresis_a,
                0.0,
                2.0 * self.threshold_a,
                "A (off level must stay positive)",
            );
        }
    }

    /// Apply the onset/release delays to a sequence of raw switching instants (alternating on, off, on, ...,
    /// starting with the state `initially_on`), with **inertial** semantics (as VHDL's inertial delay, and as a
    /// comparator whose output node needs time to slew): an input change schedules the output change `delay_on_s`
    /// (upwards) or `delay_off_s` (downwards) later; if the input changes back before the scheduled change took
    /// effect, the pending change is cancelled. So a pulse shorter than `delay_on_s` is swallowed, a gap shorter
    /// than `delay_off_s` is bridged, and every pulse that passes keeps both edges, each shifted by its own delay.
    /// Returns the delayed switching instants, alternating the same way.
    pub fn delay_edges(&self, raw: &[f64], initially_on: bool) -> Vec<f64> {
        let mut out: Vec<f64> = Vec::with_capacity(raw.len());
        let mut input = initially_on;
        let mut output = initially_on;
        let mut pending: Option<f64> = None;
        for &t in raw {
            input = !input;
            if let Some(tp) = pending {
                if tp <= t {
                    out.push(tp);
                    output = !output;
                    pending = None;
                }
            }
            if pending.is_some() {
                // The input returned before the scheduled change happened: cancel it (input == output again).
                pending = None;
            } else if input != output {
                pending = Some(t + if input { self.delay_on_s } else { self.delay_off_s });
            }
        }
        if let Some(tp) = pending {
            out.push(tp);
        }
        out
    }
}

impl Fields for WtaParams {
    fn fields_mut(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![
            ("threshold_a", &mut self.threshold_a),
            ("hysteresis_a", &mut self.hysteresis_a),
            ("width_a", &mut self.width_a),
            ("delay_on_s", &mut self.delay_on_s),
            ("delay_off_s", &mut self.delay_off_s),
            ("charge_on_c", &mut self.charge_on_c),
            ("charge_off_c", &mut self.charge_off_c),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inertial_delay_swallows_pulses_shorter_than_the_delay_and_shifts_the_others() {
        let w = WtaParams { delay_on_s: 1e-3, delay_off_s: 0.3e-3, ..WtaParams::ideal(62e-12) };
        // A 2 ms pulse at t0 = 4 ms: [t0 + delay_on, t0 + 2 ms + delay_off] = [5 ms, 6.3 ms].
        let e = w.delay_edges(&[4e-3, 6e-3], false);
        assert_eq!(e.len(), 2);
        assert!((e[0] - 5e-3).abs() < 1e-15 && (e[1] - 6.3e-3).abs() < 1e-15, "{e:?}");
        // A 0.8 ms pulse is shorter than the 1 ms onset delay: swallowed (not passed as 0.1 ms).
        assert!(w.delay_edges(&[4e-3, 4.8e-3], false).is_empty());
        // Equal delays: a pulse shorter than the delay is swallowed too, a longer one is shifted intact.
        let eq = WtaParams { delay_on_s: 1e-3, delay_off_s: 1e-3, ..WtaParams::ideal(62e-12) };
        assert!(eq.delay_edges(&[4e-3, 4.9e-3], false).is_empty());
        let e = eq.delay_edges(&[4e-3, 5.5e-3], false);
        assert!((e[0] - 5e-3).abs() < 1e-15 && (e[1] - 6.5e-3).abs() < 1e-15, "{e:?}");
        // A gap shorter than the release delay is bridged: on at 1 ms, off 4 ms -> on 4.2 ms (gap 0.2 < 0.3 ms),
        // off at 8 ms: one pulse [2 ms, 8.3 ms].
        let e = w.delay_edges(&[1e-3, 4e-3, 4.2e-3, 8e-3], false);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!((e[0] - 2e-3).abs() < 1e-15 && (e[1] - 8.3e-3).abs() < 1e-15, "{e:?}");
        // Starting on: the first raw edge is a release.
        let e = w.delay_edges(&[1e-3, 3e-3], true);
        assert!((e[0] - 1.3e-3).abs() < 1e-15 && (e[1] - 4e-3).abs() < 1e-15, "{e:?}");
        // No delays: the edges pass unchanged.
        assert_eq!(WtaParams::ideal(1e-12).delay_edges(&[1e-3, 2e-3], false), vec![1e-3, 2e-3]);
    }

    #[test]
    fn ramp_output_has_the_declared_width() {
        let w = WtaParams { width_a: 4e-12, ..WtaParams::ideal(30e-12) };
        assert_eq!(w.soft_output(27.9e-12), 0.0);
        assert!((w.soft_output(30e-12) - 0.5).abs() < 1e-12);
        assert!((w.soft_output(31e-12) - 0.75).abs() < 1e-9);
        assert_eq!(w.soft_output(32.1e-12), 1.0);
        assert_eq!(WtaParams::ideal(30e-12).soft_output(30.1e-12), 1.0);
    }

    #[test]
    fn soft_comparator_honours_both_delays() {
        let w = WtaParams { width_a: 4e-12, delay_on_s: 1e-3, delay_off_s: 0.2e-3, ..WtaParams::ideal(30e-12) };
        // A current that rises through the ramp and falls back: i(t) = 30 pA + 10 pA (1 - |t - 5 ms| / 2 ms) on
        // [3, 7] ms, else 20 pA below it. Hand-computed: the output first reaches 0.5 when the on-view i(t - 1 ms)
        // reaches 30 pA, at t = 3 + 1 = 4 ms; it last is 0.5 when the off-view i(t - 0.2 ms) = 30 pA, t = 7.2 ms.
        let i = |t: f64| {
            if (3e-3..=7e-3).contains(&t) {
                30e-12 + 10e-12 * (1.0 - (t - 5e-3).abs() / 2e-3)
            } else {
                20e-12
            }
        };
        let out = |t: f64| w.soft_output_delayed(i(t - w.delay_on_s), i(t - w.delay_off_s));
        assert!((out(4e-3 + 1e-9) - 0.5).abs() < 1e-3, "{}", out(4e-3));
        assert!((out(7.2e-3 - 1e-9) - 0.5).abs() < 1e-3, "{}", out(7.2e-3));
        assert_eq!(out(3.9e-3), w.soft_output(i(2.9e-3)));
        assert_eq!(out(7.5e-3), 0.0);
        // Equal delays: the single-view ramp.
        let eq = WtaParams { delay_off_s: 1e-3, ..w.clone() };
        assert_eq!(eq.soft_output_delayed(31e-12, 29e-12), eq.soft_output(29e-12));
        // Soft with hysteresis is rejected.
        let mut c = Checker::new("pot_comparator");
        WtaParams { hysteresis_a: 1e-12, ..w }.check(&mut c);
        assert!(c.errors.iter().any(|e| e.key.contains("hysteresis_a")));
    }

    #[test]
    fn hysteresis_splits_the_levels() {
        let w = WtaParams { hysteresis_a: 2e-12, ..WtaParams::ideal(30e-12) };
        assert!((w.on_level() - 31e-12).abs() < 1e-24 && (w.off_level() - 29e-12).abs() < 1e-24);
    }

    #[test]
    fn slew_charge_excludes_the_ramp_and_the_hysteresis() {
        let w = WtaParams { charge_on_c: 3e-15, ..WtaParams::ideal(30e-12) };
        assert!(w.integrating() && !WtaParams::ideal(30e-12).integrating());
        let errors = |w: WtaParams| {
            let mut c = Checker::new("pot_comparator");
            w.check(&mut c);
            c.errors.iter().map(|e| e.key.clone()).collect::<Vec<_>>()
        };
        assert!(errors(w.clone()).is_empty());
        assert!(errors(WtaParams { width_a: 1e-12, ..w.clone() }).iter().any(|k| k.contains("width_a")));
        assert!(errors(WtaParams { hysteresis_a: 1e-12, ..w.clone() }).iter().any(|k| k.contains("hysteresis_a")));
        assert!(errors(WtaParams { charge_off_c: -1e-15, ..w }).iter().any(|k| k.contains("charge_off_c")));
    }
}
