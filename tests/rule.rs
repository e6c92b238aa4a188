//! Thesis Fig. 14 at the network's rates: the learning rule of the synapse the network uses, for the network
//! presets, with and without a calibration carried to their biases by the transfer rule.
//!
//! What holds and what does not (README "Calibrations carried to other bias points"):
//! - `mnist-network`, the biases the network runs at, keeps the Fig. 14 signs with ideal blocks, with the default
//!   calibration (fits/cadence.yaml, embedded) and with the Fig. 17-only calibration, and keeps them in a
//!   neighbourhood of its biases (not a knife edge);
//! - `thesis-network` (Appendix D) keeps them with ideal blocks only: with the calibration its pre-only and
//!   post-only samples do not move v_h at all (and pairing depresses), because the fitted comparator delays (carried
//!   to these thresholds) are longer than Appendix D's sub-millisecond threshold excursions; fitted with slew-charge
//!   comparators instead (fits/cadence-fig17-slew.yaml), no sample moves v_h. That is a property of the calibrated
//!   circuit at those biases, tested here as a finding, with the controls that remove it (delays or charges zero).
//! - `mnist-robust`, the biases for a synapse with device mismatch, keeps the signs with the calibration, and under
//!   10 % current mismatch more of its synapses potentiate on pairing and fewer invert than `mnist-network`'s (by
//!   all four signs it does no better: its pre-only change is near zero).

use stc_synapse::cli::train::synapse;
use stc_synapse::network::rule::{fig14, Fig14};
use stc_synapse::network::NetConfig;
use stc_synapse::synapse::CircuitParams;

/// 10 uV: "none ~ 0" against round-off (recovery at V_H0 is zero); the tolerance `stc rule` uses.
const TOL_V: f64 = stc_synapse::network::rule::SIGN_TOL_V;

fn table(preset: &str, cal: Option<&str>) -> (CircuitParams, Fig14) {
    let (syn, applied) = synapse(preset, cal).unwrap();
    assert_eq!(applied.is_empty(), cal == Some("none"), "{preset} {cal:?}: applied {applied:?}");
    let t = fig14(&syn, &NetConfig::default());
    eprintln!("{preset} {cal:?}: {t:?}");
    assert!(t.pre_spikes == 6 && t.post_spikes > 6, "network rates: {t:?}");
    (syn, t)
}

#[test]
fn fig14_signs_hold_for_the_network_biases_with_and_without_calibration() {
    for cal in [Some("none"), None, Some("fits/cadence.yaml"), Some("fits/cadence-fig17.yaml")] {
        let (_, t) = table("mnist-network", cal);
        assert!(t.signs_hold(TOL_V), "mnist-network with calibration {cal:?}:\n{}", t.markdown());
    }
    let (_, t) = table("thesis-network", Some("none"));
    assert!(t.signs_hold(TOL_V), "thesis-network, ideal blocks:\n{}", t.markdown());
}

#[test]
fn calibrated_appendix_d_biases_lose_depression_to_the_comparator_delays() {
    for cal in [None, Some("fits/cadence-fig17.yaml")] {
        let (mut syn, t) = table("thesis-network", cal);
        // The finding: single-sided samples leave v_h where it was (and pairing depresses): not the thesis' rule.
        assert!(t.pre_only_v.abs() <= TOL_V && t.post_only_v.abs() <= TOL_V, "{cal:?}:\n{}", t.markdown());
        assert!(!t.signs_hold(TOL_V), "{cal:?}:\n{}", t.markdown());
        // Not an artefact of the transfer rule's delay scaling (x I_th,fit / I_th,target, about x2 here): with the
        // delays halved, about the fitted values copied unscaled, the signs are still lost. Printed: the scan.
        for f in [0.5, 0.25, 0.1] {
            let mut q = syn.clone();
            for c in [&mut q.pot_comparator, &mut q.dep_comparator] {
                c.delay_on_s *= f;
                c.delay_off_s *= f;
            }
            let tq = fig14(&q, &NetConfig::default());
            eprintln!(
                "{cal:?}, delays x{f} (onset {:.2} / {:.2} ms): paired {:+.1} mV, pre-only {:+.1} mV, post-only {:+.1} mV",
                1e3 * q.pot_comparator.delay_on_s,
                1e3 * q.dep_comparator.delay_on_s,
                1e3 * tq.paired_v,
                1e3 * tq.pre_only_v,
                1e3 * tq.post_only_v
            );
            if f == 0.5 {
                assert!(!tq.signs_hold(TOL_V), "{cal:?}, delays x0.5:\n{}", tq.markdown());
            }
        }
        // The control: the same calibrated synapse with instantaneous comparators has the thesis' signs again, so
        // it is the delays (and nothing else the calibration carries) that swallow the excursions.
        for c in [&mut syn.pot_comparator, &mut syn.dep_comparator] {
            c.delay_on_s = 0.0;
            c.delay_off_s = 0.0;
        }
        let t = fig14(&syn, &NetConfig::default());
        assert!(t.signs_hold(TOL_V), "{cal:?}, delays 0:\n{}", t.markdown());
    }
}

/// Fig. 14 tables of the 3^4 = 81 neighbours of the network biases: every combination of -step, 0, +step (relative)
/// on the four biases that decide the signs (both thresholds, both tail currents), with ideal blocks or with the
/// default calibration. Returns how many keep the signs and the ones that do not.
fn neighbours(step: f64, calibrated: bool) -> (usize, usize, Vec<String>) {
    let cfg = NetConfig::default();
    let cal =
        match stc_synapse::params::parse(stc_synapse::cli::train::DEFAULT_CALIBRATION, "fits/cadence.yaml").unwrap() {
            stc_synapse::params::AnyParams::Circuit(c) => *c,
            _ => panic!("the default calibration is not a circuit calibration"),
        };
    let (mut total, mut good, mut failed) = (0usize, 0usize, Vec::new());
    for k in 0..81usize {
        let f = |d: u32| 1.0 + step * (((k / 3usize.pow(d)) % 3) as f64 - 1.0);
        let mut p = stc_synapse::params::load_circuit("mnist-network").unwrap();
        p.pot_comparator.threshold_a *= f(0);
        p.dep_comparator.threshold_a *= f(1);
        p.pot_switch.i_on_a *= f(2);
        p.dep_switch.i_on_a *= f(3);
        if calibrated {
            stc_synapse::params::apply_calibration(&mut p, &cal).unwrap();
        }
        let t = fig14(&p, &cfg);
        total += 1;
        if t.signs_hold(TOL_V) {
            good += 1;
        } else {
            failed.push(format!("x({:.2},{:.2},{:.2},{:.2})", f(0), f(1), f(2), f(3)));
        }
    }
    (good, total, failed)
}

#[test]
fn network_biases_are_not_a_knife_edge() {
    // The synapse the network runs (calibrated): at least 90 % of the 81 neighbours at +-5 % keep the Fig. 14 signs.
    // The other counts are printed for the README, not asserted.
    for (step, calibrated) in [(0.05, true), (0.05, false), (0.10, true), (0.10, false)] {
        let (good, total, failed) = neighbours(step, calibrated);
        eprintln!(
            "+-{:.0} %, calibrated {calibrated}: {good} of {total} keep the signs; failing: {failed:?}",
            100.0 * step
        );
        assert_eq!(total, 81);
        if step == 0.05 && calibrated {
            assert!(good * 10 >= total * 9, "{good} of {total}; failing: {failed:?}");
        }
    }
}

/// `stc rule --mismatch-sigma` / `--mismatch`: at sigma 0 the draw leaves every synapse's currents as they are (the
/// nominal table, all signs kept); at 10 % the synapses differ, the draw is seeded, the spread brackets the nominal
/// table, and `data/mismatch/currents-10pct.yaml` (the file form of `--mismatch-sigma 0.1`) draws the same
/// synapses. Printed: the spread of 200 synapses (the README's table is from `stc rule`, 400 synapses).
#[test]
fn rule_under_mismatch_reduces_to_the_nominal_table_at_zero_sigma() {
    use stc_synapse::network::net::mismatched_synapses;
    use stc_synapse::network::rule::Fig14Spread;
    let cfg = NetConfig::default();
    let (syn, nominal) = table("mnist-network", None);
    let zero = mismatched_synapses(&syn, 8, 1, 0.0, None);
    for p in &zero {
        assert_eq!(p.pot_comparator.threshold_a, syn.pot_comparator.threshold_a);
        assert_eq!(p.dep_comparator.threshold_a, syn.dep_comparator.threshold_a);
        assert_eq!((p.dpi.jump_pre_a, p.dpi.jump_post_a), (syn.dpi.jump_pre_a, syn.dpi.jump_post_a));
        assert_eq!((p.pot_switch.i_on_a, p.dep_switch.i_on_a), (syn.pot_switch.i_on_a, syn.dep_switch.i_on_a));
        let t = fig14(p, &cfg);
        assert!((t.paired_v - nominal.paired_v).abs() < 1e-12, "{t:?} vs {nominal:?}");
        assert!(
            (t.pre_only_v - nominal.pre_only_v).abs() < 1e-12 && (t.post_only_v - nominal.post_only_v).abs() < 1e-12
        );
    }
    let draw = |seed| -> Vec<Fig14> {
        mismatched_synapses(&syn, 200, seed, 0.1, None).iter().map(|p| fig14(p, &cfg)).collect()
    };
    let (a, b) = (draw(1), draw(1));
    assert_eq!(a, b, "seeded");
    assert_ne!(a, draw(2), "another seed, other synapses");
    let s = Fig14Spread::of(&a, TOL_V);
    eprintln!("mnist-network, default calibration, 10 % current mismatch, 200 synapses:\n{}", s.markdown());
    eprintln!("all four signs on {:.1} %", 100.0 * s.all_signs_share);
    assert!(s.paired.p05_v < nominal.paired_v && nominal.paired_v < s.paired.p95_v, "{s:?}");
    assert!(s.post_only.p05_v < nominal.post_only_v && nominal.post_only_v < s.post_only.p95_v, "{s:?}");
    let keys = syn.keys();
    let file = stc_synapse::params::mismatch::MismatchSpec::load(
        std::path::Path::new("data/mismatch/currents-10pct.yaml"),
        &keys,
    )
    .unwrap();
    assert_eq!(mismatched_synapses(&syn, 50, 1, 0.0, Some(&file)), mismatched_synapses(&syn, 50, 1, 0.1, None));
}

/// How the rule of the two network presets spreads under 10 % current mismatch (same 400 synapses as `stc rule
/// --mismatch-sigma 0.1`, seed 1, default calibration). `mnist-network`'s calcium levels sit close to its thresholds
/// (its I_THPOT window is 34 to 39 pA with ideal and calibrated blocks), so mismatched synapses
/// include paired samples that depress, post-only samples that potentiate, and synapses whose paired sample ends
/// below their post-only one (inverted: when their neuron fires they favour the pixels that were off).
/// `mnist-robust` keeps its levels away from the thresholds: more than 97 % of its synapses potentiate on a paired
/// sample and at least 95 % by a tenth of the nominal amount or more, at most 5 % potentiate on a post-only sample,
/// and fewer than 1 % invert.
/// What that does to the network's accuracy is measured by `bash scripts/mismatch-tables` (README "Device
/// mismatch"), not here. Printed: both spreads.
#[test]
fn robust_preset_keeps_its_margins_under_mismatch_where_mnist_network_does_not() {
    use stc_synapse::network::net::mismatched_synapses;
    use stc_synapse::network::rule::Fig14Spread;
    let cfg = NetConfig::default();
    let spread = |preset: &str| {
        let (syn, t) = table(preset, None);
        let tables: Vec<Fig14> = mismatched_synapses(&syn, 400, 1, 0.1, None).iter().map(|p| fig14(p, &cfg)).collect();
        let s = Fig14Spread::of(&tables, TOL_V);
        eprintln!("{preset}, 10 % mismatch:\n{}inverted {:.1} %", s.markdown(), 100.0 * s.inverted_share);
        (t, s)
    };
    let (tn, n) = spread("mnist-network");
    let (tr, r) = spread("mnist-robust");
    assert!(tn.signs_hold(TOL_V) && tr.signs_hold(TOL_V), "{}\n{}", tn.markdown(), tr.markdown());
    assert!(tr.paired_v > 0.5 * tn.paired_v, "the robust preset still potentiates: {tr:?}");
    assert!(n.inverted_share > 0.05 && n.paired.p05_v < 0.0 && n.post_only.p95_v > TOL_V, "{n:?}");
    assert!(r.inverted_share < 0.01, "{r:?}");
    assert!(r.paired.right_sign_share > 0.97 && r.paired.p05_v > 0.1 * tr.paired_v, "{r:?}");
    assert!(r.post_only.p95_v <= TOL_V, "{r:?}");
}

/// The Appendix D finding is not an artefact of the delay model. Fitted to Fig. 17 with slew-charge comparators (on
/// after a fixed integral of i_ca - threshold; charges are copied to other biases), the calibrated synapse at
/// Appendix D does not keep the Fig. 14 signs; only the depression onset charge is determined by Fig. 17 (the report
/// marks the potentiation onset charge not identifiable), so the onset charges are also scanned from 1 fC to the
/// fitted values: no combination keeps the signs and pre-only samples never depress. Printed: the scan. The control:
/// with the slew charges removed (ideal comparators) the signs return, though with another balance (pre-only then
/// depresses more than paired samples potentiate).
#[test]
fn appendix_d_loses_the_rule_with_slew_charge_comparators_too() {
    let (mut syn, t) = table("thesis-network", Some("fits/cadence-fig17-slew.yaml"));
    assert!(syn.pot_comparator.charge_on_c > 1e-15 && syn.dep_comparator.charge_on_c > 1e-15, "{syn:?}");
    assert!(!t.signs_hold(TOL_V), "{}", t.markdown());
    let (qp_fit, qd_fit) = (syn.pot_comparator.charge_on_c, syn.dep_comparator.charge_on_c);
    for qp in [1e-15, 3.6e-15, qp_fit] {
        for qd in [1e-15, 3.6e-15, qd_fit] {
            let mut q = syn.clone();
            q.pot_comparator.charge_on_c = qp;
            q.dep_comparator.charge_on_c = qd;
            let tq = fig14(&q, &NetConfig::default());
            eprintln!(
                "onset charges pot {:.1} fC, dep {:.1} fC: paired {:+.1} mV, pre-only {:+.1} mV, post-only {:+.1} mV",
                1e15 * qp,
                1e15 * qd,
                1e3 * tq.paired_v,
                1e3 * tq.pre_only_v,
                1e3 * tq.post_only_v
            );
            assert!(!tq.signs_hold(TOL_V), "pot {qp:e} C, dep {qd:e} C:\n{}", tq.markdown());
            assert!(tq.pre_only_v.abs() <= TOL_V, "pot {qp:e} C, dep {qd:e} C:\n{}", tq.markdown());
        }
    }
    for c in [&mut syn.pot_comparator, &mut syn.dep_comparator] {
        c.charge_on_c = 0.0;
        c.charge_off_c = 0.0;
    }
    let t = fig14(&syn, &NetConfig::default());
    eprintln!("slew charges removed:\n{}", t.markdown());
    assert!(t.signs_hold(TOL_V), "slew charges removed:\n{}", t.markdown());
}
