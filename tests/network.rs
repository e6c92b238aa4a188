//! The network on the thesis' zero/one task: trained with the calibrated circuit synapse, tested right after
//! training (early phase) and after accelerated consolidation (late phase).

use stc_synapse::io::mnist;
use stc_synapse::network::{NetConfig, Network};

fn accuracy(net: &Network, test: &mnist::Dataset) -> f64 {
    let imgs: Vec<&[u8]> = (0..test.len()).map(|k| test.image(k)).collect();
    let r = net.test(&imgs, 9);
    r.iter().zip(&test.labels).filter(|(r, &l)| r.predicted == l).count() as f64 / test.len() as f64
}

#[test]
fn zeros_and_ones_early_and_late_with_the_calibrated_synapse() {
    let mut syn = stc_synapse::params::load_circuit("thesis-network").unwrap();
    let cal = stc_synapse::params::load_circuit("fits/cadence-fig17.yaml").unwrap();
    let applied = stc_synapse::params::apply_calibration(&mut syn, &cal);
    assert!(applied.contains(&"capacitor.c_f".to_string()) && applied.contains(&"pot_comparator.delay_on_s".to_string()));
    assert!(!applied.contains(&"pot_comparator.threshold_a".to_string()), "biases are not carried over");
    let test = mnist::embedded_thesis_test();
    // The thesis protocol: its first 170 training rows. (With all 698 rows the calibrated network still loses
    // accuracy, as the thesis code did: an open problem of issue 4, not asserted here.)
    for n_train in [170] {
        let train = mnist::embedded_thesis_train().take(n_train);
        let cfg = NetConfig { classes: vec![0, 1], per_class: 1, ..NetConfig::default() };
        let mut net = Network::new(cfg, syn.clone(), 784);
        let mut rng = stc_synapse::stimulus::rng(1);
        for k in 0..train.len() {
            net.train_sample(train.image(k), train.labels[k], &mut rng);
        }
        let early = accuracy(&net, &test);
        net.consolidate(3600.0, 32.0);
        let late = accuracy(&net, &test);
        assert!(early >= 0.99 && late >= 0.99, "{n_train} samples: early {early}, late {late}");
    }
}
