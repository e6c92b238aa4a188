//! `stc rule`: the learning rule (thesis Fig. 14) of a synapse at the network's rates.

use super::CliError;
use crate::io::atomic;
use crate::network::rule::fig14;
use crate::network::NetConfig;
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
}

/// Run `stc rule`.
pub fn run(a: RuleArgs) -> Result<(), CliError> {
    if let Some(out) = &a.out {
        if out.exists() && !a.force {
            return Err(format!("{}: exists (use --force to overwrite)", out.display()).into());
        }
    }
    let (syn, applied) = super::train::synapse(&a.params, a.calibration.as_deref())?;
    let t = fig14(&syn, &NetConfig::default());
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
    println!("signs as thesis Fig. 14: {}", if t.signs_hold(1e-5) { "yes" } else { "NO" });
    if let Some(out) = &a.out {
        let mut m = serde_yaml::Mapping::new();
        m.insert("params".into(), a.params.clone().into());
        m.insert("calibration".into(), a.calibration.clone().unwrap_or_else(|| "fits/cadence.yaml".into()).into());
        m.insert("fig14".into(), serde_yaml::to_value(&t)?);
        m.insert("signs_hold".into(), t.signs_hold(1e-5).into());
        m.insert("calibration_applied".into(), serde_yaml::to_value(&applied)?);
        atomic::write_atomic(out, serde_yaml::to_string(&m)?.as_bytes())?;
    }
    Ok(())
}
