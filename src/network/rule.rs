//! The learning rule the network's synapse actually implements: thesis Fig. 14, the change of v_h over one sample
//! (150 ms presentation + 200 ms gap) for the four cases a synapse meets in training, at the network's own rates.
//!
//! - **paired**: a full-intensity pixel (its regular train, 40 Hz -> 6 spikes) and a post train of a neuron driven
//!   by the +1 nA teacher (the LIF of [`super::lif`] alone, no synaptic input: ~80 Hz);
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

impl Fig14 {
    /// Whether the signs of thesis Fig. 14 hold (|none| below `tol_v`).
    pub fn signs_hold(&self, tol_v: f64) -> bool {
        self.paired_v > tol_v && self.pre_only_v < -tol_v && self.post_only_v < -tol_v && self.none_v.abs() <= tol_v
    }

    /// The table as Markdown rows (mV).
    pub fn markdown(&self) -> String {
        let mut s = String::from("| sample | Delta v_h [mV] | thesis Fig. 14 |\n|---|---|---|\n");
        for (name, v, want) in [
            ("paired", self.paired_v, "> 0"),
            ("pre-only", self.pre_only_v, "< 0"),
            ("post-only", self.post_only_v, "< 0"),
            ("none", self.none_v, "~ 0"),
        ] {
            s.push_str(&format!("| {name} | {:+.3} | {want} |\n", 1e3 * v));
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
