//! The learning rule the network's synapse actually implements: thesis Fig. 14, the change of v_h over one sample
//! (150 ms presentation + 200 ms gap) for the four cases a synapse meets in training, at the network's own rates.
//!
//! - **paired**: a full-intensity pixel (its regular train, 40 Hz -> 6 spikes) and a post train of a neuron driven
//!   by the +1 nA teacher (the LIF of [`super::lif`] alone, no synaptic input: 13 spikes in 150 ms, ~87 Hz);
//! - **pre-only**: the pixel's train, silent neuron;
//! - **post-only**: the teacher-driven post train, dark pixel;
//! - **none**: no spikes.
//!
//! Each is one exact single-synapse simulation ([`CircuitParams::simulate`]) from v_h = V_H0 with the calcium at
//! rest, as every sample of the network starts (the calcium is back at rest after the 200 ms gap). The thesis'
//! rule (its Fig. 14) is paired > 0, pre-only < 0, post-only < 0, none ~ 0: potentiate what the label neuron sees,
//! depress what it does not.

use super::encode;
use super::net::NetConfig;
use crate::synapse::{CircuitParams, Spikes};
use serde::Serialize;

/// Delta v_h over one sample for the four cases [V], and the trains used.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fig14 {
    /// Pre and post spikes.
    pub paired_v: f64,
    /// Pre spikes only.
    pub pre_only_v: f64,
    /// Post spikes only.
    pub post_only_v: f64,
    /// No spikes.
    pub none_v: f64,
    /// Presynaptic spikes in the sample (a pixel of intensity 255).
    pub pre_spikes: usize,
    /// Postsynaptic spikes in the sample (teacher-driven neuron).
    pub post_spikes: usize,
    /// Sample length: presentation + gap [s].
    pub window_s: f64,
}

/// One sample type of the Fig. 14 table: its name, its Delta v_h in a [`Fig14`], and the sign the thesis gives it.
pub struct Case {
    /// Row name.
    pub name: &'static str,
    /// The thesis' sign, as printed.
    pub want: &'static str,
    /// Delta v_h of this case [V].
    pub get: fn(&Fig14) -> f64,
    /// +1: must exceed the tolerance; -1: must be below minus it; 0: must stay within it.
    pub sign: i8,
}

impl Case {
    /// Whether `v` [V] has this case's sign, values within `tol_v` of zero counting as zero.
    pub fn holds(&self, v: f64, tol_v: f64) -> bool {
        match self.sign {
            1 => v > tol_v,
            -1 => v < -tol_v,
            _ => v.abs() <= tol_v,
        }
    }
}

/// The four cases of thesis Fig. 14, in table order.
pub const CASES: [Case; 4] = [
    Case { name: "paired", want: "> 0", get: |t| t.paired_v, sign: 1 },
    Case { name: "pre-only", want: "< 0", get: |t| t.pre_only_v, sign: -1 },
    Case { name: "post-only", want: "< 0", get: |t| t.post_only_v, sign: -1 },
    Case { name: "none", want: "~ 0", get: |t| t.none_v, sign: 0 },
];

/// Tolerance of the signs [V]: 10 uV, "none ~ 0" against round-off (recovery at V_H0 is zero).
pub const SIGN_TOL_V: f64 = 1e-5;

impl Fig14 {
    /// Whether the signs of thesis Fig. 14 hold (values within `tol_v` of zero count as zero).
    pub fn signs_hold(&self, tol_v: f64) -> bool {
        CASES.iter().all(|c| c.holds((c.get)(self), tol_v))
    }

    /// The table as Markdown rows (mV).
    pub fn markdown(&self) -> String {
        let mut s = String::from("| sample | Delta v_h [mV] | thesis Fig. 14 |\n|---|---|---|\n");
        for c in &CASES {
            s.push_str(&format!("| {} | {:+.3} | {} |\n", c.name, 1e3 * (c.get)(self), c.want));
        }
        s
    }
}

/// Post train of an output neuron driven by the teacher current alone during the presentation [s].
pub fn teacher_train(cfg: &NetConfig) -> Vec<f64> {
    let l = &cfg.lif;
    let prop = l.propagator(cfg.dt_s);
    let steps = (cfg.presentation_s / cfg.dt_s).round() as usize;
    let ref_steps = (l.t_ref_s / cfg.dt_s).round() as usize;
    let e = l.v_rev_v + l.r_m_ohm * (cfg.teacher_a + l.i_bg_a);
    let (mut v, mut refr, mut out) = (l.v_rev_v, 0usize, Vec::new());
    for k in 0..steps {
        let (nv, _) = prop.step(v, 0.0, e, l.v_per_weight_v);
        if refr > 0 {
            refr -= 1;
            v = l.v_reset_v;
            continue;
        }
        v = nv;
        if v >= l.v_th_v {
            out.push((k + 1) as f64 * cfg.dt_s);
            v = l.v_reset_v;
            refr = ref_steps;
        }
    }
    out
}

/// The Fig. 14 table of synapse `syn` at the rates of network `cfg`.
pub fn fig14(syn: &CircuitParams, cfg: &NetConfig) -> Fig14 {
    let mut p = syn.clone();
    p.capacitor.v_init_v = p.capacitor.v_h0_v;
    p.dpi.i_init_a = p.dpi.i_rest();
    let window = cfg.presentation_s + cfg.gap_s;
    let pre =
        encode::regular_train(encode::regular_count(255, cfg.max_rate_hz, cfg.presentation_s), cfg.presentation_s);
    let post = teacher_train(cfg);
    let dv = |pre: &[f64], post: &[f64]| {
        let tr = p.simulate(&Spikes { pre: pre.to_vec(), post: post.to_vec() }, window, window);
        tr.v_h_v.last().copied().unwrap_or(p.capacitor.v_h0_v) - p.capacitor.v_h0_v
    };
    Fig14 {
        paired_v: dv(&pre, &post),
        pre_only_v: dv(&pre, &[]),
        post_only_v: dv(&[], &post),
        none_v: dv(&[], &[]),
        pre_spikes: pre.len(),
        post_spikes: post.len(),
        window_s: window,
    }
}

/// How one case of the Fig. 14 table spreads over mismatched synapses [V].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaseSpread {
    /// Share of synapses whose Delta v_h has the thesis' sign (for `none`: |Delta v_h| within the tolerance).
    pub right_sign_share: f64,
    /// 5 % quantile of Delta v_h [V]: of the n values sorted, the one at index round(0.05 (n - 1)) (a sample
    /// value, no interpolation; likewise the median and the 95 % quantile).
    pub p05_v: f64,
    /// Median of Delta v_h [V]: index round(0.5 (n - 1)), the upper of the two middle values for even n.
    pub median_v: f64,
    /// 95 % quantile of Delta v_h [V]: index round(0.95 (n - 1)).
    pub p95_v: f64,
}

/// The Fig. 14 table over a population of mismatched synapses: how often each case keeps its sign, and how far its
/// Delta v_h spreads: a synapse whose paired sample does not potentiate, or whose post-only sample potentiates,
/// does not implement the thesis' rule, however the network's accuracy then fares (that is measured by `stc train
/// --mismatch-sigma`, not here).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fig14Spread {
    /// Synapses simulated.
    pub synapses: usize,
    /// Share of synapses for which all four signs hold.
    pub all_signs_share: f64,
    /// Share of synapses whose paired sample ends below their post-only sample (by more than the sign tolerance):
    /// when their neuron fires they favour the pixels that were off, the opposite of what the rule is for.
    pub inverted_share: f64,
    /// Paired sample.
    pub paired: CaseSpread,
    /// Pre spikes only.
    pub pre_only: CaseSpread,
    /// Post spikes only.
    pub post_only: CaseSpread,
    /// No spikes.
    pub none: CaseSpread,
}

impl Fig14Spread {
    /// Summarise the tables of `tables` (one per synapse) with sign tolerance `tol_v`.
    pub fn of(tables: &[Fig14], tol_v: f64) -> Fig14Spread {
        let share =
            |f: &dyn Fn(&Fig14) -> bool| tables.iter().filter(|t| f(t)).count() as f64 / tables.len().max(1) as f64;
        let [paired, pre_only, post_only, none] = CASES.map(|c| {
            let mut v: Vec<f64> = tables.iter().map(c.get).collect();
            v.sort_by(f64::total_cmp);
            let q = |p: f64| {
                if v.is_empty() {
                    f64::NAN
                } else {
                    v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)]
                }
            };
            CaseSpread {
                right_sign_share: v.iter().filter(|&&x| c.holds(x, tol_v)).count() as f64 / v.len().max(1) as f64,
                p05_v: q(0.05),
                median_v: q(0.5),
                p95_v: q(0.95),
            }
        });
        Fig14Spread {
            synapses: tables.len(),
            all_signs_share: share(&|t| t.signs_hold(tol_v)),
            inverted_share: share(&|t| t.paired_v < t.post_only_v - tol_v),
            paired,
            pre_only,
            post_only,
            none,
        }
    }

    /// The spread as Markdown rows (mV).
    pub fn markdown(&self) -> String {
        let mut s = String::from(
            "| sample | right sign | 5 % [mV] | median [mV] | 95 % [mV] | thesis Fig. 14 |\n|---|---|---|---|---|---|\n",
        );
        for (c, sp) in CASES.iter().zip([&self.paired, &self.pre_only, &self.post_only, &self.none]) {
            s.push_str(&format!(
                "| {} | {:.1} % | {:+.3} | {:+.3} | {:+.3} | {} |\n",
                c.name,
                100.0 * sp.right_sign_share,
                1e3 * sp.p05_v,
                1e3 * sp.median_v,
                1e3 * sp.p95_v,
                c.want
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(paired_mv: f64, pre_mv: f64, post_mv: f64, none_mv: f64) -> Fig14 {
        Fig14 {
            paired_v: 1e-3 * paired_mv,
            pre_only_v: 1e-3 * pre_mv,
            post_only_v: 1e-3 * post_mv,
            none_v: 1e-3 * none_mv,
            pre_spikes: 6,
            post_spikes: 13,
            window_s: 0.35,
        }
    }

    #[test]
    fn spread_counts_signs_and_reads_quantiles_at_rounded_indices() {
        // 21 synapses: paired -1..19 mV (19 of 21 above the 10 uV tolerance: 0 is not), pre-only -5 mV except
        // one at +1 mV, post-only all -2 mV, none 0 except one at +0.02 mV (outside the tolerance).
        let tables: Vec<Fig14> = (0..21)
            .map(|k| {
                let k = k as f64;
                t(k - 1.0, if k == 3.0 { 1.0 } else { -5.0 }, -2.0, if k == 20.0 { 0.02 } else { 0.0 })
            })
            .collect();
        let s = Fig14Spread::of(&tables, 1e-5);
        assert_eq!(s.synapses, 21);
        assert!((s.paired.right_sign_share - 19.0 / 21.0).abs() < 1e-12);
        assert!((s.pre_only.right_sign_share - 20.0 / 21.0).abs() < 1e-12);
        assert_eq!(s.post_only.right_sign_share, 1.0);
        assert!((s.none.right_sign_share - 20.0 / 21.0).abs() < 1e-12);
        // k = 0 (paired -1 mV), 1 (paired 0), 3 (pre-only +1 mV) and 20 (none) break a sign: 17 of 21 keep all four.
        assert!((s.all_signs_share - 17.0 / 21.0).abs() < 1e-12);
        // Index round(p (n - 1)) on 21 sorted values: 5 % -> 1, median -> 10, 95 % -> 19.
        assert!((s.paired.p05_v - 0.0).abs() < 1e-15);
        assert!((s.paired.median_v - 9e-3).abs() < 1e-15);
        assert!((s.paired.p95_v - 18e-3).abs() < 1e-15);
        assert!((s.pre_only.p95_v + 5e-3).abs() < 1e-15 && (s.pre_only.p05_v + 5e-3).abs() < 1e-15);
    }

    #[test]
    fn spread_counts_inverted_pairing_beyond_the_tolerance() {
        // Paired 1 uV below post-only counts as inverted (tolerance 10 nV here); equal, or 1 uV above, does not.
        let tables = vec![
            t(-2.001, -1.0, -2.0, 0.0),
            t(-2.0, -1.0, -2.0, 0.0),
            t(-1.999, -1.0, -2.0, 0.0),
            t(5.0, -1.0, -2.0, 0.0),
        ];
        let s = Fig14Spread::of(&tables, 1e-8);
        assert_eq!(s.inverted_share, 0.25, "{s:?}");
    }

    #[test]
    fn spread_rounds_quantile_indices_and_applies_the_tolerance_to_every_sign() {
        // 11 synapses, paired 0..10 mV: 95 % -> index round(9.5) = 10 (floor would give 9), 5 % -> round(0.5) = 1
        // (rounding half away from zero; floor 0), median -> 5.
        let tables: Vec<Fig14> = (0..11).map(|k| t(k as f64, -1.0, -1.0, 0.0)).collect();
        let s = Fig14Spread::of(&tables, 1e-5);
        assert!((s.paired.p95_v - 10e-3).abs() < 1e-15, "{s:?}");
        assert!((s.paired.p05_v - 1e-3).abs() < 1e-15, "{s:?}");
        assert!((s.paired.median_v - 5e-3).abs() < 1e-15, "{s:?}");
        // Values inside the 10 uV tolerance do not count as a sign: paired +5 uV, pre-only and post-only -5 uV are
        // wrong; none -5 uV is right, none -20 uV and +20 uV are wrong.
        let tables = vec![
            t(5e-3, -5e-3, -5e-3, -5e-3),
            t(1.0, -1.0, -1.0, -20e-3),
            t(1.0, -1.0, -1.0, 20e-3),
            t(1.0, -1.0, -1.0, 0.0),
        ];
        let s = Fig14Spread::of(&tables, 1e-5);
        assert_eq!(s.paired.right_sign_share, 0.75);
        assert_eq!(s.pre_only.right_sign_share, 0.75);
        assert_eq!(s.post_only.right_sign_share, 0.75);
        assert_eq!(s.none.right_sign_share, 0.5);
        assert_eq!(s.all_signs_share, 0.25);
    }
}
