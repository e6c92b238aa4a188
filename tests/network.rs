//! The network on MNIST with the spiking read-out: what the calibrated circuit synapse learns, where the memory
//! lives at each test, and that the late phase is what carries it after consolidation.

use stc_synapse::io::mnist;
use stc_synapse::network::{protocol, NetConfig, Network};

fn zeros_ones(cfg: NetConfig) -> protocol::Outcome {
    let (syn, _) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    let train = mnist::embedded_thesis_train().take(170);
    let test = mnist::embedded_thesis_test();
    protocol::run(cfg, syn, &train, &test, 1, &[], &|_, _, _| {})
}

#[test]
fn calibration_is_carried_not_copied() {
    let (syn, applied) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    let keys: Vec<&str> = applied.iter().map(|t| t.key.as_str()).collect();
    assert!(keys.contains(&"capacitor.c_f") && keys.contains(&"pot_comparator.width_a"));
    assert!(!keys.contains(&"pot_comparator.threshold_a"), "biases are not carried over");
    // The soft potentiation edge stays above the depression threshold at the network's biases.
    assert!(syn.pot_comparator.threshold_a - 0.5 * syn.pot_comparator.width_a > syn.dep_comparator.threshold_a);
}

#[test]
fn zeros_and_ones_learn_with_output_spikes_and_the_memory_moves_from_v_h_to_z() {
    let o = zeros_ones(NetConfig::zeros_ones());
    // Issue 8's bar for zeros/ones: >= 99 % early and late on the thesis' 100 test rows (measured 99 / 100 % with
    // seed 1, README), at most one miss in each test. The late test sees only z: consolidation must carry what was
    // learned.
    assert!(o.accuracy_early >= 0.99, "early {}", o.accuracy_early);
    assert!(o.accuracy_late >= 0.99, "late {}", o.accuracy_late);
    assert!(o.output_spike_share_early >= 0.99, "spiking share {}", o.output_spike_share_early);
    // At the late test v_h is back at V_H0: all of |w - w_rest| is in z.
    assert!(o.memory_early.share_v_h > 0.5, "{:?}", o.memory_early);
    assert_eq!(o.memory_late.share_v_h, 0.0, "{:?}", o.memory_late);
    assert!(o.memory_late.tagged == 0 && o.memory_early.tagged > 0);
    // Not every synapse is tagged (some stay untagged).
    assert!(o.memory_early.tagged < o.memory_early.synapses, "{:?}", o.memory_early);
    let f = o.fig14.expect("circuit model carries its rule");
    assert!(f.signs_hold(stc_synapse::network::rule::SIGN_TOL_V), "{}", f.markdown());
}

#[test]
fn the_protein_condition_binds_beyond_the_initial_spread() {
    // Eq. 5 sums |v_h - V_H0| over a neuron's 784 synapses. With the preset's theta_pro (10 V) a neuron makes protein
    // with its first learned sample, so tags formed before that are withheld from the late phase; with Table 3's
    // 0.02 V the 10 mV initial spread alone (about 6.3 V per neuron) gives every neuron protein after sample 1.
    let run = |theta_pro: Option<f64>| {
        let (mut syn, _) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
        if let Some(t) = theta_pro {
            syn.tag.theta_pro_v = t;
        }
        let train = mnist::embedded_thesis_train().take(170);
        protocol::run(NetConfig::zeros_ones(), syn, &train, &mnist::embedded_thesis_test(), 1, &[], &|_, _, _| {})
    };
    let binding = run(None).memory_early;
    let k = binding.samples_until_all_protein.expect("every neuron gets protein within 170 samples");
    assert!(k > 10, "all neurons had protein after sample {k}");
    let vacuous = run(Some(0.02)).memory_early;
    assert_eq!(vacuous.samples_until_all_protein, Some(1));
    // The withheld updates: more than the first sample's (the same in both runs) when the condition binds.
    assert!(vacuous.tagged_without_protein > 0);
    assert!(
        binding.tagged_without_protein > 2 * vacuous.tagged_without_protein,
        "{} vs {}",
        binding.tagged_without_protein,
        vacuous.tagged_without_protein
    );
}

#[test]
fn without_the_late_phase_nothing_is_consolidated() {
    let o = zeros_ones(NetConfig { late_phase: false, ..NetConfig::zeros_ones() });
    assert_eq!(o.memory_early.z_changed, 0);
    assert_eq!(o.memory_late.share_z, 0.0);
    // Weights are all at rest at the late test: no synapse holds anything of the training. What the neurons still
    // differ by is their homeostasis (thresholds, and the balance's inhibition, which decays during the re-adaptation;
    // the gain control can scale it up only within its range), which does not tell the classes apart: the accuracy
    // is at most chance (measured 0 %: the few samples with an output spike go to the wrong class).
    assert_eq!(o.memory_late.share_v_h + o.memory_late.share_z, 0.0, "{:?}", o.memory_late);
    assert!(o.accuracy_late <= 0.5, "late {} ({:?})", o.accuracy_late, o.confusion_late);
    assert!(o.memory_late.gain_max <= NetConfig::default().gain_range, "{:?}", o.memory_late);
}

#[test]
fn no_output_spike_counts_as_wrong() {
    // With no background current and a tiny synaptic gain no output neuron can reach threshold at test (with the
    // gain control off: it would scale the input back up).
    let mut cfg = NetConfig { classes: vec![0, 1], gain_tau_samples: 0.0, ..NetConfig::default() };
    cfg.lif.i_bg_a = 0.0;
    cfg.lif.v_per_weight_v = 1e-6;
    let o = zeros_ones(cfg);
    assert_eq!(o.output_spike_share_early, 0.0);
    assert_eq!(o.accuracy_early, 0.0);
}

#[test]
fn shared_trajectories_equal_per_synapse_simulation() {
    // Consistency of the two code paths of the network (both use the same circuit functions, so this is not an
    // independent check of the synapse update).
    let (syn, _) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    let data = mnist::embedded_train10k();
    let cfg = NetConfig { per_class: 2, ..NetConfig::default() };
    let mut a = Network::new(cfg.clone(), syn.clone(), 784);
    let mut b = Network::new(cfg, syn, 784);
    b.share_trajectories = false;
    let (mut ra, mut rb) = (stc_synapse::stimulus::rng(4), stc_synapse::stimulus::rng(4));
    let before = a.v.clone();
    for k in 0..3 {
        a.train_sample(data.image(k), data.labels[k], &mut ra);
        b.train_sample(data.image(k), data.labels[k], &mut rb);
    }
    assert!(a.v.iter().zip(&before).any(|(x, y)| (x - y).abs() > 1e-3), "the samples changed some weights");
    let worst = a.v.iter().zip(&b.v).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-12, "shared and per-synapse v_h differ by {worst} V");
    assert!(a.late.iter().zip(&b.late).all(|(x, y)| x == y));
    assert!(b.trajectories > a.trajectories, "the per-synapse path computes more trajectories");
}

#[test]
fn mismatch_zero_equals_the_shared_network_bit_for_bit_and_sigma_makes_synapses_differ() {
    let (syn, _) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    let data = mnist::embedded_thesis_train().take(20);
    let train = |sigma: Option<f64>, consolidate: bool| {
        let cfg = NetConfig { classes: vec![0, 1], mismatch_sigma: sigma, ..NetConfig::default() };
        let mut net = Network::new(cfg, syn.clone(), 784);
        let mut rng = stc_synapse::stimulus::rng(3);
        for k in 0..data.len() {
            net.train_sample(data.image(k), data.labels[k], &mut rng);
        }
        if consolidate {
            net.consolidate(600.0, 32.0);
        }
        net
    };
    let shared = train(None, true);
    let zero = train(Some(0.0), true);
    // S = 0 runs the per-synapse path with every factor exactly 1: the same numbers, bit for bit.
    assert!(zero.trajectories > shared.trajectories, "S = 0 took the per-synapse path");
    assert_eq!(zero.v, shared.v);
    assert_eq!(zero.late, shared.late);
    assert!(
        shared.v.iter().any(|&v| (v - syn.capacitor.v_h0_v).abs() > 1e-3) || shared.late.iter().any(|l| l.z != 0.0)
    );
    let spread = train(Some(0.1), false);
    let shared = train(None, false);
    let (a, b) = (spread.synapse_params(0).unwrap(), spread.synapse_params(1).unwrap());
    for key in stc_synapse::network::net::MISMATCH_CURRENTS {
        assert_ne!(a.get(key), b.get(key), "{key} varies between synapses");
        assert_eq!(zero.synapse_params(0).unwrap().get(key), syn.get(key), "{key} at S = 0");
    }
    assert_eq!(a.capacitor.c_f, b.capacitor.c_f, "the capacitor is not varied");
    let moved = spread.v.iter().zip(&shared.v).filter(|(x, y)| x != y).count();
    assert!(moved > spread.v.len() / 2, "mismatch changes most synapses' trajectories: {moved}");
}

/// Train two networks with mismatch on the same samples, one on the fast per-synapse path (no allocation, memo of
/// recurring trajectories), one calling `early_charge` for every synapse with a spike; returns both. The capacitor
/// is the preset's divided by `c_div` (a smaller one takes v_h to the rails within a few samples).
fn fast_and_reference(classes: Vec<u8>, data: &mnist::Dataset, samples: usize, c_div: f64) -> (Network, Network) {
    let (mut syn, _) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    syn.capacitor.c_f /= c_div;
    let cfg = NetConfig { classes, per_class: 1, mismatch_sigma: Some(0.1), ..NetConfig::default() };
    let mut a = Network::new(cfg.clone(), syn.clone(), 784);
    let mut b = Network::new(cfg, syn, 784);
    b.fast_mismatch = false;
    let (mut ra, mut rb) = (stc_synapse::stimulus::rng(5), stc_synapse::stimulus::rng(5));
    let before = a.v.clone();
    for k in 0..samples {
        a.train_sample(data.image(k), data.labels[k], &mut ra);
        b.train_sample(data.image(k), data.labels[k], &mut rb);
    }
    assert!(a.v.iter().zip(&before).any(|(x, y)| (x - y).abs() > 1e-3), "the samples changed some weights");
    (a, b)
}

#[test]
fn mismatch_fast_path_equals_the_early_charge_path_bit_for_bit() {
    // Ten classes, three samples: pre-only trajectories recur from the second sample on.
    let (a, b) = fast_and_reference((0..10).collect(), &mnist::embedded_train10k(), 3, 1.0);
    assert_eq!(a.v, b.v);
    assert_eq!(a.late, b.late);
    assert!(a.reused_trajectories > 0 && b.reused_trajectories == 0);
    // Every synapse with a spike either computed its trajectory or reused it.
    assert_eq!(a.trajectories + a.reused_trajectories, b.trajectories);
    assert!(a.spike_events < b.spike_events);
    // Zeros and ones, 1 neuron per class, 14 samples: each neuron fires in more samples than the memo keeps output
    // trains for (4), so kept trains are replaced and their trajectories forgotten.
    let (a, b) = fast_and_reference(vec![0, 1], &mnist::embedded_thesis_train(), 14, 1.0);
    assert_eq!(a.v, b.v);
    assert_eq!(a.late, b.late);
    assert_eq!(a.trajectories + a.reused_trajectories, b.trajectories);
    // A capacitor 30 times smaller: silent neurons' synapses reach the rails, and their recurring trajectories are
    // walked step by step from the kept steps instead of computed again.
    let (a, b) = fast_and_reference((0..10).collect(), &mnist::embedded_train10k(), 8, 30.0);
    assert_eq!(a.v, b.v);
    assert_eq!(a.late, b.late);
    assert_eq!(a.trajectories + a.reused_trajectories, b.trajectories);
    println!("c / 30, 8 samples: {} trajectories walked from kept steps", a.reused_rail_trajectories);
    assert!(a.reused_rail_trajectories > 100, "{}", a.reused_rail_trajectories);
}

/// `--mismatch FILE`: the shipped `data/mismatch/currents-10pct.yaml` is `--mismatch-sigma 0.1` written out, so it
/// gives the same per-synapse parameters and the same learning, bit for bit; a correlated file draws its listed
/// parameters with the stated correlation across synapses (sample estimate against the file's r).
#[test]
fn mismatch_file_equals_mismatch_sigma_and_carries_correlations() {
    use stc_synapse::params::mismatch::MismatchSpec;
    let (syn, _) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    let keys = syn.keys();
    let file = MismatchSpec::load(std::path::Path::new("data/mismatch/currents-10pct.yaml"), &keys).unwrap();
    let data = mnist::embedded_thesis_train().take(10);
    let train = |cfg: NetConfig| {
        let mut net = Network::new(cfg, syn.clone(), 784);
        let mut rng = stc_synapse::stimulus::rng(5);
        for k in 0..data.len() {
            net.train_sample(data.image(k), data.labels[k], &mut rng);
        }
        net
    };
    let base = NetConfig { classes: vec![0, 1], ..NetConfig::default() };
    let by_sigma = train(NetConfig { mismatch_sigma: Some(0.1), ..base.clone() });
    let by_file = train(NetConfig { mismatch_file: Some(file), ..base.clone() });
    for k in [0, 1, 783, 784 * 2 - 1] {
        assert_eq!(by_sigma.synapse_params(k), by_file.synapse_params(k), "synapse {k}");
    }
    assert_eq!(by_sigma.v, by_file.v);
    assert_eq!(by_sigma.late, by_file.late);

    let text = "name: c\nparameters:\n  - {key: dpi.i_tau_a, sigma_rel: 0.1}\n  - {key: dpi.jump_pre_a, sigma_rel: 0.2}\ncorrelations:\n  - {a: dpi.i_tau_a, b: dpi.jump_pre_a, r: 0.8}\n";
    let spec = MismatchSpec::parse(text, "c.yaml", &keys).unwrap();
    let net = Network::new(NetConfig { mismatch_file: Some(spec), ..base }, syn.clone(), 784);
    let (x, y): (Vec<f64>, Vec<f64>) = (0..784 * 2)
        .map(|k| {
            let p = net.synapse_params(k).unwrap();
            ((p.dpi.i_tau_a / syn.dpi.i_tau_a).ln(), (p.dpi.jump_pre_a / syn.dpi.jump_pre_a).ln())
        })
        .unzip();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mx, my) = (mean(&x), mean(&y));
    let sxy = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>();
    let sxx = x.iter().map(|a| (a - mx).powi(2)).sum::<f64>();
    let syy = y.iter().map(|b| (b - my).powi(2)).sum::<f64>();
    let r = sxy / (sxx * syy).sqrt();
    // 1,568 synapses: the standard error of r near 0.8 is (1 - r^2) / sqrt(n) ~ 0.009.
    assert!((r - 0.8).abs() < 0.04, "r = {r}");
    assert_eq!(net.synapse_params(0).unwrap().dpi.jump_post_a, syn.dpi.jump_post_a, "unlisted: nominal");
}
