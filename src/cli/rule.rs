//! `stc rule`: the learning rule (thesis Fig. 14) of a synapse at the network's rates.

use super::CliError;
use crate::io::atomic;
use crate::network::net::mismatched_synapses;
use crate::network::rule::{fig14, Fig14Spread, SIGN_TOL_V};
use crate::network::NetConfig;
use rayon::prelude::*;
use std::path::PathBuf;

/// Print (and write as YAML) the thesis Fig. 14 table: Delta v_h over one 150 ms sample + 200 ms gap for paired,
/// pre-only, post-only and no spikes, at the network's rates (a 40 Hz pixel; a neuron driven by the 1 nA teacher).
///
/// The synapse is the bias preset with the calibration carried to its biases by the transfer rule (the same as
/// `stc train` uses). The thesis' rule is paired > 0, pre-only < 0, post-only < 0, none ~ 0.
#[derive(clap::Args, Debug)]
pub struct RuleArgs {
    /// Synapse bias preset or parameter file (circuit model).
    #[arg(long, default_value = "mnist-network")]
    pub params: String,
    /// Calibration (a `stc fit` output) carried to these biases; `none` for ideal blocks. Default: the checked-in
    /// fit, as `stc train`.
    #[arg(long)]
    pub calibration: Option<String>,
    /// Write the table as YAML to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overwrite an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// Also show how the rule spreads under device mismatch: simulate --synapses synapses, each with the 13 bias
    /// currents `stc train --mismatch-sigma` varies (DPI I_TH, I_TAU, I_INDC and both jumps; both comparator
    /// thresholds; both switches' on and off currents; both recovery currents) multiplied by independent
    /// log-normal factors of relative sigma S (mean 1). They are the same synapses as those of a network trained
    /// with the same --params, --calibration, sigma and --seed (its first ones, pixel by pixel). Prints, per
    /// sample type, the share of synapses that keep the thesis' sign (within 10 uV) and the 5 %, median and 95 %
    /// of Delta v_h.
    #[arg(long, value_name = "S", group = "variation")]
    pub mismatch_sigma: Option<f64>,
    /// As --mismatch-sigma, with the variation from a mismatch file (as `stc train --mismatch FILE`).
    #[arg(long, value_name = "FILE", group = "variation")]
    pub mismatch: Option<PathBuf>,
    /// Mismatched synapses to simulate (1 to 100,000; with --mismatch-sigma or --mismatch).
    #[arg(long, value_name = "N", default_value_t = 400, requires = "variation")]
    pub synapses: usize,
    /// Seed of the mismatch draw (with --mismatch-sigma or --mismatch).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "variation")]
    pub seed: u64,
}

/// Run `stc rule`.
pub fn run(a: RuleArgs) -> Result<(), CliError> {
    if let Some(out) = &a.out {
        if out.exists() && !a.force {
            return Err(format!("{}: exists (use --force to overwrite)", out.display()).into());
        }
    }
    let (syn, applied) = super::train::synapse(&a.params, a.calibration.as_deref())?;
    // Every input is checked before anything is computed or printed.
    let mismatch = a.mismatch_sigma.is_some() || a.mismatch.is_some();
    let sigma = a.mismatch_sigma.unwrap_or(0.0);
    if !(sigma.is_finite() && sigma >= 0.0) {
        return Err(format!("--mismatch-sigma must be a finite relative sigma >= 0, found {sigma}").into());
    }
    if mismatch && !(1..=100_000).contains(&a.synapses) {
        return Err(format!("--synapses must be between 1 and 100000, found {}", a.synapses).into());
    }
    let file = match &a.mismatch {
        Some(path) => Some(crate::params::mismatch::MismatchSpec::load_for(
            path,
            &syn,
            &format!("`{}` with its calibration", a.params),
        )?),
        None => None,
    };
    let cfg = NetConfig::default();
    let t = fig14(&syn, &cfg);
    println!(
        "Fig. 14 rule of `{}` ({}), {} pre / {} post spikes in {} s:",
        a.params,
        match a.calibration.as_deref() {
            Some("none") => "ideal blocks".to_string(),
            Some(c) => format!("calibration {c}"),
            None => "calibration fits/cadence.yaml (embedded default)".to_string(),
        },
        t.pre_spikes,
        t.post_spikes,
        t.window_s
    );
    print!("{}", t.markdown());
    println!("signs as thesis Fig. 14: {}", if t.signs_hold(SIGN_TOL_V) { "yes" } else { "NO" });
    let spread = if mismatch {
        let synapses = mismatched_synapses(&syn, a.synapses, a.seed, sigma, file.as_ref());
        let tables: Vec<_> = synapses.par_iter().map(|p| fig14(p, &cfg)).collect();
        let s = Fig14Spread::of(&tables, SIGN_TOL_V);
        println!(
            "under mismatch ({}, seed {}), {} synapses: all four signs on {:.1} %",
            match &a.mismatch {
                Some(f) => format!("file {}", f.display()),
                None => format!("sigma {sigma} on the 13 bias currents stc train varies"),
            },
            a.seed,
            s.synapses,
            100.0 * s.all_signs_share
        );
        print!("{}", s.markdown());
        println!("paired sample ending below post-only (inverted): {:.1} %", 100.0 * s.inverted_share);
        Some(s)
    } else {
        None
    };
    if let Some(out) = &a.out {
        let mut m = serde_yaml::Mapping::new();
        m.insert("params".into(), a.params.clone().into());
        m.insert("calibration".into(), a.calibration.clone().unwrap_or_else(|| "fits/cadence.yaml".into()).into());
        m.insert("fig14".into(), serde_yaml::to_value(&t)?);
        m.insert("signs_hold".into(), t.signs_hold(SIGN_TOL_V).into());
        m.insert("calibration_applied".into(), serde_yaml::to_value(&applied)?);
        if let Some(sp) = &spread {
            m.insert("mismatch_sigma".into(), serde_yaml::to_value(a.mismatch_sigma)?);
            m.insert(
                "mismatch_file".into(),
                serde_yaml::to_value(a.mismatch.as_ref().map(|p| p.display().to_string()))?,
            );
            m.insert("seed".into(), a.seed.into());
            m.insert("fig14_under_mismatch".into(), serde_yaml::to_value(sp)?);
        }
        atomic::write_atomic(out, serde_yaml::to_string(&m)?.as_bytes())?;
    }
    Ok(())
}
