//! The network on MNIST: the thesis' zero/one task with the calibrated circuit synapse (early and late phase, 170
//! and all 698 training rows), and a ten-class run that must learn far above chance on a held-out split.

use stc_synapse::io::mnist;
use stc_synapse::network::protocol;
use stc_synapse::network::NetConfig;

#[test]
fn zeros_and_ones_early_and_late_with_the_calibrated_synapse() {
    let (syn, applied) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    assert!(
        applied.contains(&"capacitor.c_f".to_string()) && applied.contains(&"pot_comparator.delay_on_s".to_string())
    );
    assert!(!applied.contains(&"pot_comparator.threshold_a".to_string()), "biases are not carried over");
    let test = mnist::embedded_thesis_test();
    let mut early = Vec::new();
    for n_train in [170, 698] {
        let train = mnist::embedded_thesis_train().take(n_train);
        let cfg = NetConfig { classes: vec![0, 1], ..NetConfig::default() };
        let o = protocol::run(cfg, syn.clone(), &train, &test, 1, &[], &|_, _, _| {});
        assert!(
            o.accuracy_early >= 0.99 && o.accuracy_late >= 0.99,
            "{n_train} samples: early {}, late {}",
            o.accuracy_early,
            o.accuracy_late
        );
        early.push(o.accuracy_early);
    }
    assert!(early[1] >= early[0], "more data must not hurt: {early:?}");
}

#[test]
fn ten_classes_learn_and_improve_with_data() {
    let (syn, _) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    let all = mnist::embedded_train10k();
    let (train, test) = all.split(9000);
    let (train, test) = (train.take(1500), test.take(500));
    let cfg = NetConfig { per_class: 5, ..NetConfig::default() };
    let o = protocol::run(cfg, syn, &train, &test, 1, &[150], &|_, _, _| {});
    // Small, quick run (5 neurons per class, 1500 samples): the full default run reaches ~93 % (README).
    assert!(o.accuracy_early > 0.75 && o.accuracy_late > 0.75, "early {} late {}", o.accuracy_early, o.accuracy_late);
    assert!(o.curve[0].1 < o.accuracy_early, "accuracy rises with data: {:?}", o.curve);
}

#[test]
fn shared_trajectories_equal_per_synapse_simulation() {
    use stc_synapse::network::Network;
    let (syn, _) = stc_synapse::cli::train::synapse("mnist-network", None).unwrap();
    let data = mnist::embedded_train10k();
    let cfg = NetConfig { per_class: 2, ..NetConfig::default() };
    let mut a = Network::new(cfg.clone(), syn.clone(), 784);
    let mut b = Network::new(cfg, syn, 784);
    b.share_trajectories = false;
    let (mut ra, mut rb) = (stc_synapse::stimulus::rng(4), stc_synapse::stimulus::rng(4));
    for k in 0..3 {
        a.train_sample(data.image(k), data.labels[k], &mut ra);
        b.train_sample(data.image(k), data.labels[k], &mut rb);
    }
    assert!(a.v.iter().zip(&b.v).any(|(x, _)| (x - 0.9).abs() > 1e-3), "the samples changed some weights");
    let worst = a.v.iter().zip(&b.v).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-12, "shared and per-synapse v_h differ by {worst} V");
    assert!(a.late.iter().zip(&b.late).all(|(x, y)| x == y));
}

#[test]
fn reference_synapses_learn_zeros_and_ones() {
    use stc_synapse::network::Network;
    let r = stc_synapse::params::load_reference("reference").unwrap();
    let train = mnist::embedded_thesis_train().take(170);
    let test = mnist::embedded_thesis_test();
    let cfg = NetConfig { classes: vec![0, 1], ..NetConfig::default() };
    let o = protocol::run_network(Network::new_reference(cfg, r, 784), &train, &test, 1, &[], &|_, _, _| {});
    assert!(o.accuracy_early >= 0.95 && o.accuracy_late >= 0.95, "early {} late {}", o.accuracy_early, o.accuracy_late);
}
