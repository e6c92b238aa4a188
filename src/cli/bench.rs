//! `stc bench`: throughput of the ten-class training workload with the full calibrated circuit model, measured
//! side by side in one run: shared exact trajectories on all cores, the same on one core, and every synapse
//! simulated on its own (the straightforward exact implementation). Ratios are what to quote: the machine is shared.

use super::CliError;
use crate::io::mnist;
use crate::network::protocol::peak_rss_mib;
use crate::network::{NetConfig, Network};
use std::time::Instant;

/// Measure synapse-steps per second (inputs x outputs x 1-ms steps of simulated time per second of wall time).
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Training samples for the shared-trajectory runs.
    #[arg(long, default_value_t = 1000)]
    pub samples: usize,
    /// Training samples for the per-synapse reference run (it is much slower).
    #[arg(long, default_value_t = 3)]
    pub reference_samples: usize,
    /// Output neurons per class.
    #[arg(long, default_value_t = 10)]
    pub per_class: usize,
    /// Run even when the network would need more than 2 GB of memory.
    #[arg(long)]
    pub allow_large: bool,
}

fn rate(net: &mut Network, data: &mnist::Dataset, n: usize) -> (f64, f64) {
    let mut rng = crate::stimulus::rng(1);
    let t0 = Instant::now();
    for k in 0..n.min(data.len()) {
        net.train_sample(data.image(k), data.labels[k], &mut rng);
    }
    let wall = t0.elapsed().as_secs_f64();
    let window = net.cfg.presentation_s + net.cfg.gap_s;
    let steps = net.n_in as f64 * net.n_out as f64 * (window / 1e-3).round() * n.min(data.len()) as f64;
    (steps / wall, wall)
}

/// Run `stc bench`.
pub fn run(a: BenchArgs) -> Result<(), CliError> {
    super::check::at_least_one("samples", a.samples)?;
    super::check::at_least_one("reference-samples", a.reference_samples)?;
    super::check::at_least_one("per-class", a.per_class)?;
    super::check::network_size(784, 10 * a.per_class, a.allow_large)?;
    let (syn, _) = super::train::synapse("mnist-network", None)?;
    let data = mnist::embedded_train10k();
    let cfg = NetConfig { per_class: a.per_class, ..NetConfig::default() };
    let threads = rayon::current_num_threads();
    println!(
        "workload: ten-class MNIST training, 784 inputs x {} outputs, full calibrated circuit synapse",
        10 * a.per_class
    );
    let mut shared = Network::new(cfg.clone(), syn.clone(), 784);
    let (r_all, w_all) = rate(&mut shared, &data, a.samples);
    println!(
        "shared trajectories, {threads} threads: {r_all:.3e} synapse-steps/s ({} samples in {w_all:.2} s)",
        a.samples
    );
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut one = Network::new(cfg.clone(), syn.clone(), 784);
    let (r_one, w_one) = pool.install(|| rate(&mut one, &data, a.samples));
    println!("shared trajectories, 1 thread:  {r_one:.3e} synapse-steps/s ({} samples in {w_one:.2} s)", a.samples);
    let mut own = Network::new(cfg, syn, 784);
    own.share_trajectories = false;
    let (r_own, w_own) = rate(&mut own, &data, a.reference_samples);
    println!(
        "every synapse on its own, {threads} threads: {r_own:.3e} synapse-steps/s ({} samples in {w_own:.2} s)",
        a.reference_samples
    );
    println!("ratios: sharing x{:.1} over per-synapse; {threads} threads x{:.2} over 1", r_all / r_own, r_all / r_one);
    if let Some(m) = peak_rss_mib() {
        println!("peak resident memory: {m:.0} MiB");
    }
    Ok(())
}
