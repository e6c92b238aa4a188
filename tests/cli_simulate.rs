//! End-to-end checks of `stc simulate`: outputs, the no-overwrite rule and clear errors for bad input.

use std::path::Path;
use std::process::Command;

fn stc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stc"))
}

fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines.map(|l| l.split(',').map(|x| x.parse().unwrap()).collect()).collect();
    (header, rows)
}

#[test]
fn simulate_writes_traces_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let ok = stc()
        .args([
            "simulate",
            "--params",
            "thesis-network",
            "--duration",
            "0.2",
            "--dt",
            "1e-3",
            "--pre-spikes",
            "0.01,0.035",
            "--post-spikes",
            "0.011,0.036",
        ])
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success());
    let (header, rows) = read_csv(&out.join("traces.csv"));
    assert_eq!(header, ["t_s", "i_ca_A", "i_hp_A", "i_hd_A", "v_h_V", "z", "w", "epw_pct", "lpw_pct", "total_pct"]);
    assert_eq!(rows.len(), 201);
    // Pairing potentiated the early phase.
    assert!(rows.last().unwrap()[4] > 0.9 + 1e-3);
    for f in ["traces.png", "traces.svg"] {
        assert!(out.join(f).metadata().unwrap().len() > 1000, "{f}");
    }
    let before = std::fs::read(out.join("traces.csv")).unwrap();
    let o = stc().args(["simulate", "--duration", "0.1"]).arg("--out").arg(&out).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(std::fs::read(out.join("traces.csv")).unwrap(), before, "existing result untouched");
}

#[test]
fn reference_model_has_its_own_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ref");
    let ok = stc()
        .args([
            "simulate",
            "--model",
            "reference",
            "--duration",
            "1",
            "--dt",
            "0.01",
            "--pre-rate",
            "50",
            "--post-rate",
            "50",
            "--stim-stop",
            "0.2",
        ])
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success());
    let (header, rows) = read_csv(&out.join("traces.csv"));
    assert_eq!(header, ["t_s", "c_mM", "h_V", "z", "p", "w_V", "epw_pct", "lpw_pct", "total_pct"]);
    assert_eq!(rows.len(), 101);
}

#[test]
fn bad_parameter_file_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let text = stc_synapse::params::PRESETS[1].1.replace("v_h0_v: 0.9 ", "v_h0_v: 2.5 ");
    std::fs::write(&bad, text).unwrap();
    let o = stc()
        .args(["simulate", "--duration", "0.1", "--params"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.yaml") && err.contains("capacitor.v_h0_v") && err.contains("[0, 1.8]"), "{err}");
    assert!(!err.contains("panicked"));
    assert!(!dir.path().join("o").exists(), "nothing written on error");
    let o = stc().args(["simulate", "--duration=-1", "--out"]).arg(dir.path().join("o2")).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--duration"));
}

#[test]
fn protocol_file_drives_the_simulation_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let protocol = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocols/fig17-pairing.yaml");
    let o = stc()
        .args(["simulate", "--params", "cadence-fig17", "--dt", "1e-4", "--protocol"])
        .arg(&protocol)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, rows) = read_csv(&out.join("traces.csv"));
    // 30 ms at 0.1 ms: 301 samples; the duration comes from the file.
    assert_eq!(rows.len(), 301);
    let recorded = stc_synapse::protocol::Protocol::load(&out.join("protocol.yaml")).unwrap();
    assert_eq!(recorded, stc_synapse::protocol::Protocol::load(&protocol).unwrap());
    // The same spikes through the shorthand flags give the same traces.
    let out2 = dir.path().join("flags");
    let o = stc()
        .args(["simulate", "--params", "cadence-fig17", "--dt", "1e-4", "--duration", "0.03"])
        .args(["--pre-spikes", "0.004", "--post-spikes", "0.002", "--out"])
        .arg(&out2)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read(out.join("traces.csv")).unwrap(), std::fs::read(out2.join("traces.csv")).unwrap());
}

#[test]
fn protocol_conflicts_with_shorthand_and_bad_files_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let protocol = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocols/fig17-pairing.yaml");
    let o = stc()
        .args(["simulate", "--duration", "1", "--protocol"])
        .arg(&protocol)
        .arg("--out")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot be used with"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: b\nduration_s: 1.0\nblocks:\n  - kind: regular\n    duration_s: 2.0\n").unwrap();
    let o = stc().args(["simulate", "--protocol"]).arg(&bad).arg("--out").arg(dir.path().join("o")).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.yaml:5:17: blocks[0].duration_s: expected the block to end by"), "{err}");
    assert!(!dir.path().join("o").exists(), "nothing written on error");
}

#[test]
fn seed_flag_replaces_the_protocol_seed_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let protocol = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocols/wtet.yaml");
    let run = |name: &str, seed: Option<&str>| {
        let out = dir.path().join(name);
        let mut c = stc();
        c.args(["simulate", "--params", "luboeinski-tetzlaff", "--dt", "60", "--protocol"]).arg(&protocol);
        if let Some(s) = seed {
            c.args(["--seed", s]);
        }
        let o = c.arg("--out").arg(&out).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let recorded = stc_synapse::protocol::Protocol::load(&out.join("protocol.yaml")).unwrap();
        (recorded, std::fs::read(out.join("traces.csv")).unwrap())
    };
    let (p1, t1) = run("default", None);
    let (p7, t7) = run("seed7", Some("7"));
    let (p7b, t7b) = run("seed7b", Some("7"));
    assert_eq!((p1.seed, p7.seed), (1, 7));
    assert_eq!(p7, p7b);
    assert_eq!(t7, t7b, "same seed, same traces");
    assert_ne!(t1, t7, "another seed, other Poisson trains");
}
