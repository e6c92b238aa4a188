//! Speed of the network's per-synapse (device mismatch) path, the default fast path against the reference path that
//! calls `CircuitParams::early_charge` for every synapse with a spike (what `apply_mismatched` did before the fast
//! path): the same workload as `stc bench`'s per_synapse (ten classes, 2 neurons per class, calibrated circuit,
//! sigma 0.1), with a checksum of the final state, which must be the same for both paths.
//!
//! `cargo run --release --example mismatch_speed -- [SAMPLES] [SIGMA] [--reference]`

use stc_synapse::io::mnist;
use stc_synapse::network::{NetConfig, Network};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100);
    let sigma: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0.1);
    let reference = args.iter().any(|a| a == "--reference");
    let (syn, _) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    let data = mnist::embedded_train10k();
    let cfg = NetConfig { per_class: 2, mismatch_sigma: Some(sigma), ..NetConfig::default() };
    let mut net = Network::new(cfg, syn, 784);
    net.fast_mismatch = !reference;
    let mut rng = stc_synapse::stimulus::rng(1);
    let t0 = Instant::now();
    for k in 0..n.min(data.len()) {
        net.train_sample(data.image(k), data.labels[k], &mut rng);
    }
    let wall = t0.elapsed().as_secs_f64();
    let window = net.cfg.presentation_s + net.cfg.gap_s;
    let steps = net.n_in as f64 * net.n_out as f64 * (window / 1e-3).round() * n as f64;
    println!(
        "{} path, sigma {sigma}, {n} samples in {wall:.2} s: {:.3e} equivalent synapse-steps/s; {:.3e} spike events/s in {:.3e} trajectories/s (+ {:.3e} reused/s); checksum sum v_h {:.15e} V, sum z {:.15e}",
        if reference { "reference (early_charge)" } else { "fast" },
        steps / wall,
        net.spike_events as f64 / wall,
        net.trajectories as f64 / wall,
        net.reused_trajectories as f64 / wall,
        net.v.iter().sum::<f64>(),
        net.late.iter().map(|l| l.z).sum::<f64>()
    );
}
