//! Bump / anti-bump circuit (Delbruck 1991) as the synaptic tag detector, and the protein condition.
//!
//! ```text
//! I_bump = I_b / (1 + (4/S) cosh^2(kappa dV / 2U_T)),    I_anti = I_b - I_bump,    dV = v_h - V_H0
//! ```
//!
//! The anti-bump current grows monotonically with |dV|; a tag forms when it exceeds a threshold current, the
//! circuit form of `|h - h0| > theta_tag` (thesis Eq. 4); the sign of dV gives the direction (late-phase
//! potentiation or depression). Because I_anti is monotone in |dV| we parameterise the threshold by the voltage
//! it corresponds to, `theta_tag_v`, which is what the thesis reports (0.0151226), and derive the threshold
//! current from the bump parameters ([`TagParams::threshold_current`]).
//!
//! Protein availability (thesis Eq. 5) is sticky: once the summed |v_h - V_H0| of the synapses of a
//! postsynaptic neuron exceeds `theta_pro_v`, p = alpha for ever.

use super::{Checker, Fields};
use serde::{Deserialize, Serialize};

/// Tag and protein parameters, SI units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagParams {
    /// Bump bias current I_b [A].
    #[serde(default = "default_ib")]
    pub i_bump_a: f64,
    /// Transistor width ratio S of the bump circuit's middle branch [1].
    #[serde(default = "default_s")]
    pub s_ratio: f64,
    /// Subthreshold slope factor kappa [1].
    #[serde(default = "default_kappa")]
    pub kappa: f64,
    /// Thermal voltage U_T [V].
    #[serde(default = "default_ut")]
    pub u_t_v: f64,
    /// Tag threshold as a voltage deviation |v_h - V_H0| [V] (thesis theta_tag_c).
    pub theta_tag_v: f64,
    /// Protein threshold on the summed |v_h - V_H0| of a neuron's synapses [V] (thesis theta_pro_circuit).
    pub theta_pro_v: f64,
    /// Protein availability once triggered, alpha [1].
    #[serde(default = "one")]
    pub alpha: f64,
    /// Input offset of the bump circuit's differential pair [V] (device mismatch; 0 in a nominal synapse): the
    /// detector sees dV + offset_v, so its two thresholds sit at dV = theta_tag - offset_v (up) and
    /// -(theta_tag + offset_v) (down).
    /// Set only by the network's per-synapse mismatch ([`crate::network::NetConfig::tag_offset_sigma_v`]), never
    /// read from or written to a parameter file: the single-synapse simulation and the shared network path assume
    /// no offset.
    #[serde(skip)]
    pub offset_v: f64,
}

fn default_ib() -> f64 {
    1e-9
}
fn default_s() -> f64 {
    1.0
}
fn default_kappa() -> f64 {
    0.7
}
fn default_ut() -> f64 {
    0.0256
}
fn one() -> f64 {
    1.0
}

/// Direction of a synaptic tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// No tag.
    None,
    /// v_h above V_H0 by more than the threshold: late-phase potentiation.
    Up,
    /// v_h below V_H0 by more than the threshold: late-phase depression.
    Down,
}

impl TagParams {
    /// Bump current [A] for a voltage difference dV [V].
    pub fn bump_current(&self, dv: f64) -> f64 {
        let c = (self.kappa * dv / (2.0 * self.u_t_v)).cosh();
        self.i_bump_a / (1.0 + (4.0 / self.s_ratio) * c * c)
    }
    /// Anti-bump current [A] = I_b - I_bump; zero-crossing minimum at dV = 0, rises towards I_b.
    pub fn anti_bump_current(&self, dv: f64) -> f64 {
        self.i_bump_a - self.bump_current(dv)
    }
    /// Threshold current [A] of the tag comparator: the anti-bump current at |dV| = theta_tag.
    pub fn threshold_current(&self) -> f64 {
        self.anti_bump_current(self.theta_tag_v)
    }
    /// Tag state for a voltage difference dV = v_h - V_H0, decided on the anti-bump current as the circuit does.
    ///
    /// I_anti is strictly increasing in |dV| (cosh^2 is), so `I_anti(dV) > I_anti(theta_tag)` is exactly
    /// `|dV| > theta_tag`; that form is evaluated (no cosh on the network's hot path, and no loss of the decision
    /// where both currents round to I_b in floating point). The pair's input offset shifts dV (`dv + 0` is `dv`).
    pub fn tag(&self, dv: f64) -> Tag {
        let dv = dv + self.offset_v;
        if dv.abs() > self.theta_tag_v {
            if dv > 0.0 {
                Tag::Up
            } else {
                Tag::Down
            }
        } else {
            Tag::None
        }
    }
    /// Range checks.
    pub fn check(&self, c: &mut Checker) {
        c.positive("i_bump_a", self.i_bump_a, "A");
        c.positive("s_ratio", self.s_ratio, "");
        c.within("kappa", self.kappa, 0.0, 1.0, "");
        c.positive("u_t_v", self.u_t_v, "V");
        c.positive("theta_tag_v", self.theta_tag_v, "V");
        c.non_negative("theta_pro_v", self.theta_pro_v, "V");
        c.non_negative("alpha", self.alpha, "");
        c.within("offset_v", self.offset_v, -1.0, 1.0, "V");
    }
}

/// The tag during a linear relaxation of v_h: v_h - V_H0 starts at `d` and moves toward 0 at `slope` [V/s] (the
/// recovery currents), stopping there, for `t_s` seconds. The detector's input, d + offset, moves monotonically,
/// so it passes each of the three regions (down, none, up) at most once: at most two tagged stretches, the first
/// from the start in the starting direction, the last up to the end (when the input ends beyond a threshold other
/// than the one it started beyond). Returns (direction, duration) of each stretch in time order.
pub fn tagged_stretches(tag: &TagParams, d: f64, slope: f64, t_s: f64) -> Vec<(Tag, f64)> {
    let theta = tag.theta_tag_v;
    let d_end = d - d.signum() * d.abs().min(slope.max(0.0) * t_s);
    let (first, last) = (tag.tag(d), tag.tag(d_end));
    if first == last {
        return if first == Tag::None { Vec::new() } else { vec![(first, t_s)] };
    }
    // first != last: the input moved, so slope > 0. Time at which it reaches the threshold of `side`.
    let x0 = d + tag.offset_v;
    let reach = |side: Tag| {
        let y = if side == Tag::Up { theta } else { -theta };
        ((y - x0).abs() / slope).min(t_s)
    };
    let mut out = Vec::new();
    if first != Tag::None {
        out.push((first, reach(first)));
    }
    if last != Tag::None {
        out.push((last, t_s - reach(last)));
    }
    out.retain(|&(_, t)| t > 0.0);
    out
}

impl Fields for TagParams {
    fn fields_mut(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![
            ("i_bump_a", &mut self.i_bump_a),
            ("s_ratio", &mut self.s_ratio),
            ("kappa", &mut self.kappa),
            ("u_t_v", &mut self.u_t_v),
            ("theta_tag_v", &mut self.theta_tag_v),
            ("theta_pro_v", &mut self.theta_pro_v),
            ("alpha", &mut self.alpha),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stretches against a brute-force relaxation in 1 us steps (tag read at each step's middle), over
    /// offsets inside and beyond the threshold, both signs of the start, slopes 0 and positive.
    #[test]
    fn tagged_stretches_match_a_stepped_relaxation() {
        let mut q = p();
        let dt = 1e-6;
        let t_s = 0.02;
        for offset in [0.0, 0.004, -0.009, 0.02, -0.03] {
            q.offset_v = offset;
            for d in [0.0, 0.005, -0.012, 0.03, -0.05, 0.1] {
                for slope in [0.0, 1.0, 4.0] {
                    let got = tagged_stretches(&q, d, slope, t_s);
                    // Stepped: collect the stretches of equal tag.
                    let mut want: Vec<(Tag, f64)> = Vec::new();
                    let n = (t_s / dt).round() as usize;
                    for k in 0..n {
                        let t = (k as f64 + 0.5) * dt;
                        let v = if d > 0.0 { (d - slope * t).max(0.0) } else { (d + slope * t).min(0.0) };
                        let tg = q.tag(v);
                        match want.last_mut() {
                            Some((last, dur)) if *last == tg => *dur += dt,
                            _ => want.push((tg, dt)),
                        }
                    }
                    let want: Vec<(Tag, f64)> = want.into_iter().filter(|(t, _)| *t != Tag::None).collect();
                    assert_eq!(got.len(), want.len(), "offset {offset} d {d} slope {slope}: {got:?} vs {want:?}");
                    for ((a, x), (b, y)) in got.iter().zip(&want) {
                        assert_eq!(a, b, "offset {offset} d {d} slope {slope}");
                        assert!((x - y).abs() <= 1.5 * dt, "offset {offset} d {d} slope {slope}: {x} vs {y}");
                    }
                }
            }
        }
    }

    #[test]
    fn offset_shifts_both_thresholds() {
        let mut q = p();
        q.offset_v = 0.005;
        let theta = q.theta_tag_v;
        assert_eq!(q.tag(theta - 0.005 + 1e-6), Tag::Up);
        assert_eq!(q.tag(theta - 0.005 - 1e-6), Tag::None);
        assert_eq!(q.tag(-theta - 0.005 - 1e-6), Tag::Down);
        assert_eq!(q.tag(-theta - 0.005 + 1e-6), Tag::None);
        q.offset_v = 0.0;
        assert_eq!(q.tag(theta - 1e-6), Tag::None);
        assert_eq!(q.tag(theta + 1e-6), Tag::Up);
    }

    fn p() -> TagParams {
        TagParams {
            i_bump_a: 1e-9,
            s_ratio: 1.0,
            kappa: 0.7,
            u_t_v: 0.0256,
            theta_tag_v: 0.0151226,
            theta_pro_v: 0.02,
            alpha: 1.0,
            offset_v: 0.0,
        }
    }

    #[test]
    fn bump_peaks_at_zero_with_the_delbruck_value() {
        let t = p();
        // At dV = 0: I_b / (1 + 4/S).
        assert!((t.bump_current(0.0) - 1e-9 / 5.0).abs() < 1e-21);
        assert!(t.bump_current(0.05) < t.bump_current(0.01));
        assert!((t.bump_current(0.03) - t.bump_current(-0.03)).abs() < 1e-24, "symmetric");
        assert!(t.anti_bump_current(0.5) > 0.999 * t.i_bump_a, "anti-bump saturates at I_b");
    }

    #[test]
    fn tag_decision_is_the_anti_bump_comparison() {
        let t = p();
        let ith = t.threshold_current();
        for k in -400..=400 {
            let dv = k as f64 * 1e-4;
            let by_current = t.anti_bump_current(dv) > ith;
            assert_eq!(t.tag(dv) != Tag::None, by_current, "dV = {dv}");
        }
    }

    #[test]
    fn tag_threshold_is_the_voltage_threshold() {
        let t = p();
        assert_eq!(t.tag(0.0151), Tag::None);
        assert_eq!(t.tag(0.0152), Tag::Up);
        assert_eq!(t.tag(-0.0152), Tag::Down);
        assert_eq!(t.tag(-0.015), Tag::None);
    }
}
