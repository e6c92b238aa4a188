//! Winner-take-all current comparators (Lazzaro 1988; Indiveri 2001, hysteretic WTA) that compare the calcium
//! current with the potentiation and depression thresholds I_THPOT and I_THDEP (thesis Fig. 8, top-left block).
//!
//! The thesis treats them as ideal: `on = i_ca > I_TH`. The Cadence run shows the output switching ~1 ms after
//! i_ca crosses the threshold and releasing sooner, so the behavioural comparator here has:
//! - a threshold and a **hysteresis** (switches on above `threshold + hysteresis/2`, off below
//!   `threshold - hysteresis/2`), so a current that hovers at the threshold does not chatter;
//! - separate **onset and release delays** (transport delays, inertial: an on/off pair shorter than the delays
//!   cancels, as a real comparator swallows a glitch);
//! - a **transition width**: with `width_a > 0` the output is a linear ramp from 0 to 1 over
//!   `[threshold - width/2, threshold + width/2]` of the (onset-delayed) current instead of a step — the finite
//!   gain of a two-cell WTA. Width 0 keeps the exact event-driven switching.
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
}

impl WtaParams {
    /// An ideal comparator at `threshold_a`.
    pub fn ideal(threshold_a: f64) -> Self {
        WtaParams { threshold_a, hysteresis_a: 0.0, width_a: 0.0, delay_on_s: 0.0, delay_off_s: 0.0 }
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
    /// Range checks.
    pub fn check(&self, c: &mut Checker) {
        c.positive("threshold_a", self.threshold_a, "A");
        c.non_negative("hysteresis_a", self.hysteresis_a, "A");
        c.non_negative("width_a", self.width_a, "A");
        c.within("delay_on_s", self.delay_on_s, 0.0, 1.0, "s");
        c.within("delay_off_s", self.delay_off_s, 0.0, 1.0, "s");
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
    /// starting with the state `initially_on`), with inertial semantics: a pulse whose delayed edges would
    /// arrive out of order is swallowed. Returns the delayed switching instants, alternating the same way.
    pub fn delay_edges(&self, raw: &[f64], initially_on: bool) -> Vec<f64> {
        let mut out: Vec<f64> = Vec::with_capacity(raw.len());
        let mut on = initially_on;
        for &t in raw {
            on = !on;
            let td = t + if on { self.delay_on_s } else { self.delay_off_s };
            match out.last() {
                Some(&last) if td <= last => {
                    // This edge would land before the previous one took effect: both are swallowed.
                    out.pop();
                }
                _ => out.push(td),
            }
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
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_shift_edges_and_swallow_short_pulses() {
        let w = WtaParams { delay_on_s: 1e-3, delay_off_s: 0.3e-3, ..WtaParams::ideal(62e-12) };
        // A 2 ms pulse: on edge delayed by 1 ms, off edge by 0.3 ms.
        let e = w.delay_edges(&[4e-3, 6e-3], false);
        assert_eq!(e.len(), 2);
        assert!((e[0] - 5e-3).abs() < 1e-15 && (e[1] - 6.3e-3).abs() < 1e-15);
        // A 0.5 ms pulse: the delayed off (4.8 ms) would precede the delayed on (5 ms): swallowed.
        assert!(w.delay_edges(&[4e-3, 4.5e-3], false).is_empty());
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
    fn hysteresis_splits_the_levels() {
        let w = WtaParams { hysteresis_a: 2e-12, ..WtaParams::ideal(30e-12) };
        assert!((w.on_level() - 31e-12).abs() < 1e-24 && (w.off_level() - 29e-12).abs() < 1e-24);
    }
}
