//! The bad-input suite of issue 9: one test per reported item (numbered as in the issue), each failing on the code
//! before the fix, plus property tests that importers, descriptor parsing and command-line validation never panic
//! and that a failing `--force` run leaves the old result byte-identical.
//!
//! Most tests drive the `stc` binary as a user would; every failing case must exit with status 1 or 2, print
//! `error: ...`, never panic, and leave no output (or the old output untouched).

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stc"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run `stc ARGS` in `cwd`; returns the output.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    stc().current_dir(cwd).args(args).output().expect("stc runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The command failed cleanly: exit 1 or 2, an `error:` line containing every `needle`, no panic.
fn fails_with(o: &Output, needles: &[&str]) -> String {
    let e = stderr(o);
    assert!(matches!(o.status.code(), Some(1) | Some(2)), "status {:?}, stderr: {e}", o.status);
    assert!(!e.contains("panicked"), "panic: {e}");
    assert!(e.contains("error:"), "no error line: {e}");
    for n in needles {
        assert!(e.contains(n), "expected {n:?} in: {e}");
    }
    e
}

/// Every file under `dir` with its bytes (to compare a folder before and after a command).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut m = BTreeMap::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                m.extend(snapshot(&p));
            } else {
                m.insert(p.clone(), fs::read(&p).unwrap());
            }
        }
    }
    m
}

/// Names in `dir` (to check that nothing, not even a staging folder, was left).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x0803u32, n, rows, cols] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend((0..n * rows * cols).map(|k| (k % 256) as u8));
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x0801u32, labels.len() as u32] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(labels);
    b
}

/// A valid MNIST CSV row: label then 784 pixels.
fn csv_row(label: &str) -> String {
    std::iter::once(label.to_string())
        .chain((0..784).map(|k| ((k * 7) % 256).to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

/// An old result folder with known bytes.
fn old_result(dir: &Path) -> PathBuf {
    let t = dir.join("T");
    fs::create_dir_all(&t).unwrap();
    fs::write(t.join("summary.yaml"), "accuracy_early: 0.5\n").unwrap();
    fs::write(t.join("report.md"), "# old\n").unwrap();
    t
}

// 1. `stc run --refit` never writes outside its output folder unless asked: --save-fit refuses an existing file
//    without --force, before any work, and leaves it untouched.
#[test]
fn item01_run_refit_does_not_overwrite_the_calibration() {
    let dir = tempfile::tempdir().unwrap();
    let fit = dir.path().join("cal.yaml");
    fs::write(&fit, "old calibration").unwrap();
    let o = run_in(dir.path(), &["run", "--refit", "--save-fit", "cal.yaml", "--out", "r"]);
    fails_with(&o, &["cal.yaml", "--force"]);
    assert_eq!(fs::read(&fit).unwrap(), b"old calibration");
    assert_eq!(names(dir.path()), vec!["cal.yaml"]);
    // --calibration is only read: giving it a file that is not a calibration fails without touching it.
    let o = run_in(dir.path(), &["run", "--calibration", "cal.yaml", "--out", "r"]);
    fails_with(&o, &["cal.yaml"]);
    assert_eq!(fs::read(&fit).unwrap(), b"old calibration");
}

// 2. A failed --force run leaves the old result whole (no new file beside the old ones, no staging folder).
#[test]
fn item02_failed_force_run_leaves_old_result_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let t = old_result(dir.path());
    fs::write(dir.path().join("im"), idx_images(20, 14, 14)).unwrap();
    fs::write(dir.path().join("lb"), idx_labels(&[0, 1].repeat(10))).unwrap();
    let before = snapshot(&t);
    let o = run_in(dir.path(), &["train", "--train-images", "im", "--train-labels", "lb", "--out", "T", "--force"]);
    fails_with(&o, &["14x14", "28x28"]);
    assert_eq!(snapshot(&t), before);
    assert_eq!(names(dir.path()), vec!["T", "im", "lb"]);
}

// 2. A run that fails at its very last step, after writing all its files (fault injected at the commit): the old
//    results, a folder and a file, are byte-identical and nothing else is left.
#[test]
fn item02_failing_at_the_commit_leaves_old_results_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let t = old_result(dir.path());
    fs::write(dir.path().join("old-fit.yaml"), "old fit\n").unwrap();
    let before = snapshot(dir.path());
    let failing =
        |args: &[&str]| stc().current_dir(dir.path()).env("STC_FAIL_BEFORE_COMMIT", "1").args(args).output().unwrap();
    let o = failing(&["simulate", "--duration", "0.05", "--out", "T", "--force"]);
    fails_with(&o, &["STC_FAIL_BEFORE_COMMIT"]);
    let o = failing(&["train", "--classes", "0,1", "--n-train", "40", "--n-test", "20", "--out", "T", "--force"]);
    fails_with(&o, &["STC_FAIL_BEFORE_COMMIT"]);
    // Two targets: the parameter file and the report folder.
    fs::write(
        dir.path().join("spec.yaml"),
        "name: s\nstart: cadence-fig17\nsolver: {particles: 4, global_iterations: 2, local_iterations: 5, seed: 1}\nparameters:\n  - {key: capacitor.c_f, lower: 1.0e-12, upper: 20.0e-12, scale: log, role: property}\n",
    )
    .unwrap();
    let descriptor = Path::new(env!("CARGO_MANIFEST_DIR")).join("waveforms/cadence-fig17/descriptor.yaml");
    let d = descriptor.to_str().unwrap();
    let o = failing(&["fit", d, "--spec", "spec.yaml", "--out", "old-fit.yaml", "--report", "T", "--force"]);
    fails_with(&o, &["STC_FAIL_BEFORE_COMMIT"]);
    fs::remove_file(dir.path().join("spec.yaml")).unwrap();
    assert!(snapshot(dir.path()) == before, "an old result changed");
    assert_eq!(names(dir.path()), vec!["T", "old-fit.yaml"]);
    assert!(t.join("report.md").is_file());
}

// 2b. The staging mechanism itself: a stage dropped without commit leaves the old folder; commit swaps in the new.
// 2 (Ctrl-C). SIGINT during a --force run: exit 130, the old result byte-identical, no staging folder left.
#[test]
fn item02_ctrl_c_keeps_old_result_and_leaves_no_staging_folder() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["simulate", "--params", "reference", "--duration", "0.05", "--out", "S"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = snapshot(dir.path());
    let long = ["simulate", "--params", "reference", "--duration", "2000", "--pre-rate", "20", "--post-rate", "20"];
    let o =
        interrupt_when_staged(dir.path(), &[&long[..], &["--dt", "1e-3", "--out", "S", "--force"]].concat(), 1, 200);
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert_eq!(names(dir.path()), vec!["S"]);
    assert!(snapshot(dir.path()) == before, "the old result changed");
}

/// Start `stc ARGS` in `cwd`, wait until it has opened `stages` staging folders (it is then doing its work), wait
/// `ms` more, send SIGINT to it alone, and require exit status 130.
fn interrupt_when_staged(cwd: &Path, args: &[&str], stages: usize, ms: u64) -> Output {
    let mut child = stc().current_dir(cwd).args(args).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    while names(cwd).iter().filter(|n| n.contains("stc-staging")).count() < stages {
        assert!(started.elapsed().as_secs() < 60, "no staging folder appeared");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it was interrupted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(ms));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    o
}

// 2 (Ctrl-C, two targets). SIGINT during `stc run --refit --save-fit cal.yaml --force` (in its fit): exit 130, the
// old report folder and the old calibration file byte-identical, nothing else left.
#[test]
fn item02_ctrl_c_during_run_keeps_old_report_and_old_calibration() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("R/network-10")).unwrap();
    fs::write(dir.path().join("R/report.md"), "# old report\n").unwrap();
    fs::write(dir.path().join("R/network-10/summary.yaml"), "accuracy_early: 0.5\n").unwrap();
    fs::write(dir.path().join("cal.yaml"), "old calibration\n").unwrap();
    let before = snapshot(dir.path());
    let args = ["run", "--refit", "--save-fit", "cal.yaml", "--out", "R", "--force"];
    let o = interrupt_when_staged(dir.path(), &args, 2, 1500);
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert_eq!(names(dir.path()), vec!["R", "cal.yaml"]);
    assert!(snapshot(dir.path()) == before, "an old result changed");
}

#[test]
fn item02_stage_commit_swaps_whole_folders() {
    use stc_synapse::io::atomic::Stage;
    let dir = tempfile::tempdir().unwrap();
    let t = old_result(dir.path());
    let before = snapshot(&t);
    {
        let s = Stage::dir(&t, true).unwrap();
        fs::write(s.path().join("confusion_early.csv"), "new").unwrap();
        // dropped: the run failed
    }
    assert_eq!(snapshot(&t), before);
    assert_eq!(names(dir.path()), vec!["T"]);
    let s = Stage::dir(&t, true).unwrap();
    fs::write(s.path().join("new.csv"), "new").unwrap();
    s.commit().unwrap();
    assert_eq!(names(&t), vec!["new.csv"]);
    assert_eq!(names(dir.path()), vec!["T"]);
    // A killed run's staging folder (dead pid) is removed by the next stage of the same target.
    let stale = dir.path().join(".T.stc-staging-4000000000");
    fs::create_dir(&stale).unwrap();
    drop(Stage::dir(&t, true).unwrap());
    assert_eq!(names(dir.path()), vec!["T"]);
}

// 3. `stc bench --per-class 0` panicked.
#[test]
fn item03_bench_zero_counts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fails_with(&run_in(dir.path(), &["bench", "--per-class", "0"]), &["--per-class"]);
    fails_with(&run_in(dir.path(), &["bench", "--samples", "0"]), &["--samples"]);
}

fn descriptor_set(dir: &Path, data: &str) -> PathBuf {
    fs::write(dir.join("d.csv"), data).unwrap();
    let d = dir.join("descriptor.yaml");
    fs::write(
        &d,
        "name: t\nsource:\n  file: d.csv\n  format: generic\n  generic: {columns: {vh: 2}}\nstimulus:\n  duration_s: 0.01\n  pre_spikes_s: [0.002]\n  post_spikes_s: []\nparams: cadence-fig17\nsignals:\n  - {model: v_h, trace: vh, unit: V}\n",
    )
    .unwrap();
    d
}

// 4. Data points outside the stimulus are an error naming the descriptor position, before any simulation.
#[test]
fn item04_points_outside_the_stimulus_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    descriptor_set(dir.path(), "t,v\n0,0.9\n0.005,0.91\n1e5,0.9\n");
    let o = run_in(dir.path(), &["compare", "--params", "cadence-fig17", "descriptor.yaml", "--out", "c"]);
    fails_with(&o, &["descriptor.yaml:7:15", "1e5"]);
    assert_eq!(names(dir.path()), vec!["d.csv", "descriptor.yaml"]);
}

// 5. A gzip file is limited by its inflated size, and the error does not echo the content.
#[test]
fn item05_gzip_bombs_are_capped_and_errors_are_short() {
    use stc_synapse::io::waveform::{read_file, Format, MAX_INFLATED_BYTES};
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(fs::File::create(&p).unwrap(), flate2::Compression::fast());
    let block = vec![b'x'; 1 << 20];
    for _ in 0..(MAX_INFLATED_BYTES >> 20) + 1 {
        enc.write_all(&block).unwrap();
    }
    enc.finish().unwrap();
    // A format read as one text (VCSV): stopped at the inflated-size limit.
    let e = read_file(&p, &Format::Vcsv, None).unwrap_err().to_string();
    assert!(e.contains("inflates to at most") && e.len() < 400, "{e}");
    // A streamed format (generic CSV): the one 513 MiB line is refused at its first MiB, long before the limit.
    let e = read_file(&p, &Format::Generic, None).unwrap_err().to_string();
    assert!(e.contains(":1:1: expected rows of at most 1048576 bytes") && e.len() < 400, "{e}");
    // A huge one-line "header" is quoted shortened.
    let long = format!("{}\n1,2\n", "h".repeat(100_000));
    let e =
        stc_synapse::io::waveform::parse_str(&long, Path::new("x.csv"), &Format::Ocean, None).unwrap_err().to_string();
    assert!(e.len() < 400, "{} chars: {}", e.len(), &e[..200]);
}

// 6. A 14x14 IDX file is refused at load, before training, and nothing is written.
#[test]
fn item06_wrong_image_size_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("im"), idx_images(20, 14, 14)).unwrap();
    fs::write(dir.path().join("lb"), idx_labels(&[0, 1].repeat(10))).unwrap();
    let o = run_in(dir.path(), &["train", "--train-images", "im", "--train-labels", "lb", "--out", "T"]);
    fails_with(&o, &["im", "14x14 pixels: expected 28x28"]);
    assert_eq!(names(dir.path()), vec!["im", "lb"]);
}

// 7. Labels outside 0-9 are errors with the file and position (IDX and CSV).
#[test]
fn item07_labels_outside_0_9_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("im"), idx_images(3, 28, 28)).unwrap();
    fs::write(dir.path().join("lb"), idx_labels(&[0, 12, 1])).unwrap();
    let o = run_in(dir.path(), &["train", "--train-images", "im", "--train-labels", "lb", "--out", "T"]);
    fails_with(&o, &["lb: label 12 of item 2 (byte offset 9): expected a class 0..=9"]);
    fs::write(dir.path().join("lb"), idx_labels(&[0, 255, 1])).unwrap();
    let o = run_in(dir.path(), &["train", "--train-images", "im", "--train-labels", "lb", "--out", "T"]);
    fails_with(&o, &["label 255"]);
    fs::write(dir.path().join("d.csv"), format!("{}\n{}\n", csv_row("0"), csv_row("11"))).unwrap();
    let o = run_in(dir.path(), &["train", "--train-csv", "d.csv", "--out", "T"]);
    fails_with(&o, &["d.csv:2:1: label", "expected a class 0..=9"]);
    assert!(!dir.path().join("T").exists());
}

// 8. --classes is checked: duplicates, a single class, a class absent from the data, an impossible class, and a
//    class without a training or test sample after the split.
#[test]
fn item08_classes_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let csv = root().join("data/thesis-mnist-0-1/mnist_test_0_1_100_rows.csv");
    let csv = csv.to_str().unwrap();
    fails_with(&run_in(dir.path(), &["train", "--classes", "0,0", "--out", "T"]), &["class 0 is given twice"]);
    fails_with(&run_in(dir.path(), &["train", "--classes", "1", "--out", "T"]), &["at least two classes"]);
    fails_with(
        &run_in(dir.path(), &["train", "--train-csv", csv, "--classes", "0,5", "--out", "T"]),
        &["class 5 is not in the training data"],
    );
    fails_with(&run_in(dir.path(), &["train", "--classes", "0,10", "--out", "T"]), &["class 10"]);
    // The validation and test splits (each --validation rows) are taken before class filtering, so 100 rows cannot
    // hold out 2 x 99, whatever the classes.
    let o = run_in(dir.path(), &["train", "--train-csv", csv, "--validation", "99", "--out", "T"]);
    fails_with(&o, &["100 training samples cannot hold out 2 x --validation 99"]);
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

// 1, 9 and 19. `stc run` works from any directory, writes nothing outside --out (not even with --refit), and its report puts each learning
//    curve under its own heading and says how many weight maps are shown.
#[test]
fn item09_19_run_works_from_any_directory() {
    // A folder laid out like the repository root, whose `fits/` holds files of the calibrations' names that are
    // not parameter files: a run that read its calibration from the working folder instead of the embedded one
    // would fail, and `--refit` must write its calibration into the run's folder and leave `fits/` byte-identical.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("fits")).unwrap();
    for name in ["cadence.yaml", "cadence-fig17.yaml"] {
        fs::write(dir.path().join("fits").join(name), "not: [a parameter file\n").unwrap();
    }
    let fits_before = snapshot(&dir.path().join("fits"));
    let o = run_in(dir.path(), &["run", "--refit", "--out", "r"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(names(dir.path()), vec!["fits", "r"]);
    assert!(snapshot(&dir.path().join("fits")) == fits_before, "stc run --refit changed fits/");
    assert!(dir.path().join("r/calibration.yaml").is_file());
    let md = fs::read_to_string(dir.path().join("r/report.md")).unwrap();
    let zeros = md.find("### zeros/ones").unwrap();
    let ten = md.find("### ten classes").unwrap();
    let curve = md.find("network-10/learning_curve.png").unwrap();
    assert!(zeros < ten && ten < curve, "ten-class curve not under its heading:\n{md}");
    let n = stc_synapse::network::NetConfig::default().per_class;
    let shown =
        format!("the first {} of the {n} neurons of each class", n.min(stc_synapse::cli::train::MAPS_PER_CLASS));
    assert!(md.contains(&shown), "{md}");
    assert!(dir.path().join("r/inputs/cadence-fig17/descriptor.yaml").is_file());
}

// 10. Unbounded work is refused with the estimate and the flag that allows it.
#[test]
fn item10_unbounded_work_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run_in(d, &["simulate", "--duration", "0.01", "--pre-rate", "1e12", "--out", "s"]);
    fails_with(&o, &["1.000e10 spikes", "--allow-large"]);
    let o = run_in(d, &["simulate", "--duration", "1e9", "--dt", "100", "--out", "s"]);
    fails_with(&o, &["1.000e13 steps", "--allow-large"]);
    let o = run_in(d, &["train", "--per-class", "100000", "--out", "t"]);
    fails_with(&o, &["1.882e10 bytes", "--allow-large"]);
    assert_eq!(names(d), Vec::<String>::new());
}

// 11. Unwritable outputs are found before the work.
#[test]
fn item11_unwritable_outputs_are_found_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("file"), "x").unwrap();
    fs::create_dir(d.join("folder")).unwrap();
    let desc = root().join("waveforms/cadence-fig17/descriptor.yaml");
    let desc = desc.to_str().unwrap();
    let t0 = std::time::Instant::now();
    fails_with(&run_in(d, &["fit", desc, "--out", "folder"]), &["folder: is a folder"]);
    fails_with(&run_in(d, &["fit", desc, "--out", "file/fit.yaml"]), &["file: is a file"]);
    fails_with(&run_in(d, &["fit", desc, "--starts", "0", "--out", "fit.yaml"]), &["--starts", "1 to 1000"]);
    fails_with(&run_in(d, &["train", "--out", "file/T"]), &["file: is a file"]);
    assert!(t0.elapsed().as_secs_f64() < 10.0, "errors came after the work");
    assert_eq!(names(d), vec!["file", "folder"]);
}

// 12. Negative numbers reach the checks.
#[test]
fn item12_negative_numbers_get_a_range_message() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["simulate", "--duration", "0.01", "--dt", "-1e-4", "--out", "s"]);
    fails_with(&o, &["--dt must be a finite number > 0, got -0.0001"]);
    let o = run_in(dir.path(), &["simulate", "--duration", "0.01", "--pre-rate", "-5", "--out", "s"]);
    fails_with(&o, &["--pre-rate must be a finite number >= 0 Hz, got -5"]);
    // Lists and the other subcommands' numbers: a message about the value, never "unexpected argument".
    let o = run_in(dir.path(), &["simulate", "--duration", "0.01", "--pre-spikes", "-0.1,0.002", "--out", "s"]);
    fails_with(&o, &["--pre-spikes", "`-0.1` must be a finite time >= 0 s"]);
    let o = run_in(dir.path(), &["train", "--classes", "-1,2", "--out", "T"]);
    fails_with(&o, &["--classes", "-1"]);
    for args in [
        &["train", "--i-bg", "-1e-12", "--n-train", "-5", "--out", "T"][..],
        &["characterise", "sky130", "--protocol", "missing.yaml", "--temp", "-40", "--out", "C"],
        &["bench", "--per-synapse-samples", "-3"],
    ] {
        let o = run_in(dir.path(), args);
        assert!(!o.status.success() && !stderr(&o).contains("unexpected argument"), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

// 13. Spike times, stimulation window and dt are checked against the duration.
#[test]
fn item13_simulate_times_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run_in(d, &["simulate", "--duration", "0.01", "--pre-spikes", "0.5", "--out", "s"]);
    fails_with(&o, &["spike at 0.5 s is outside"]);
    let o =
        run_in(d, &["simulate", "--duration", "0.01", "--stim-start", "0.005", "--stim-stop", "0.001", "--out", "s"]);
    fails_with(&o, &["--stim-stop 0.001 s is before --stim-start"]);
    let o = run_in(d, &["simulate", "--duration", "0.01", "--dt", "0.1", "--out", "s"]);
    fails_with(&o, &["longer than the duration"]);
    assert_eq!(names(d), Vec::<String>::new());
}

// 14. No empty output folder is left by a failing run.
#[test]
fn item14_no_empty_folders_left() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        dir.path(),
        &["simulate", "--params", "reference", "--model", "circuit", "--duration", "0.01", "--out", "s"],
    );
    fails_with(&o, &["does not match"]);
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

// 15. inf/NaN are never printed as results.
#[test]
fn item15_constant_data_gives_words_not_inf() {
    let dir = tempfile::tempdir().unwrap();
    descriptor_set(dir.path(), "t,v\n0,0.9\n0.005,0.9\n0.01,0.9\n");
    let o = run_in(dir.path(), &["compare", "--params", "cadence-fig17", "descriptor.yaml", "--out", "c"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let md = fs::read_to_string(dir.path().join("c/compare.md")).unwrap();
    assert!(out.contains("NRMSE undefined (constant data)  R2 undefined (constant data)"), "{out}");
    assert!(md.contains("| v_h | undefined (constant data) | undefined (constant data) |"), "{md}");
    let yaml = fs::read_to_string(dir.path().join("c/compare.yaml")).unwrap();
    assert!(yaml.contains("nrmse: null") && yaml.contains("r2: null"), "{yaml}");
    for text in [&*out, &md, &yaml] {
        assert!(!text.contains("inf") && !text.contains("NaN") && !text.contains("nan"), "{text}");
    }
    // A fit to the same data: its parameter file and its messages say so in words too.
    fs::write(
        dir.path().join("spec.yaml"),
        "name: s\nsolver: {particles: 4, global_iterations: 2, local_iterations: 5, seed: 1}\nparameters:\n  - {key: capacitor.c_f, lower: 1.0e-12, upper: 20.0e-12, scale: log, role: property}\n",
    )
    .unwrap();
    let o = run_in(dir.path(), &["fit", "descriptor.yaml", "--spec", "spec.yaml", "--out", "fit.yaml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = fs::read_to_string(dir.path().join("fit.yaml")).unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    for text in [&*out, &file] {
        assert!(!text.contains("inf") && !text.contains("NaN") && !text.contains(".nan"), "{text}");
        assert!(text.contains("undefined (constant data)"), "{text}");
    }
}

// 15. Values near the f64 limit: the measures are computed, not overflowed into NaN. Data 1, 2, 1.5 (x 1e300)
// against a model near 0.9 V: NRMSE = sqrt((1 + 4 + 2.25) / 3) / 1 = 155.5 %, R2 = 1 - 7.25 / 0.5 = -13.5.
#[test]
fn item15_huge_values_give_the_closed_form_measures() {
    let dir = tempfile::tempdir().unwrap();
    descriptor_set(dir.path(), "t,v\n0,1e300\n0.005,2e300\n0.01,1.5e300\n");
    let o = run_in(dir.path(), &["compare", "--params", "cadence-fig17", "descriptor.yaml", "--out", "c"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("NRMSE 155.5 %") && out.contains("R2 -13.500"), "{out}");
    assert!(!out.contains("NaN") && !out.contains("undefined"), "{out}");
}

// 16. Errors keep the FILE:LINE:COLUMN promise, and name the way out.
#[test]
fn item16_errors_are_located_and_helpful() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Out-of-range parameter value: the key's line and column.
    let preset = String::from_utf8(run_in(d, &["presets", "thesis-fig9"]).stdout).unwrap();
    fs::write(d.join("bad.yaml"), preset.replacen("tau_s: 4.88e-3", "tau_s: -4.88e-3", 1)).unwrap();
    let o = run_in(d, &["simulate", "--params", "bad.yaml", "--duration", "0.01", "--out", "s"]);
    fails_with(&o, &["bad.yaml:7:10: key `dpi.tau_s` = -0.00488 is out of range"]);
    // MNIST CSV: file:line:column.
    let mut row = csv_row("1");
    row.push_str(",oops");
    fs::write(d.join("m.csv"), format!("{}\n{row}\n", csv_row("0"))).unwrap();
    fails_with(&run_in(d, &["train", "--train-csv", "m.csv", "--out", "T"]), &["m.csv:2:"]);
    // --out an existing file.
    fs::write(d.join("f"), "x").unwrap();
    fails_with(&run_in(d, &["simulate", "--duration", "0.01", "--out", "f"]), &["f: is a file; expected a folder"]);
    // A missing fit spec names the path and --spec.
    descriptor_set(d, "t,v\n0,0.9\n0.005,0.91\n");
    fails_with(&run_in(d, &["fit", "descriptor.yaml", "--out", "x.yaml"]), &["fit-spec.yaml", "--spec"]);
    // UTF-16 and Latin-1 inputs.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend("t,v\n0,0.9\n".encode_utf16().flat_map(|u| u.to_le_bytes()));
    fs::write(d.join("d.csv"), utf16).unwrap();
    let o = run_in(d, &["compare", "--params", "cadence-fig17", "descriptor.yaml", "--out", "c"]);
    fails_with(&o, &["d.csv:1:1", "UTF-16", "iconv"]);
    fs::write(d.join("d.csv"), b"t,v \xB0C\n0,0.9\n".as_slice()).unwrap();
    let o = run_in(d, &["compare", "--params", "cadence-fig17", "descriptor.yaml", "--out", "c"]);
    fails_with(&o, &["d.csv:1:5", "LATIN1"]);
    fs::write(d.join("p.yaml"), b"model: circuit\nname: caf\xE9\n".as_slice()).unwrap();
    let o = run_in(d, &["simulate", "--params", "p.yaml", "--duration", "0.01", "--out", "s"]);
    fails_with(&o, &["p.yaml:2:10", "UTF-8"]);
}

// 17. Integers in CSV outputs are written as integers.
#[test]
fn item17_csv_integers() {
    use stc_synapse::io::table::to_csv;
    let text = to_csv(&[("true", &[0.0, 1.0]), ("pred_0", &[98.0, 2.0])]);
    assert_eq!(text, "true,pred_0\n0,98\n1,2\n");
}

// 20. The README cites nothing outside the repository and documents the flags.
#[test]
fn item20_readme_is_self_contained_and_complete() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let bench = fs::read_to_string(root().join("src/cli/bench.rs")).unwrap();
    assert!(!readme.contains("DESIGN-NOTES") && !bench.contains("DESIGN-NOTES"));
    for flag in ["--force", "--descriptor", "--calibration", "--validation", "--per-synapse-samples", "--per-class"] {
        assert!(readme.contains(flag), "README command table lacks {flag}");
    }
}

// 21. A ViVA header written as an OCEAN expression names the trace after the net, as OCEAN does.
#[test]
fn item21_viva_ocean_expression_names_the_net() {
    use stc_synapse::io::waveform::{parse_str, Format};
    let text = "v(\"/vh\" ?result \"tran\") X,v(\"/vh\" ?result \"tran\") Y\n0,0.9\n1e-3,0.91\n";
    let f = parse_str(text, Path::new("v.csv"), &Format::VivaCsv, None).unwrap();
    assert_eq!(f.trace_names(), vec!["/vh"]);
}

// 21. A Tektronix TDS2000-style CSV has no header row: settings in the first columns, time and value in columns 4
// and 5 from the first row on. Its first row is data, not a header.
#[test]
fn item21_tds2000_first_row_is_data() {
    use stc_synapse::io::waveform::{parse_str, Format, GenericOptions};
    let text = "Record Length,2.500000e+03,,-0.000125000000,0.04000,\n\
                Sample Interval,1.000000e-07,,-0.000124900000,0.04400,\n\
                Trigger Point,1.250000000000e+03,,-0.000124800000,0.03600,\n\
                ,,,-0.000124700000,0.04800,\n";
    let options =
        GenericOptions { time_column: "4".into(), columns: vec![("ch1".into(), "5".into())], ..Default::default() };
    let f = parse_str(text, Path::new("F0000CH1.CSV"), &Format::Generic, Some(&options)).unwrap();
    let ch1 = f.trace("ch1").unwrap();
    assert_eq!(ch1.t_s, vec![-0.000125, -0.0001249, -0.0001248, -0.0001247]);
    assert_eq!(ch1.values, vec![0.04, 0.044, 0.036, 0.048]);
    // Without a column map the traces are named by column.
    let text: String =
        text.lines().map(|l| l.split(',').skip(3).take(2).collect::<Vec<_>>().join(",") + "\n").collect();
    let f = parse_str(&text, Path::new("two.csv"), &Format::Generic, None).unwrap();
    assert_eq!(f.trace_names(), vec!["column2"]);
    assert_eq!(f.traces[0].t_s.len(), 4);
    // A real header is still a header.
    let f = parse_str("Time (ms),CH1\n0,1\n1,2\n", Path::new("h.csv"), &Format::Generic, None).unwrap();
    assert_eq!((f.trace_names(), f.traces[0].t_s.clone()), (vec!["CH1".to_string()], vec![0.0, 1e-3]));
}

// 5 (memory). Big files stream: a malformed row deep in a large ngspice file is still located exactly.
#[test]
fn item05_large_files_keep_located_errors() {
    use stc_synapse::io::waveform::{parse_str, Format};
    let mut text: String = (0..200_000).map(|k| format!(" {:e}  {:e}\n", k as f64 * 1e-6, 0.9)).collect();
    text.push_str(" 1.0 0.9x\n");
    let e = parse_str(&text, Path::new("big.txt"), &Format::Ngspice, None).unwrap_err().to_string();
    assert!(e.starts_with("big.txt:200001:6:"), "{e}");
    let mut csv: String = "t,v\n".to_string();
    csv.extend((0..200_000).map(|k| format!("{:e},{:e}\n", k as f64 * 1e-6, 0.9)));
    csv.push_str("0.1,0.9\n");
    let e = parse_str(&csv, Path::new("big.csv"), &Format::Generic, None).unwrap_err().to_string();
    assert!(e.starts_with("big.csv:200002:1:") && e.contains("increase strictly"), "{e}");
}

// 5. The block-parallel import of a big file (several blocks, CRLF, gzip) keeps the exact line and column of a
// malformed row deep inside it, and reads every row of a good one.
#[test]
fn item05_fast_import_keeps_line_and_column() {
    use stc_synapse::io::waveform::{read_file, Format};
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let rows = 600_000;
    let row = |k: usize| format!(" {:.6e}  {:.6e}\r\n", k as f64 * 1e-9, -0.5 + (k % 7) as f64 * 1e-3);
    let good: String = (0..rows).map(row).collect();
    let p = dir.path().join("big.txt");
    fs::write(&p, &good).unwrap();
    let f = read_file(&p, &Format::Ngspice, None).unwrap();
    assert_eq!(f.traces[0].t_s.len(), rows);
    assert_eq!(f.traces[0].values[rows - 1], -0.5 + ((rows - 1) % 7) as f64 * 1e-3);
    let bad = good.replacen(&row(451_234), " 4.512340e-4  -4.99e-1.2\r\n", 1);
    for (name, gzip) in [("bad.txt", false), ("bad.txt.gz", true)] {
        let p = dir.path().join(name);
        if gzip {
            let mut enc = flate2::write::GzEncoder::new(fs::File::create(&p).unwrap(), flate2::Compression::fast());
            enc.write_all(bad.as_bytes()).unwrap();
            enc.finish().unwrap();
        } else {
            fs::write(&p, &bad).unwrap();
        }
        let e = read_file(&p, &Format::Ngspice, None).unwrap_err().to_string();
        let want = format!("{}:451235:15: expected a number for v1 with a known suffix", p.display());
        assert!(e.starts_with(&want), "{e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// Command-line validation never panics: odd numbers for simulate either run (small cases) or fail cleanly.
    #[test]
    fn simulate_arguments_never_panic(
        duration in prop::sample::select(vec!["-1", "0", "0.005", "1e9", "NaN", "inf", "-inf", "1e-300"]),
        dt in prop::sample::select(vec!["-1e-4", "0", "1e-3", "1", "NaN", "1e300"]),
        rate in prop::sample::select(vec!["-5", "0", "100", "1e12", "NaN", "inf"]),
        stop in prop::sample::select(vec!["-1", "0", "0.002", "1e9"]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let o = run_in(dir.path(), &["simulate", "--duration", duration, "--dt", dt, "--pre-rate", rate, "--stim-stop", stop, "--out", "s"]);
        let e = stderr(&o);
        prop_assert!(!e.contains("panicked"), "{}", e);
        prop_assert!(matches!(o.status.code(), Some(0..=2)), "{:?} {}", o.status, e);
        prop_assert!(o.status.success() || e.contains("error:"), "failed without an error line: {}", e);
    }

    /// A failing --force run leaves any old result byte-identical.
    #[test]
    fn failing_force_run_keeps_old_result(content in proptest::collection::vec(any::<u8>(), 0..200), n in 1usize..4) {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("T");
        fs::create_dir(&t).unwrap();
        for k in 0..n {
            fs::write(t.join(format!("f{k}")), &content).unwrap();
        }
        let before = snapshot(&t);
        let o = run_in(dir.path(), &["simulate", "--params", "reference", "--model", "circuit", "--duration", "0.01", "--out", "T", "--force"]);
        prop_assert!(o.status.code() == Some(1));
        prop_assert_eq!(snapshot(&t), before);
    }

    /// The descriptor parser never panics on arbitrary text.
    #[test]
    fn descriptor_parser_never_panics(text in "[a-z_:{}\\[\\], 0-9.\\-\n]{0,200}") {
        let _ = stc_synapse::io::descriptor::Descriptor::from_yaml_str(&text, Path::new("d.yaml"));
    }

    /// The protocol parser never panics on arbitrary text.
    #[test]
    fn protocol_parser_never_panics_on_text(text in "[a-z_:{}\\[\\], 0-9.\\-\n]{0,200}") {
        let _ = stc_synapse::protocol::Protocol::parse(&text, "p.yaml");
    }

    /// A protocol with arbitrary numbers either is refused with a located error or gives sorted spike trains inside
    /// [0, duration_s].
    #[test]
    fn protocol_numbers_are_checked(
        duration in -10.0f64..100.0, start in -5.0f64..100.0, len in -1.0f64..10.0,
        pre in -100.0f64..2000.0, post in -100.0f64..2000.0, lag in -0.5f64..0.5,
        repeat in 0u32..4, spacing in -1.0f64..20.0, kind in 0usize..2,
    ) {
        let kind = ["regular", "poisson"][kind];
        let text = format!(
            "name: p\ndescription: fuzz\nduration_s: {duration}\nblocks:\n  - kind: {kind}\n    start_s: {start}\n    duration_s: {len}\n    pre_rate_hz: {pre}\n    post_rate_hz: {post}\n    post_lag_s: {lag}\n    repeat: {repeat}\n    spacing_s: {spacing}\n"
        );
        match stc_synapse::protocol::Protocol::parse(&text, "p.yaml") {
            // `p.yaml:LINE:COLUMN: ` at one of the numbers (lines 3 and 6-12), never at the name or the kind.
            Err(e) => {
                let at = located(&e.to_string(), "p.yaml");
                prop_assert!(at.is_some_and(|(l, _)| l == 3 || (6..=12).contains(&l)), "{}", e);
                let (l, c) = at.unwrap_or((1, 0));
                prop_assert!(c >= 1 && c <= text.lines().nth(l - 1).map_or(0, |t| t.chars().count() + 1), "{}", e);
            }
            Ok(p) => {
                let sp = p.spikes();
                for train in [&sp.pre, &sp.post] {
                    prop_assert!(train.windows(2).all(|w| w[0] <= w[1]));
                    prop_assert!(train.iter().all(|&t| (0.0..=p.duration_s).contains(&t)), "{:?}", train);
                }
            }
        }
    }

    /// The MNIST loaders never panic on arbitrary bytes.
    #[test]
    fn mnist_loaders_never_panic(a in proptest::collection::vec(any::<u8>(), 0..64), b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = stc_synapse::io::mnist::parse_idx(&a, &b, "p");
        let _ = stc_synapse::io::mnist::parse_csv(&String::from_utf8_lossy(&a), "p");
    }
}

/// `text` starts with `path:LINE:COLUMN: `; returns the line.
fn located_line(text: &str, path: &str) -> Option<usize> {
    located(text, path).map(|(line, _)| line)
}

/// `text` starts with `path:LINE:COLUMN: `; returns (line, column).
fn located(text: &str, path: &str) -> Option<(usize, usize)> {
    let rest = text.strip_prefix(path)?.strip_prefix(':')?;
    let mut parts = rest.splitn(3, ':');
    let line = parts.next()?.parse().ok()?;
    let column = parts.next()?.parse::<usize>().ok()?;
    parts.next()?.starts_with(' ').then_some((line, column))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// An arbitrary numeric table (generic CSV or ngspice) imports every row; one corrupted value cell gives an
    /// error at exactly that line with a column, or (a valid engineering value) the same row count. Never a panic.
    #[test]
    fn waveform_tables_import_or_locate(
        steps in proptest::collection::vec((1e-12f64..1e3, -1e6f64..1e6), 1..400),
        ngspice in any::<bool>(),
        corrupt in proptest::option::of((any::<prop::sample::Index>(), 0usize..9)),
        crlf in any::<bool>(),
    ) {
        use stc_synapse::io::waveform::{parse_str, Format};
        let tokens = ["x", "", "nan", "1e999", "1.2.3", "--1", "5u", "1,5", "0x10"];
        let mut t = 0.0;
        let mut cells: Vec<(String, String)> = steps.iter().map(|&(dt, v)| { t += dt; (format!("{t:e}"), format!("{v}")) }).collect();
        let bad = corrupt.map(|(i, k)| (i.index(cells.len()), tokens[k]));
        if let Some((row, token)) = bad {
            cells[row].1 = token.to_string();
        }
        let end = if crlf { "\r\n" } else { "\n" };
        let (text, header, format) = if ngspice {
            (cells.iter().map(|(t, v)| format!(" {t}  {v}{end}")).collect::<String>(), 0, Format::Ngspice)
        } else {
            (format!("t,v{end}") + &cells.iter().map(|(t, v)| format!("{t},{v}{end}")).collect::<String>(), 1, Format::Generic)
        };
        match (parse_str(&text, Path::new("f.txt"), &format, None), bad) {
            (Ok(f), None) | (Ok(f), Some((_, "5u"))) => prop_assert_eq!(f.traces[0].t_s.len(), steps.len()),
            (Ok(_), Some((row, token))) => prop_assert!(false, "row {} with {:?} was accepted", row, token),
            (Err(e), bad) => {
                let e = e.to_string();
                let want = bad.filter(|b| b.1 != "5u").map(|(row, _)| row + 1 + header);
                prop_assert_eq!(located_line(&e, "f.txt"), want, "{}", e);
            }
        }
    }

    /// A descriptor with arbitrary numbers and names either loads or is refused with `d.yaml:` and a position or
    /// the field; never a panic.
    #[test]
    fn descriptor_fields_are_checked(
        duration in prop::sample::select(vec!["0.03", "-1", "0", "1e400", ".nan", "x", "[]"]),
        spike in prop::sample::select(vec!["0.004", "-0.1", "1e9", "x", ".inf"]),
        scale in prop::sample::select(vec!["1.0", "0", "-2", "1e-300", ".nan", "abc"]),
        format in prop::sample::select(vec!["viva-csv", "generic", "spectre", "7"]),
        model in prop::sample::select(vec!["i_ca", "v_h", "nope", ""]),
    ) {
        let text = format!(
            "name: n\ndescription: d\nsource:\n  file: w.csv\n  format: {format}\nstimulus:\n  duration_s: {duration}\n  pre_spikes_s: [{spike}]\n  post_spikes_s: [0.002]\nparams: cadence-fig17\nsignals:\n  - {{model: {model}, trace: /ica, unit: A, scale: {scale}}}\n"
        );
        // The line of each field, and whether its value is wrong on its own.
        let bad = [
            (5, !matches!(format, "viva-csv" | "generic")),
            (7, !matches!(duration, "0.03")),
            (8, !matches!(spike, "0.004")),
            (12, model != "i_ca" || matches!(scale, "0" | ".nan" | "abc")), // unit A: only i_ca; a negative scale flips
        ];
        match stc_synapse::io::descriptor::Descriptor::from_yaml_str(&text, Path::new("d.yaml")) {
            Ok(_) => prop_assert!(bad.iter().all(|b| !b.1), "accepted with a bad field: {}", text),
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.len() < 600 && !e.contains("panicked"), "{}", e);
                // `d.yaml:LINE:COLUMN: ` at the line of a bad field.
                let at = located(&e, "d.yaml");
                prop_assert!(bad.iter().any(|&(l, b)| b && Some(l) == at.map(|a| a.0)), "{} for\n{}", e, text);
                // The column is inside that line (at most one past its end), never past it.
                let (l, c) = at.unwrap_or((1, 0));
                prop_assert!(c >= 1 && c <= text.lines().nth(l - 1).map_or(0, |t| t.chars().count() + 1), "{}", e);
            }
        }
    }
}

// `--mismatch FILE` is checked before any work: a located error for a key that is not a circuit parameter, and the
// flag conflicts with --mismatch-sigma.
#[test]
fn mismatch_file_errors_are_located_before_work() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("m.yaml"),
        "name: m\nparameters:\n  - {key: dpi.i_tau_a, sigma_rel: 0.1}\n  - {key: dpi.tau, sigma_rel: 0.1}\n",
    )
    .unwrap();
    let o = run_in(dir.path(), &["train", "--mismatch", "m.yaml", "--out", "t"]);
    fails_with(&o, &["m.yaml:4:11: `dpi.tau` is not a circuit parameter"]);
    let o = run_in(dir.path(), &["train", "--mismatch", "m.yaml", "--mismatch-sigma", "0.1", "--out", "t"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(names(dir.path()), vec!["m.yaml"]);
}

// `--tag-offset-sigma-v` is checked before any work: a negative or non-finite sigma, the exact mode, the reference
// model and the surrogate are refused with what was expected; the setting has its own flag, so --set-network refuses it.
#[test]
fn tag_offset_errors_come_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (
            &["train", "--tag-offset-sigma-v", "-5e-3", "--out", "t"],
            "--tag-offset-sigma-v must be a finite voltage >= 0, found -0.005",
        ),
        (
            &["train", "--tag-offset-sigma-v", "0.005", "--ablate", "surrogate", "--out", "t"],
            "--tag-offset-sigma-v needs the circuit model",
        ),
        (
            &["train", "--tag-offset-sigma-v", "-0.005", "--out", "t"],
            "--tag-offset-sigma-v must be a finite voltage >= 0, found -0.005",
        ),
        (
            &["train", "--tag-offset-sigma-v", "NaN", "--out", "t"],
            "--tag-offset-sigma-v must be a finite voltage >= 0, found NaN",
        ),
        (
            &["train", "--tag-offset-sigma-v", "0.005", "--exact", "--out", "t"],
            "--tag-offset-sigma-v needs the circuit model",
        ),
        (
            &["train", "--tag-offset-sigma-v", "0.005", "--model", "reference", "--out", "t"],
            "--tag-offset-sigma-v needs the circuit model",
        ),
        (&["train", "--set-network", "tag_offset_sigma_v=0.005", "--out", "t"], "--tag-offset-sigma-v"),
    ];
    for (args, needle) in cases {
        let o = run_in(dir.path(), args);
        fails_with(&o, &[needle]);
    }
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

// `stc rule --mismatch-sigma / --mismatch / --synapses` are checked before anything is computed, printed or written;
// --seed and --synapses without a mismatch flag are refused, not ignored.
#[test]
fn rule_mismatch_errors_come_before_work() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.yaml"), "name: m\nparameters:\n  - {key: dpi.tau, sigma_rel: 0.1}\n").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["rule", "--mismatch-sigma", "-0.1", "--out", "r.yaml"],
            "--mismatch-sigma must be a finite relative sigma >= 0, found -0.1",
        ),
        (
            &["rule", "--mismatch-sigma", "0.1", "--synapses", "0", "--out", "r.yaml"],
            "--synapses must be between 1 and 100000, found 0",
        ),
        (&["rule", "--mismatch", "m.yaml", "--out", "r.yaml"], "m.yaml:3:11: `dpi.tau` is not a circuit parameter"),
        (&["rule", "--seed", "5", "--out", "r.yaml"], "--mismatch"),
    ];
    for (args, needle) in cases {
        let o = run_in(dir.path(), args);
        fails_with(&o, &[needle]);
        assert!(String::from_utf8_lossy(&o.stdout).is_empty(), "{args:?} printed before the error");
    }
    assert_eq!(names(dir.path()), vec!["m.yaml"]);
}

// `stc train --set-network KEY=VALUE`: an unknown key, a key with its own flag, a wrong type or an out-of-range
// value is refused before any data is read, naming the key; nothing is written.
#[test]
fn set_network_errors_name_the_key_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 7] = [
        ("gain_target=4e-3", "unknown key `gain_target` (expected one of: "),
        ("per_class=3", "`per_class` has its own flag, --per-class"),
        ("lif.tau_syn_s=abc", "expected f64 (in lif.tau_syn_s=abc)"),
        ("gain_tau_samples=0.5", "gain_tau_samples must be 0 (off) or a finite number of samples >= 1, found 0.5"),
        ("lif.i_bg_a=1e-10", "`lif.i_bg_a` has its own flag, --i-bg"),
        ("max_rate_hz=1e9", "spikes per input and sample; at most 10,000"),
        ("lif", "--set-network expects KEY=VALUE, found `lif`"),
    ];
    for (set, want) in cases {
        // The missing CSV would fail later, at the data: the setting must be refused first.
        let o = run_in(dir.path(), &["train", "--set-network", set, "--train-csv", "missing.csv", "--out", "t"]);
        fails_with(&o, &[want]);
    }
    let o = run_in(dir.path(), &["train", "--ablate", "gain", "--set-network", "gain_tau_samples=50", "--out", "t"]);
    fails_with(&o, &["--set-network gain_tau_samples conflicts with --ablate gain"]);
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

/// A switch current that depends on v_h (`on_factor_vs_v_h`) runs in `stc simulate`, but the network computes
/// each trajectory's charge once for any v_h: `stc train` refuses it, located, before any work.
#[test]
fn network_refuses_a_switch_current_that_depends_on_v_h() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let preset = String::from_utf8(run_in(d, &["presets", "mnist-network"]).stdout).unwrap();
    let at = preset.find("\ndep_switch:\n").expect("the preset has a dep_switch section") + "\ndep_switch:\n".len();
    let with = format!("{}  on_factor_vs_v_h: [[0.7, 0.96], [1.3, 1.08]]\n{}", &preset[..at], &preset[at..]);
    let line = with.lines().position(|l| l.contains("on_factor_vs_v_h")).unwrap() + 1;
    fs::write(d.join("f.yaml"), &with).unwrap();
    let o = run_in(d, &["simulate", "--params", "f.yaml", "--duration", "0.05", "--out", "s"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run_in(d, &["train", "--params", "f.yaml", "--classes", "0,1", "--n-train", "10", "--out", "T"]);
    fails_with(&o, &[&format!("f.yaml:{line}:21: dep_switch.on_factor_vs_v_h"), "remove it"]);
    assert!(!d.join("T").exists());
    // A table out of order is a located range error.
    fs::write(d.join("g.yaml"), with.replace("[[0.7, 0.96], [1.3, 1.08]]", "[[0.7, 0.96], [0.6, 1.08]]")).unwrap();
    let o = run_in(d, &["simulate", "--params", "g.yaml", "--duration", "0.05", "--out", "s2"]);
    fails_with(&o, &[&format!("g.yaml:{line}:21: key `dep_switch.on_factor_vs_v_h[1][0]` = 0.6")]);
}

/// A transconductor recovery (`capacitor.v_lin_v > 0`) runs in `stc simulate` and `stc fit`, but the network's
/// recovery step is written for constant currents: `stc train` refuses it, naming the key, before any work.
#[test]
fn network_refuses_a_transconductor_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let preset = String::from_utf8(run_in(d, &["presets", "mnist-network"]).stdout).unwrap();
    let with = preset.replacen("  v_dd_v: 1.8", "  v_lin_v: 0.07\n  v_dd_v: 1.8", 1);
    assert_ne!(with, preset, "the preset has a capacitor.v_dd_v line");
    assert_eq!(with.lines().position(|l| l.contains("v_lin_v")), Some(87), "where the refusal locates it");
    fs::write(d.join("tc.yaml"), &with).unwrap();
    let o = run_in(d, &["simulate", "--params", "tc.yaml", "--duration", "0.05", "--out", "s"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run_in(d, &["train", "--params", "tc.yaml", "--classes", "0,1", "--n-train", "10", "--out", "T"]);
    fails_with(&o, &["tc.yaml:88:12: capacitor.v_lin_v", "constant", "set it to 0"]);
    assert!(!d.join("T").exists());
    // As a calibration too (which carries no recovery parameter to the network, so it would be dropped unseen).
    let o = run_in(d, &["train", "--calibration", "tc.yaml", "--classes", "0,1", "--n-train", "10", "--out", "T"]);
    fails_with(&o, &["tc.yaml:88:12: capacitor.v_lin_v", "constant"]);
    // From a file, located; the offset and the leakage, which exist only with it, are named with it.
    let both = with.replacen(
        "  v_lin_v: 0.07\n",
        "  v_lin_v: 0.07\n  v_rec_offset_v: 0.004\n  i_leak_top_a: 2.0e-12\n  v_leak_top_v: 0.03\n",
        1,
    );
    fs::write(d.join("tc2.yaml"), &both).unwrap();
    let line = both.lines().position(|l| l.contains("v_lin_v")).unwrap() + 1;
    let o = run_in(d, &["train", "--calibration", "tc2.yaml", "--classes", "0,1", "--n-train", "10", "--out", "T"]);
    let at = format!("tc2.yaml:{line}:12: capacitor.v_lin_v = 0.07 V");
    fails_with(&o, &[&at, "v_rec_offset_v = 0.004 V", "i_leak_top_a = 2e-12 A", "set these to 0"]);
    // With a switch current against v_h as well, both refusals show at once, each located.
    let three = both.replacen("dep_switch:\n", "dep_switch:\n  on_factor_vs_v_h: [[0.7, 0.96]]\n", 1);
    fs::write(d.join("tc3.yaml"), &three).unwrap();
    let line3 = three.lines().position(|l| l.contains("on_factor_vs_v_h")).unwrap() + 1;
    let o = run_in(d, &["train", "--calibration", "tc3.yaml", "--classes", "0,1", "--n-train", "10", "--out", "T"]);
    fails_with(
        &o,
        &[
            &format!(
                "tc3.yaml:{}:12: capacitor.v_lin_v = 0.07 V",
                three.lines().position(|l| l.contains("v_lin_v")).unwrap() + 1
            ),
            &format!("tc3.yaml:{line3}:21: dep_switch.on_factor_vs_v_h"),
        ],
    );
    assert!(!d.join("T").exists());
}
