//! The early-phase capacitor: the early-phase weight (EPW) is the voltage v_h (thesis Fig. 8, right block).
//!
//! ```text
//! C dv_h/dt = i_hp - i_hd + i_hr,     i_hr = +accel * i_hrp  if v_h < V_H0
//!                                            -accel * i_hrn  if v_h > V_H0
//! ```
//!
//! so recovery towards V_H0 is **linear** in time (constant currents), unlike the exponential recovery of the
//! reference Eq. 3 (thesis section 3.2.1). With `v_lin_v > 0` the recovery is instead a transconductance amplifier
//! (the sky130 circuit's, `circuits/sky130/README.md`): `i_hr = accel i_hrp tanh((V_H0 - v_h) / v_lin)` below V_H0
//! and `-accel i_hrn tanh((v_h - V_H0) / v_lin)` above, with `v_lin = 2 U_T / kappa` (about 70 mV): the constant
//! currents far from V_H0, a conductance `i / v_lin` near it, so a few-mV step of v_h decays over tens of seconds
//! instead of being pulled back at the full current. Alone it relaxes as `sinh((v_h - V_H0) / v_lin)` decaying
//! exponentially with time constant `C v_lin / (accel i)`, and never crosses V_H0. A transconductor may recover
//! towards V_H0 + `v_rec_offset_v` instead (the sky130 node recovers to 4.6 mV above V_H0; the OTA's offset or the
//! node's other leakage, not told apart), and may carry a leakage near the upper rail, `-i_leak_top_a exp((v_h -
//! V_DD) / v_leak_top_v)` (the sky130 potentiation switch no longer holds off there; `scripts/hold_node.py`
//! measures all three from a circuit's waveforms). v_h is clamped to the rails [0, V_DD]. Once (constant) recovery
//! brings v_h to V_H0 it stays there (the two recovery branches meet: sliding mode). `accel` multiplies the recovery
//! currents, the acceleration factor of the thesis (32 in Fig. 11). The effective capacitance seen in Cadence is far
//! below the nominal 12.2 pF: `c_f` is a fit parameter, not a constant.

use super::{Checker, Fields};
use serde::{Deserialize, Serialize};

/// Capacitor and recovery parameters, SI units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitorParams {
    /// Effective capacitance C [F].
    pub c_f: f64,
    /// Reference (resting) voltage V_H0 [V].
    pub v_h0_v: f64,
    /// Initial voltage v_h(0) [V].
    pub v_init_v: f64,
    /// Recovery current while v_h < V_H0 [A] (charges up).
    pub i_hrp_a: f64,
    /// Recovery current while v_h > V_H0 [A] (discharges).
    pub i_hrn_a: f64,
    /// Supply rail V_DD [V]; v_h stays in [0, V_DD].
    pub v_dd_v: f64,
    /// Acceleration factor of the recovery currents [1].
    #[serde(default = "one")]
    pub accel: f64,
    /// Linear range of a transconductor recovery, 2 U_T / kappa [V]; 0 (the default): constant recovery currents.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub v_lin_v: f64,
    /// Where a transconductor recovery (`v_lin_v > 0`) delivers no current, relative to V_H0 [V]: its input offset,
    /// or other leakage on the hold node (the sky130 circuit's node recovers to 4.6 mV above V_H0). 0 (the default)
    /// recovers towards V_H0 itself; only a transconductor recovery may have an offset.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub v_rec_offset_v: f64,
    /// Leakage off the hold node near the upper rail [A]: `i_leak_top_a exp((v_h - v_dd) / v_leak_top_v)` towards
    /// ground, the leakage of a switch that no longer holds off near V_DD (the sky130 potentiation switch: 2.20 pA at
    /// V_DD, e-fold per 27.5 mV, nothing within a few hundred mV of V_H0). 0 (the default): none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub i_leak_top_a: f64,
    /// Voltage per e-fold of that leakage [V] (n U_T of the leaking device; required with `i_leak_top_a > 0`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub v_leak_top_v: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn one() -> f64 {
    1.0
}

impl CapacitorParams {
    /// Recovery current [A] at voltage `v` (sign: positive charges the capacitor).
    pub fn recovery_current(&self, v: f64) -> f64 {
        let shape = |d: f64| if self.v_lin_v > 0.0 { (d / self.v_lin_v).tanh() } else { 1.0 };
        let v0 = self.recovery_target();
        if v < v0 {
            self.accel * self.i_hrp_a * shape(v0 - v)
        } else if v > v0 {
            -self.accel * self.i_hrn_a * shape(v - v0)
        } else {
            0.0
        }
    }

    /// The leakage near the upper rail at `v` [A] (negative: it discharges; see `i_leak_top_a`).
    #[inline]
    pub fn leak_current(&self, v: f64) -> f64 {
        if self.i_leak_top_a > 0.0 {
            -self.i_leak_top_a * ((v - self.v_dd_v) / self.v_leak_top_v).exp()
        } else {
            0.0
        }
    }

    /// Everything on the hold node but the switches [A]: recovery plus leakage.
    #[inline]
    pub fn node_current(&self, v: f64) -> f64 {
        self.recovery_current(v) + self.leak_current(v)
    }

    /// Advance v_h over an interval of length `dt` in which the switched currents deliver the net charge `q`
    /// [C] (`integral of (i_hp - i_hd)`), spread evenly: recovery is applied with its sign at the start, the
    /// crossing of the recovery's target (V_H0, or V_H0 + the offset) by recovery is stopped there, and the rails
    /// clamp. With constant recovery currents exact when the interval does not cross V_H0, the error at most the
    /// recovery charge of one interval otherwise (fA x interval); with a transconductor (`v_lin_v > 0`) explicit
    /// Euler, first order in `dt` against its time constant C v_lin / i (seconds to minutes, against the
    /// simulation's sub-millisecond steps).
    pub fn advance(&self, v: f64, q: f64, dt: f64) -> f64 {
        let r = self.node_current(v);
        let mut next = v + (q + r * dt) / self.c_f;
        // Recovery alone must not carry v_h through the voltage it recovers to.
        let v0 = self.recovery_target();
        let crossed = (v - v0) * (next - v0) < 0.0;
        if crossed && (v + q / self.c_f - v0) * (v - v0) > 0.0 {
            next = v0;
        }
        next.clamp(0.0, self.v_dd_v)
    }

    /// The voltage recovery pulls v_h towards [V]: V_H0, plus the transconductor's offset (`v_rec_offset_v`).
    #[inline]
    pub fn recovery_target(&self) -> f64 {
        self.v_h0_v + self.v_rec_offset_v
    }

    /// Time [s] for linear recovery alone to bring `v` back to V_H0 (a transconductor recovery never reaches its
    /// target: infinite away from it).
    pub fn recovery_time(&self, v: f64) -> f64 {
        let r = self.recovery_current(v);
        if self.v_lin_v > 0.0 && v != self.recovery_target() {
            f64::INFINITY
        } else if r == 0.0 {
            0.0
        } else {
            (self.v_h0_v - v) * self.c_f / r
        }
    }

    /// Range checks: positive C, rails, V_H0 within the rails.
    pub fn check(&self, c: &mut Checker) {
        c.positive("c_f", self.c_f, "F");
        c.positive("v_dd_v", self.v_dd_v, "V");
        let vdd = if self.v_dd_v.is_finite() && self.v_dd_v > 0.0 { self.v_dd_v } else { f64::INFINITY };
        c.within("v_h0_v", self.v_h0_v, 0.0, vdd, "V (between the rails 0 and v_dd_v)");
        c.within("v_init_v", self.v_init_v, 0.0, vdd, "V (between the rails 0 and v_dd_v)");
        c.non_negative("i_hrp_a", self.i_hrp_a, "A");
        c.non_negative("i_hrn_a", self.i_hrn_a, "A");
        c.positive("accel", self.accel, "");
        // 0 (constant currents) or at least 1 mV: the event-driven tail steps a transconductor at 1 % of C v_lin / i,
        // so a vanishing v_lin would take vanishing steps (2 U_T / kappa is about 70 mV).
        if self.v_lin_v != 0.0 {
            c.within("v_lin_v", self.v_lin_v, 1e-3, 10.0, "V (0 for constant recovery currents, else 2 U_T / kappa)");
        }
        if self.v_rec_offset_v != 0.0 {
            // Only a transconductor has an offset: constant currents meet at V_H0 (sliding mode there).
            let (lo, hi) = if self.v_lin_v > 0.0 { (-0.1, 0.1) } else { (0.0, 0.0) };
            let what = "V (0 without a transconductor recovery, v_lin_v > 0; with one within 100 mV of V_H0)";
            c.within("v_rec_offset_v", self.v_rec_offset_v, lo, hi, what);
        }
        c.non_negative("i_leak_top_a", self.i_leak_top_a, "A");
        if self.i_leak_top_a > 0.0 {
            // Only with a transconductor recovery: the event-driven tail steps a v_h-dependent node current, and a
            // constant recovery's tail is exact segments.
            c.within("v_leak_top_v", self.v_leak_top_v, 1e-3, 1.0, "V (n U_T: about 28 mV)");
            if self.v_lin_v <= 0.0 {
                c.within(
                    "i_leak_top_a",
                    self.i_leak_top_a,
                    0.0,
                    0.0,
                    "A (0 without a transconductor recovery, v_lin_v > 0)",
                );
            }
        }
    }
}

impl Fields for CapacitorParams {
    fn fields_mut(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![
            ("c_f", &mut self.c_f),
            ("v_h0_v", &mut self.v_h0_v),
            ("v_init_v", &mut self.v_init_v),
            ("i_hrp_a", &mut self.i_hrp_a),
            ("i_hrn_a", &mut self.i_hrn_a),
            ("v_dd_v", &mut self.v_dd_v),
            ("accel", &mut self.accel),
            ("v_lin_v", &mut self.v_lin_v),
            ("v_rec_offset_v", &mut self.v_rec_offset_v),
            ("i_leak_top_a", &mut self.i_leak_top_a),
            ("v_leak_top_v", &mut self.v_leak_top_v),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap() -> CapacitorParams {
        CapacitorParams {
            c_f: 1.2215e-12,
            v_h0_v: 0.9,
            v_init_v: 0.9,
            i_hrp_a: 2.5e-15,
            i_hrn_a: 80e-15,
            v_dd_v: 1.8,
            accel: 1.0,
            v_lin_v: 0.0,
            v_rec_offset_v: 0.0,
            i_leak_top_a: 0.0,
            v_leak_top_v: 0.0,
        }
    }

    #[test]
    fn slope_is_current_over_capacitance() {
        let c = cap();
        // 50 pA for 1 ms from V_H0: dv = I t / C (recovery is zero exactly at V_H0 for the first step).
        let v = c.advance(0.9, 50e-12 * 1e-3, 1e-3);
        assert!((v - (0.9 + 50e-12 * 1e-3 / 1.2215e-12)).abs() < 1e-12);
    }

    #[test]
    fn rails_clamp() {
        let c = cap();
        assert_eq!(c.advance(1.79, 1e-12, 1e-3), 1.8);
        assert_eq!(c.advance(0.01, -1e-12, 1e-3), 0.0);
    }

    #[test]
    fn recovery_is_linear_and_stops_at_v_h0() {
        let c = CapacitorParams { accel: 32.0, ..cap() };
        let mut v = 0.95;
        let slope = -32.0 * 80e-15 / 1.2215e-12;
        let mut t = 0.0;
        let dt = 0.01;
        while t < 10.0 {
            let before = v;
            v = c.advance(v, 0.0, dt);
            t += dt;
            if before > 0.9 && v > 0.9 {
                assert!(((v - before) / dt - slope).abs() < 1e-9, "linear recovery slope");
            }
        }
        assert_eq!(v, 0.9, "recovery stops at V_H0");
        assert!((c.recovery_time(0.95) - 0.05 / (-slope)).abs() < 1e-9);
    }

    /// A transconductor recovery from 50 mV above and 120 mV below V_H0, stepped by `advance`, against its closed
    /// form sinh((v - V_H0) / v_lin) = sinh(u0) e^(-t / tau), tau = C v_lin / (accel i): within 1e-6 V over two time
    /// constants, never across V_H0, and at the full constant current far from it.
    #[test]
    fn transconductor_recovery_follows_its_closed_form() {
        let c = CapacitorParams { accel: 4.0, v_lin_v: 0.07, i_hrp_a: 10e-15, i_hrn_a: 40e-15, ..cap() };
        for (v_start, i) in [(0.95, 40e-15), (0.78, 10e-15)] {
            let tau = c.c_f * c.v_lin_v / (c.accel * i);
            let (mut v, dt) = (v_start, tau / 20_000.0);
            let u0: f64 = (v_start - 0.9) / c.v_lin_v;
            for k in 1..=40_000 {
                v = c.advance(v, 0.0, dt);
                let exact = 0.9 + c.v_lin_v * (u0.sinh() * (-(k as f64) * dt / tau).exp()).asinh();
                assert!((v - exact).abs() < 1e-6, "t = {} tau: {v} against {exact}", k as f64 / 20_000.0);
                assert!((v - 0.9) * (v_start - 0.9) > 0.0);
            }
        }
        // Far from V_H0 the current is the constant one to 1e-9.
        assert!((c.recovery_current(1.7) + 4.0 * 40e-15).abs() < 1e-9 * 4.0 * 40e-15);
        assert_eq!(c.recovery_time(0.95), f64::INFINITY);
    }

    /// With an offset the transconductor recovers towards V_H0 + offset (the same closed form about that voltage),
    /// crossing V_H0 on the way when it starts on the other side; at V_H0 itself it already pulls.
    #[test]
    fn transconductor_with_an_offset_recovers_towards_the_offset_voltage() {
        let c = CapacitorParams { v_lin_v: 0.062, v_rec_offset_v: 0.0045, i_hrp_a: 55e-15, i_hrn_a: 62e-15, ..cap() };
        let target = 0.9045;
        assert_eq!(c.recovery_target(), target);
        assert_eq!(c.recovery_current(target), 0.0);
        // At V_H0, 4.5 mV below the target: 55 fA tanh(4.5 / 62) = 3.99 fA upwards.
        assert!((c.recovery_current(0.9) - 55e-15 * (0.0045f64 / 0.062).tanh()).abs() < 1e-24);
        for (v_start, i) in [(0.93, 62e-15), (0.85, 55e-15)] {
            let tau = c.c_f * c.v_lin_v / i;
            let (mut v, dt) = (v_start, tau / 20_000.0);
            let u0: f64 = (v_start - target) / c.v_lin_v;
            for k in 1..=40_000 {
                v = c.advance(v, 0.0, dt);
                let exact = target + c.v_lin_v * (u0.sinh() * (-(k as f64) * dt / tau).exp()).asinh();
                assert!((v - exact).abs() < 1e-6, "from {v_start}: {v} against {exact}");
                assert!((v - target) * (v_start - target) > 0.0, "never across the target");
            }
        }
        // From 0.85 V it passes V_H0 = 0.9 V on its way up (after four time constants 1.1 mV below the target).
        let mut v = 0.85;
        for _ in 0..80_000 {
            v = c.advance(v, 0.0, c.c_f * c.v_lin_v / 55e-15 / 20_000.0);
        }
        assert!(v > 0.9 && v < target, "{v}");
        // An explicit step long enough to carry v_h past the target stops at the target, not at V_H0; switched
        // charge that carries it across is kept.
        assert_eq!(c.advance(target - 1e-3, 0.0, 100.0), target);
        assert_eq!(c.advance(target + 1e-3, 0.0, 100.0), target);
        let pushed = c.advance(target - 1e-3, 2e-3 * c.c_f, 1e-3);
        assert!(pushed > target + 0.9e-3, "{pushed}");
    }

    /// The leakage near the rail alone, stepped by `advance`, against its closed form: C dv/dt = -I_L e^((v - V_DD) /
    /// v_L) gives e^(-(v - V_DD) / v_L) = e^(-(v0 - V_DD) / v_L) + I_L t / (C v_L).
    #[test]
    fn leakage_near_the_rail_follows_its_closed_form() {
        let c = CapacitorParams {
            c_f: 4.0e-12,
            v_lin_v: 0.068,
            i_hrp_a: 0.0,
            i_hrn_a: 0.0,
            i_leak_top_a: 2.16e-12,
            v_leak_top_v: 0.0276,
            ..cap()
        };
        assert!(c.leak_current(0.9).abs() < 1e-25, "nothing near V_H0");
        let (mut v, dt) = (1.78, 1e-5);
        for k in 1..=200_000 {
            v = c.advance(v, 0.0, dt);
            if k % 20_000 == 0 {
                let t = k as f64 * dt;
                let exact = 1.8 - 0.0276 * ((0.02f64 / 0.0276).exp() + 2.16e-12 * t / (4.0e-12 * 0.0276)).ln();
                assert!((v - exact).abs() < 2e-5, "t = {t}: {v} against {exact}");
            }
        }
        assert!(v < 1.70, "two seconds of leakage take v_h down by more than 80 mV: {v}");
    }

    /// An offset needs a transconductor (constant currents meet at V_H0) and stays within 100 mV; so does a leakage.
    #[test]
    fn an_offset_is_checked() {
        let errors = |c: CapacitorParams| {
            let mut ch = Checker::new("capacitor");
            c.check(&mut ch);
            ch.errors.into_iter().map(|e| e.key).collect::<Vec<_>>()
        };
        assert_eq!(errors(CapacitorParams { v_rec_offset_v: 0.004, ..cap() }), ["capacitor.v_rec_offset_v"]);
        let tc = CapacitorParams { v_lin_v: 0.06, ..cap() };
        assert!(errors(CapacitorParams { v_rec_offset_v: -0.004, ..tc.clone() }).is_empty());
        assert_eq!(errors(CapacitorParams { v_rec_offset_v: 0.2, ..tc.clone() }), ["capacitor.v_rec_offset_v"]);
        // The leakage too needs a transconductor recovery, and its e-fold voltage.
        let leak = CapacitorParams { i_leak_top_a: 1e-12, v_leak_top_v: 0.028, ..cap() };
        assert_eq!(errors(leak.clone()), ["capacitor.i_leak_top_a"]);
        assert!(errors(CapacitorParams { v_lin_v: 0.06, ..leak.clone() }).is_empty());
        assert_eq!(errors(CapacitorParams { v_lin_v: 0.06, v_leak_top_v: 0.0, ..leak }), ["capacitor.v_leak_top_v"]);
    }
}
