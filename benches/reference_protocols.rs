//! Speed of the event-driven reference model on long protocols (`cargo bench --bench reference_protocols`): one
//! evaluation = spikes from the protocol file, then the simulation sampled at the given output times. Prints the
//! median wall time per evaluation over repeated runs; the machine is shared, so compare lines of one run.

use stc_synapse::params;
use stc_synapse::protocol::Protocol;
use std::path::Path;
use std::time::Instant;

fn median_ms(mut f: impl FnMut() -> f64, runs: usize) -> (f64, f64) {
    let mut times = Vec::with_capacity(runs);
    let mut keep = 0.0;
    for _ in 0..runs {
        let t0 = Instant::now();
        keep += f();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[runs / 2], keep)
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocols");
    let cases = [
        ("luboeinski-tetzlaff", "stet.yaml", 1.0, 1.0),
        ("luboeinski-tetzlaff", "wtet.yaml", 1.0, 1.0),
        ("reference", "fig11-strong-potentiation.yaml", 32.0, 0.1),
    ];
    for (preset, file, accel, dt) in cases {
        let protocol = Protocol::load(&dir.join(file)).expect("shipped protocol");
        let mut p = params::load_reference(preset).expect("embedded preset");
        p.accel = accel;
        let s = protocol.spikes();
        let n = (protocol.duration_s / dt).round() as usize;
        let times: Vec<f64> = (0..=n).map(|k| k as f64 * dt).collect();
        let (ms, _) = median_ms(|| *p.simulate_at(&s.pre, &s.post, &times).z.last().unwrap(), 51);
        println!(
            "{preset} accel {accel}: {file} ({} s, {} pre + {} post spikes, {} output samples): {ms:.3} ms per evaluation",
            protocol.duration_s,
            s.pre.len(),
            s.post.len(),
            times.len()
        );
    }
}
