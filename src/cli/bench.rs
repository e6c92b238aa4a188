//! `stc bench`: throughput of the ten-class training workload with the full calibrated circuit synapse, measured
//! side by side in one run for the two code paths:
//! - **shared**: synapses with the same pre train (pixels of equal intensity, regular encoding) and the same post
//!   train (most neurons are silent) share one exact trajectory, computed once per sample;
//! - **per_synapse**: the device-mismatch path (`stc train --mismatch-sigma S`, here S = `--mismatch-sigma`, default
//!   0.1): every synapse has its own parameters and computes its own trajectory; a trajectory that recurs for the
//!   same synapse (same pre train, same output train) is reused from a per-synapse memo instead of recomputed.
//!
//! Two figures per path, because they measure different things:
//! - `equivalent_synapse_steps_per_s`: 784 x outputs x (1 ms steps of simulated time) / wall s. A *label* for
//!   comparison with time-stepped simulators, not work done: neither path steps every synapse every ms.
//! - `events_per_s`: the work actually done, the spike events (pre + post) inside the exact trajectories computed,
//!   per wall s; `trajectories_per_s` counts those trajectories, `reused_trajectories_per_s` the per-synapse path's
//!   trajectories applied from its memo (not counted as events), `rail_walks_per_s` those of them that reach a rail,
//!   walked from their kept steps.
//!
//! No ratio against other simulators is printed: a ratio is quoted only for a peer that ran in the same run
//! (`scripts/bench-brian2` runs Brian2 between two `stc bench` runs and prints the ratios).

use super::CliError;
use crate::io::{atomic, mnist};
use crate::network::protocol::peak_rss_mib;
use crate::network::{NetConfig, Network};
use std::path::PathBuf;
use std::time::Instant;

/// Measure the network's throughput, shared-trajectory and per-synapse paths side by side.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Training samples for the shared-trajectory path.
    #[arg(long, default_value_t = 500)]
    pub samples: usize,
    /// Training samples for the per-synapse (mismatch) path. Its memo of recurring trajectories fills over the
    /// first few hundred samples of a training run and more synapses reach the rails as it goes on, so the
    /// default measures the first 2,000 of the 8,000 (about 30 s); 100 samples measure a cold start.
    #[arg(long, default_value_t = 2000)]
    pub per_synapse_samples: usize,
    /// Relative sigma of the bias currents on the per-synapse path (as `stc train --mismatch-sigma`).
    #[arg(long, default_value_t = 0.1)]
    pub mismatch_sigma: f64,
    /// Output neurons per class.
    #[arg(long, default_value_t = 5)]
    pub per_class: usize,
    /// Run even when the network would need more than 2 GB of memory.
    #[arg(long)]
    pub allow_large: bool,
    /// Write DIR/bench.yaml.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing DIR (the old one survives a failed run).
    #[arg(long)]
    pub force: bool,
}

/// One path's measurement.
#[derive(Clone, Debug, serde::Serialize)]
struct Rate {
    samples: usize,
    wall_s: f64,
    equivalent_synapse_steps_per_s: f64,
    events_per_s: f64,
    trajectories_per_s: f64,
    reused_trajectories_per_s: f64,
    /// Of the reused ones, those that reach a rail, walked step by step from their kept steps.
    rail_walks_per_s: f64,
}

fn rate(net: &mut Network, data: &mnist::Dataset, n: usize, bars: &super::train::Bars, stage: &str) -> Rate {
    let mut rng = crate::stimulus::rng(1);
    let n = n.min(data.len());
    let t0 = Instant::now();
    for k in 0..n {
        net.train_sample(data.image(k), data.labels[k], &mut rng);
        if (k + 1) % 50 == 0 || k + 1 == n {
            bars.update(stage, k + 1, n);
        }
    }
    let wall = t0.elapsed().as_secs_f64().max(1e-12);
    let window = net.cfg.presentation_s + net.cfg.gap_s;
    let steps = net.n_in as f64 * net.n_out as f64 * (window / 1e-3).round() * n as f64;
    Rate {
        samples: n,
        wall_s: wall,
        equivalent_synapse_steps_per_s: steps / wall,
        events_per_s: net.spike_events as f64 / wall,
        trajectories_per_s: net.trajectories as f64 / wall,
        reused_trajectories_per_s: net.reused_trajectories as f64 / wall,
        rail_walks_per_s: net.reused_rail_trajectories as f64 / wall,
    }
}

/// Run `stc bench`.
pub fn run(a: BenchArgs) -> Result<(), CliError> {
    super::check::at_least_one("samples", a.samples)?;
    super::check::at_least_one("per-synapse-samples", a.per_synapse_samples)?;
    super::check::at_least_one("per-class", a.per_class)?;
    super::check::network_size(784, 10 * a.per_class, a.allow_large)?;
    if !(a.mismatch_sigma.is_finite() && a.mismatch_sigma >= 0.0) {
        return Err(format!("--mismatch-sigma must be a finite relative sigma >= 0, found {}", a.mismatch_sigma).into());
    }
    // The output is checked (and staged) before any work; it is swapped in only when the run succeeded.
    let stage = match &a.out {
        Some(d) => Some(atomic::Stage::dir(d, a.force)?),
        None => None,
    };
    let (syn, _) = super::train::synapse("mnist-network", None)?;
    let data = mnist::embedded_train10k();
    let cfg = NetConfig { per_class: a.per_class, ..NetConfig::default() };
    let threads = rayon::current_num_threads();
    println!(
        "workload: ten-class MNIST training, 784 inputs x {} outputs, calibrated circuit synapse, {threads} threads",
        10 * a.per_class
    );
    let bars = super::train::Bars::new();
    let mut shared = Network::new(cfg.clone(), syn.clone(), 784);
    let s = rate(&mut shared, &data, a.samples, &bars, "shared");
    let mut own = Network::new(NetConfig { mismatch_sigma: Some(a.mismatch_sigma), ..cfg }, syn, 784);
    let p = rate(&mut own, &data, a.per_synapse_samples, &bars, "per_synapse");
    println!(
        "per_synapse: device mismatch, sigma {} on every bias current (stc train --mismatch-sigma)",
        a.mismatch_sigma
    );
    for (name, r) in [("shared", &s), ("per_synapse", &p)] {
        println!(
            "{name:12} {:>5} samples in {:7.2} s: {:.3e} equivalent synapse-steps/s (784 x outputs x 1 ms steps / wall s); work done: {:.3e} spike events/s in {:.3e} exact trajectories/s (+ {:.3e} reused/s, of which {:.3e} walked from kept steps)",
            r.samples, r.wall_s, r.equivalent_synapse_steps_per_s, r.events_per_s, r.trajectories_per_s, r.reused_trajectories_per_s, r.rail_walks_per_s
        );
    }
    let rss = peak_rss_mib();
    if let Some(m) = rss {
        println!("peak resident memory: {m:.0} MiB");
    }
    if let Some(stage) = stage {
        let d = stage.path();
        let mut m = serde_yaml::Mapping::new();
        m.insert("workload".into(), format!("ten-class MNIST training, 784 x {} synapses", 10 * a.per_class).into());
        m.insert("threads".into(), (threads as u64).into());
        m.insert("shared".into(), serde_yaml::to_value(&s)?);
        m.insert("per_synapse".into(), serde_yaml::to_value(&p)?);
        m.insert("per_synapse_mismatch_sigma".into(), a.mismatch_sigma.into());
        m.insert("peak_rss_mib".into(), serde_yaml::to_value(rss)?);
        atomic::write_atomic(&d.join("bench.yaml"), serde_yaml::to_string(&m)?.as_bytes())?;
        stage.commit()?;
    }
    Ok(())
}
