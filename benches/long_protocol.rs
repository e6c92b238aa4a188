//! One evaluation of the circuit model over the 100 s Fig. 11(b) protocol (0.2 s of regular 100 Hz pre and post,
//! then silence; 8-bit counter, accel 32), as the joint fit makes it thousands of times.
//!
//! `cargo bench --bench long_protocol [N]` prints the mean wall time per evaluation over N runs (default 200) of
//! the event-driven path (parameters: fits/cadence-fig17.yaml with accel 32, 8 bits and theta_pro 5 mV so that the
//! late phase runs), and over 3 runs of the fully stepped path (max_step_s everywhere) for comparison.

use stc_synapse::synapse::{CircuitParams, Spikes};
use std::time::Instant;

fn mean_ms(p: &CircuitParams, s: &Spikes, times: &[f64], n: usize, stepped: bool) -> (f64, f64) {
    let mut last = 0.0;
    let t0 = Instant::now();
    for _ in 0..n {
        let tr = if stepped { p.simulate_at_stepped(s, times) } else { p.simulate_at(s, times) };
        last = *tr.z.last().unwrap_or(&0.0);
    }
    (t0.elapsed().as_secs_f64() * 1e3 / n as f64, last)
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(200);
    let mut p = stc_synapse::params::load_circuit("fits/cadence-fig17.yaml").expect("fits/cadence-fig17.yaml");
    p.capacitor.accel = 32.0;
    p.late.accel = 32.0;
    p.late.bits = 8;
    // A protein threshold the protocol reaches, so the counter runs (the Fig. 17 fit alone has no late phase).
    p.tag.theta_pro_v = 0.005;
    let pre: Vec<f64> = (0..20).map(|k| k as f64 * 0.01).collect();
    let post: Vec<f64> = pre.clone();
    let s = Spikes { pre, post };
    // 200 sample times over 100 s (the digitised Fig. 11(b) curves have 32 points in all).
    let times: Vec<f64> = (0..=200).map(|k| k as f64 * 0.5).collect();
    let (fast, z_fast) = mean_ms(&p, &s, &times, n, false);
    let (slow, z_slow) = mean_ms(&p, &s, &times, 3, true);
    println!(
        "long_protocol (Fig. 11(b), 100 s, {} samples): event-driven {fast:.3} ms per evaluation (mean of {n}); \
         stepped {slow:.1} ms (mean of 3); final z {z_fast:.4} vs {z_slow:.4}",
        times.len()
    );
}
