//! Helpers shared by test binaries.

use stc_synapse::fit::problem::{FitProblem, Target};
use stc_synapse::fit::spec::{FreeParam, Role, Scale};
use stc_synapse::synapse::Spikes;

/// A 30 ms pairing simulated with the Fig. 17 calibration as synthetic data (i_hp and v_h), and a fit problem over
/// `keys` (key, lower, upper, scale) starting 30 % off the truth.
pub fn small_problem(keys: &[(&str, f64, f64, Scale)]) -> (FitProblem, Vec<f64>) {
    let p = stc_synapse::params::load_circuit("cadence-fig17").unwrap();
    let spikes = Spikes { pre: vec![0.004], post: vec![0.002] };
    let times: Vec<f64> = (0..150).map(|k| k as f64 * 2e-4).collect();
    let tr = p.simulate_at(&spikes, &times);
    let targets = vec![
        Target { signal: "i_hp".into(), t_s: times.clone(), y: tr.i_hp_a.clone(), set: 0 },
        Target { signal: "v_h".into(), t_s: times.clone(), y: tr.v_h_v.clone(), set: 0 },
    ];
    let free: Vec<FreeParam> = keys
        .iter()
        .map(|&(k, lower, upper, scale)| FreeParam {
            key: k.into(),
            lower,
            upper,
            start: None,
            scale,
            role: Role::Property,
            prior_sigma_rel: None,
        })
        .collect();
    let start: Vec<f64> = free.iter().map(|f| (p.get(&f.key).unwrap() * 1.3).clamp(f.lower, f.upper)).collect();
    (FitProblem::new(p, free, spikes, targets, vec![1.0; 2], vec![0.0; 2]), start)
}
