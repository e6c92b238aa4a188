//! The training and testing protocol of thesis section 3.3.2, streaming: samples are encoded, presented and
//! forgotten one at a time, so memory is the synapse state whatever the number of samples.

use super::net::{MemoryStats, NetConfig, Network, TestResult};
use super::rule::Fig14;
use crate::io::mnist::Dataset;
use crate::synapse::CircuitParams;

/// Progress report: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// What a run measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Outcome {
    /// Accuracy right after training (early phase).
    pub accuracy_early: f64,
    /// Accuracy after the accelerated consolidation interval (late phase).
    pub accuracy_late: f64,
    /// Share of test samples with at least one output spike, early test.
    pub output_spike_share_early: f64,
    /// Same, late test.
    pub output_spike_share_late: f64,
    /// Where the memory was at the early test (right after training).
    pub memory_early: MemoryStats,
    /// Where the memory was at the late test (after consolidation).
    pub memory_late: MemoryStats,
    /// The learning rule of the synapse used (thesis Fig. 14 at the network's rates; circuit model only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fig14: Option<Fig14>,
    /// Training samples.
    pub n_train: usize,
    /// Test samples.
    pub n_test: usize,
    /// Classes.
    pub classes: Vec<u8>,
    /// Output neurons.
    pub n_out: usize,
    /// Wall time of the training phase [s].
    pub train_wall_s: f64,
    /// Synapse-steps per second of training: inputs x outputs x 1-ms steps of simulated time / training wall time.
    pub synapse_steps_per_s: f64,
    /// Early-phase accuracy on the test set after this many training samples (the learning curve).
    pub curve: Vec<(usize, f64)>,
    /// Confusion matrix early (rows true, columns predicted, in `classes` order).
    #[serde(skip)]
    pub confusion_early: Vec<Vec<u64>>,
    /// Confusion matrix late.
    #[serde(skip)]
    pub confusion_late: Vec<Vec<u64>>,
    /// Weight map per output neuron after training (early phase), name and 784 values.
    #[serde(skip)]
    pub maps_early: Vec<(String, Vec<f64>)>,
    /// Every early test sample: its label and the output neurons' spikes (counts, first spike times).
    #[serde(skip)]
    pub spikes_early: Vec<(u8, TestResult)>,
    /// The same at the late test.
    #[serde(skip)]
    pub spikes_late: Vec<(u8, TestResult)>,
}

/// What [`evaluate`] measures on a test set.
struct Evaluation {
    accuracy: f64,
    confusion: Vec<Vec<u64>>,
    spike_share: f64,
    samples: Vec<(u8, TestResult)>,
}

/// Accuracy, confusion matrix (samples without an output spike are in no cell), share of samples with a spike,
/// and every sample's label and output spikes.
fn evaluate(net: &Network, test: &Dataset, seed: u64, progress: Progress, stage: &str) -> Evaluation {
    let classes = &net.cfg.classes;
    let mut conf = vec![vec![0u64; classes.len()]; classes.len()];
    let (mut correct, mut spiking) = (0usize, 0usize);
    let mut samples = Vec::with_capacity(test.len());
    let chunk = 500;
    for start in (0..test.len()).step_by(chunk) {
        let end = (start + chunk).min(test.len());
        let imgs: Vec<&[u8]> = (start..end).map(|k| test.image(k)).collect();
        for (k, r) in net.test(&imgs, seed.wrapping_add(start as u64)).into_iter().enumerate() {
            let truth = test.labels[start + k];
            let predicted = r.predicted;
            samples.push((truth, r));
            let Some(pred) = predicted else { continue };
            spiking += 1;
            if pred == truth {
                correct += 1;
            }
            if let (Some(a), Some(b)) =
                (classes.iter().position(|&c| c == truth), classes.iter().position(|&c| c == pred))
            {
                conf[a][b] += 1;
            }
        }
        progress(stage, end, test.len());
    }
    let n = test.len().max(1) as f64;
    Evaluation { accuracy: correct as f64 / n, confusion: conf, spike_share: spiking as f64 / n, samples }
}

/// Train on `train`, test early, consolidate, test late. `checkpoints`: training counts at which the early-phase
/// test accuracy is also measured (the learning curve).
pub fn run(
    cfg: NetConfig,
    syn: CircuitParams,
    train: &Dataset,
    test: &Dataset,
    seed: u64,
    checkpoints: &[usize],
    progress: Progress,
) -> Outcome {
    run_network(Network::new(cfg, syn, train.pixels()), train, test, seed, checkpoints, progress)
}

/// The same protocol for an already built network (e.g. [`Network::new_reference`]).
pub fn run_network(
    mut net: Network,
    train: &Dataset,
    test: &Dataset,
    seed: u64,
    checkpoints: &[usize],
    progress: Progress,
) -> Outcome {
    let mut rng = crate::stimulus::rng(seed);
    let mut curve = Vec::new();
    let mut train_wall = 0.0;
    let window = net.cfg.presentation_s + net.cfg.gap_s;
    for k in 0..train.len() {
        let t0 = std::time::Instant::now();
        net.train_sample(train.image(k), train.labels[k], &mut rng);
        train_wall += t0.elapsed().as_secs_f64();
        if (k + 1) % 50 == 0 || k + 1 == train.len() {
            progress("train", k + 1, train.len());
        }
        if checkpoints.contains(&(k + 1)) && k + 1 < train.len() {
            curve.push((k + 1, evaluate(&net, test, seed ^ 0xC0FFEE, &|_, _, _| {}, "checkpoint").accuracy));
        }
    }
    let early = evaluate(&net, test, seed ^ 0xC0FFEE, progress, "test early");
    let accuracy_early = early.accuracy;
    let memory_early = net.memory_stats();
    curve.push((train.len(), accuracy_early));
    let maps_early =
        (0..net.n_out).map(|i| (format!("neuron {i} (class {})", net.class_of(i)), net.weight_map(i))).collect();
    let (t, accel) = (net.cfg.consolidation_s, net.cfg.accel);
    net.consolidate(t, accel);
    // Balance and gain re-adapt to the consolidated weights on unlabelled training samples, plasticity off.
    let mut rng_adapt = crate::stimulus::rng(seed ^ 0xADA7);
    for k in train.len().saturating_sub(net.cfg.readapt_samples)..train.len() {
        net.adapt(train.image(k), &mut rng_adapt);
    }
    let memory_late = net.memory_stats();
    let late = evaluate(&net, test, seed ^ 0xC0FFEE, progress, "test late");
    let fig14 = net.circuit().map(|s| super::rule::fig14(s, &net.cfg));
    let steps = (window / 1e-3).round();
    let synapse_steps = net.n_in as f64 * net.n_out as f64 * steps * train.len() as f64;
    Outcome {
        accuracy_early,
        accuracy_late: late.accuracy,
        output_spike_share_early: early.spike_share,
        output_spike_share_late: late.spike_share,
        memory_early,
        memory_late,
        fig14,
        n_train: train.len(),
        n_test: test.len(),
        classes: net.cfg.classes.clone(),
        n_out: net.n_out,
        train_wall_s: train_wall,
        synapse_steps_per_s: synapse_steps / train_wall.max(1e-12),
        curve,
        confusion_early: early.confusion,
        confusion_late: late.confusion,
        maps_early,
        spikes_early: early.samples,
        spikes_late: late.samples,
    }
}

/// Peak resident memory of this process [MiB], from /proc (None where not available).
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
