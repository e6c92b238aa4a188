//! Thesis Fig. 14 at the network's rates: the learning rule of the synapse the network uses, for the network
//! presets, with and without the checked-in calibration carried to their biases by the transfer rule.

use stc_synapse::network::rule::fig14;
use stc_synapse::network::NetConfig;

#[test]
fn fig14_signs_hold_for_the_network_presets_with_and_without_calibration() {
    let cfg = NetConfig::default();
    for preset in ["thesis-network", "mnist-network"] {
        for cal in ["none", "fits/cadence-fig17.yaml"] {
            let (syn, applied) = stc_synapse::cli::train::synapse(preset, Some(cal)).unwrap();
            assert_eq!(applied.is_empty(), cal == "none");
            let t = fig14(&syn, &cfg);
            eprintln!("{preset} {cal}: {t:?}");
            assert!(t.pre_spikes == 6 && t.post_spikes > 6, "network rates: {t:?}");
            // "none ~ 0": recovery at V_H0 is zero; 10 uV tolerance against round-off.
            assert!(t.signs_hold(1e-5), "{preset} with calibration {cal}:\n{}", t.markdown());
        }
    }
}
