use super::*;

fn parse(text: &str) -> Protocol {
    Protocol::parse(text, "t.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> ProtocolError {
    match Protocol::parse(text, "bad.yaml") {
        Ok(p) => panic!("expected an error, parsed {p:?}"),
        Err(e) => e,
    }
}

/// 1-based (line, column) of the first occurrence of `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    for (k, l) in text.lines().enumerate() {
        if let Some(c) = l.find(needle) {
            return (k + 1, c + 1);
        }
    }
    panic!("{needle} not in text")
}

const REGULAR: &str = "\
name: reg
duration_s: 1.0
blocks:
  - kind: regular
    start_s: 0.1
    duration_s: 0.2
    pre_rate_hz: 100.0
    post_rate_hz: 50.0
    post_lag_s: 0.003
";

#[test]
fn regular_block_counts_and_times_are_the_closed_form() {
    let s = parse(REGULAR).spikes();
    // Pre: 0.2 s * 100 Hz = 20 spikes at 0.1 + k / 100.
    assert_eq!(s.pre.len(), 20);
    for (k, t) in s.pre.iter().enumerate() {
        assert!((t - (0.1 + k as f64 * 0.01)).abs() < 1e-12, "pre {k}: {t}");
    }
    // Post: 0.2 s * 50 Hz = 10 spikes at 0.1 + 0.003 + k / 50.
    assert_eq!(s.post.len(), 10);
    for (k, t) in s.post.iter().enumerate() {
        assert!((t - (0.103 + k as f64 * 0.02)).abs() < 1e-12, "post {k}: {t}");
    }
}

#[test]
fn post_lag_shifts_every_post_spike_and_may_be_negative() {
    let base = parse(&REGULAR.replace("post_rate_hz: 50.0", "post_rate_hz: 100.0").replace("0.003", "0.0"));
    for lag in [0.004, -0.002] {
        let text = REGULAR.replace("post_rate_hz: 50.0", "post_rate_hz: 100.0").replace("0.003", &lag.to_string());
        let s = parse(&text).spikes();
        let b = base.spikes();
        assert_eq!(s.pre, b.pre);
        assert_eq!(s.post.len(), b.post.len());
        for (x, y) in s.post.iter().zip(&b.post) {
            assert!((x - y - lag).abs() < 1e-12, "lag {lag}: {x} vs {y}");
        }
        // Each post spike follows (precedes) its pre spike by the lag.
        for (q, p) in s.post.iter().zip(&s.pre) {
            assert!((q - p - lag).abs() < 1e-12);
        }
    }
}

#[test]
fn repetitions_are_placed_at_the_spacing() {
    let p = parse(
        "name: stet-like\nduration_s: 1300.0\nblocks:\n  - {kind: regular, start_s: 0.0, duration_s: 1.0, \
         pre_rate_hz: 100.0, repeat: 3, spacing_s: 600.0}\n",
    );
    let s = p.spikes();
    assert_eq!(s.pre.len(), 300);
    assert!(s.post.is_empty());
    for r in 0..3 {
        let rep: Vec<f64> = s.pre[r * 100..(r + 1) * 100].to_vec();
        assert!((rep[0] - 600.0 * r as f64).abs() < 1e-9, "{}", rep[0]);
        assert!((rep[99] - (600.0 * r as f64 + 0.99)).abs() < 1e-9, "{}", rep[99]);
    }
    assert!((p.last_spike_s() - 1200.99).abs() < 1e-9);
}

#[test]
fn poisson_is_reproducible_by_seed_and_has_the_mean_count() {
    let text =
        "name: poi\nduration_s: 50.0\nseed: 5\nblocks:\n  - {kind: poisson, duration_s: 50.0, pre_rate_hz: 40.0, \
                post_rate_hz: 20.0}\n";
    let p = parse(text);
    assert_eq!(p.spikes(), p.spikes());
    assert_eq!(p.spikes(), p.spikes_with_seed(5));
    assert_ne!(p.spikes().pre, p.spikes_with_seed(6).pre);
    // Pre and post are independent streams, not one train.
    let s = p.spikes();
    assert_ne!(s.pre[..10], s.post[..10]);
    // Mean count over 40 seeds: 2000 and 1000 expected, standard error sqrt(n / 40): 5 sigma bounds.
    let (mut npre, mut npost) = (0.0, 0.0);
    for seed in 0..40 {
        let s = p.spikes_with_seed(seed);
        npre += s.pre.len() as f64 / 40.0;
        npost += s.post.len() as f64 / 40.0;
        assert!(s.pre.windows(2).all(|w| w[0] <= w[1]) && s.pre.iter().all(|&t| (0.0..50.0).contains(&t)));
    }
    assert!((npre - 2000.0).abs() < 5.0 * (2000.0f64 / 40.0).sqrt(), "{npre}");
    assert!((npost - 1000.0).abs() < 5.0 * (1000.0f64 / 40.0).sqrt(), "{npost}");
}

#[test]
fn editing_one_block_does_not_redraw_another() {
    let a = "name: two\nduration_s: 10.0\nblocks:\n  - {kind: poisson, duration_s: 1.0, pre_rate_hz: 50.0}\n  - \
             {kind: poisson, start_s: 5.0, duration_s: 1.0, pre_rate_hz: 50.0}\n";
    let b = a.replacen("pre_rate_hz: 50.0", "pre_rate_hz: 80.0", 1);
    let late = |p: Protocol| p.spikes().pre.into_iter().filter(|&t| t >= 5.0).collect::<Vec<_>>();
    assert_eq!(late(parse(a)), late(parse(&b)));
}

#[test]
fn explicit_lists_are_merged_and_sorted() {
    let text = "name: mix\nduration_s: 0.1\npre_spikes_s: [0.055, 0.005]\npost_spikes_s:\n  - 0.002\n  - 0.0\n\
                blocks:\n  - {kind: regular, start_s: 0.01, duration_s: 0.05, pre_rate_hz: 50.0}\n";
    let s = parse(text).spikes();
    assert_eq!(s.pre, vec![0.005, 0.01, 0.03, 0.05, 0.055]);
    assert_eq!(s.post, vec![0.0, 0.002]);
}

#[test]
fn to_yaml_parses_back_to_an_equal_protocol() {
    let text =
        "name: rt\ndescription: round trip\nduration_s: 3.5\nseed: 9\npre_spikes_s: [0.1, 0.30000000000000004]\n\
                blocks:\n  - {kind: poisson, start_s: 0.5, duration_s: 0.2, pre_rate_hz: 33.3, post_rate_hz: 7.0, \
                post_lag_s: -0.001, repeat: 4, spacing_s: 0.7}\n  - {kind: silence, start_s: 3.3, duration_s: 0.1}\n";
    let p = parse(text);
    let q = parse(&p.to_yaml());
    assert_eq!(p, q);
    assert_eq!(p.spikes(), q.spikes());
}

#[test]
fn every_shipped_protocol_parses_and_stays_inside_its_duration() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocols");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let p = Protocol::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(path.file_stem().unwrap().to_str().unwrap(), p.name, "file name = protocol name");
            let s = p.spikes();
            assert!(s.pre.iter().chain(&s.post).all(|&t| (0.0..=p.duration_s).contains(&t)));
            n += 1;
        }
    }
    assert!(n >= 8, "{n} protocols shipped");
}

#[test]
fn shipped_fig17_and_fig11_have_the_thesis_spikes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocols");
    let p = Protocol::load(&dir.join("fig17-pairing.yaml")).unwrap();
    assert_eq!(p.spikes(), Spikes { pre: vec![0.004], post: vec![0.002] });
    assert!((p.duration_s - 0.030).abs() < 1e-15);
    let p = Protocol::load(&dir.join("fig11-strong-potentiation.yaml")).unwrap();
    let s = p.spikes();
    // 0.2 s at 150 Hz (the rate the Cadence Fig. 11(b) set is read at): 30 spikes per side.
    assert_eq!((s.pre.len(), s.post.len()), (30, 30));
    assert!(p.last_spike_s() < 0.2 && p.duration_s == 100.0);
    let p = Protocol::load(&dir.join("stet.yaml")).unwrap();
    assert_eq!(p.blocks[0].repeat, 3);
    assert_eq!(p.blocks[0].spacing_s, 600.0);
}

#[test]
fn unknown_key_names_line_and_column() {
    let text = REGULAR.replace("    post_lag_s: 0.003", "    post_lag_s: 0.003\n    rate_hz: 3.0");
    let e = error(&text);
    assert_eq!((e.line, e.column), (position(&text, "rate_hz: 3").0, 5), "{e}");
    let s = e.to_string();
    assert!(s.starts_with(&format!("bad.yaml:{}:5: ", e.line)) && s.contains("rate_hz"), "{s}");
    let e = error("name: x\nduration_s: 1.0\ndurration_s: 2.0\n");
    assert_eq!(e.line, 3, "{e}");
}

#[test]
fn wrong_type_names_line_and_column() {
    let text = REGULAR.replace("pre_rate_hz: 100.0", "pre_rate_hz: fast");
    let e = error(&text);
    assert_eq!(e.line, position(&text, "fast").0, "{e}");
    assert!(e.to_string().contains("expected f64"), "{e}");
    let e = error(&REGULAR.replace("kind: regular", "kind: burst"));
    assert_eq!(e.line, 4, "{e}");
    assert!(e.to_string().contains("regular"), "{e}");
}

#[test]
fn bad_values_name_line_column_and_expectation() {
    // (text, a substring of the line at fault, the value the column must point at, what the message expects)
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (REGULAR.replace("duration_s: 0.2", "duration_s: -0.2"), "duration_s: -0.2", "-0.2", "duration > 0"),
        (REGULAR.replace("duration_s: 0.2", "duration_s: .inf"), "duration_s: .inf", ".inf", "finite duration"),
        (REGULAR.replace("pre_rate_hz: 100.0", "pre_rate_hz: -1.0"), "pre_rate_hz", "-1.0", "rate >= 0"),
        (REGULAR.replace("post_rate_hz: 50.0", "post_rate_hz: .nan"), "post_rate_hz", ".nan", "finite rate"),
        (REGULAR.replace("start_s: 0.1", "start_s: 0.9"), "start_s", "0.9", "end by the protocol's duration_s"),
        (REGULAR.replace("post_lag_s: 0.003", "post_lag_s: -0.2"), "post_lag_s", "-0.2", "post spikes at t >= 0"),
        (REGULAR.replace("duration_s: 1.0", "duration_s: 0.0"), "duration_s: 0.0", "0.0", "duration > 0"),
        (format!("{REGULAR}    repeat: 2\n"), "repeat", "2", "spacing_s >= duration_s"),
        (format!("{REGULAR}    repeat: 2\n    spacing_s: 0.1\n"), "spacing_s", "0.1", "spacing_s >= duration_s"),
        (format!("{REGULAR}    repeat: 0\n"), "repeat", "0", "repetitions >= 1"),
        (format!("{REGULAR}pre_spikes_s: [0.5, 1.5]\n"), "pre_spikes_s", "[0.5", "spike times in [0, duration_s"),
        (format!("{REGULAR}post_spikes_s:\n  - 0.5\n  - -0.01\n"), "-0.01", "-0.01", "spike times in [0, duration_s"),
        (REGULAR.replace("name: reg", "name: a/b"), "name", "a/b", "a name of letters"),
        (REGULAR.replace("kind: regular", "kind: silence"), "pre_rate_hz", "100.0", "no rate in a `silence` block"),
    ];
    for (text, line_has, value, expected) in cases {
        let e = error(&text);
        let s = e.to_string();
        assert!(s.contains(expected) && s.contains("found"), "{expected}: {s}");
        let (line, l) = text.lines().enumerate().find(|(_, l)| l.contains(line_has)).map(|(k, l)| (k + 1, l)).unwrap();
        let column = l.find(value).unwrap() + 1;
        assert_eq!((e.line, e.column), (line, column), "{expected}: {s}");
        assert!(s.starts_with(&format!("bad.yaml:{line}:{column}: ")), "{s}");
    }
}

#[test]
fn explicit_protocol_is_checked_without_positions() {
    let ok = Protocol::explicit("cli", "", 0.03, Spikes { pre: vec![0.004], post: vec![0.002] }).unwrap();
    assert_eq!(ok.spikes().pre, vec![0.004]);
    let e = Protocol::explicit("cli", "", 0.03, Spikes { pre: vec![0.04], post: vec![] }).unwrap_err();
    assert_eq!((e.line, e.column), (0, 0));
    assert!(e.to_string().starts_with("cli: expected spike times"), "{e}");
}

#[test]
fn unreadable_file_names_the_file() {
    let e = Protocol::load(Path::new("/no/such/protocol.yaml")).unwrap_err();
    assert!(e.to_string().starts_with("/no/such/protocol.yaml: cannot read"), "{e}");
}

/// The shipped Fig. 14 protocols (network rates: 40 Hz pre, 82.6 Hz teacher-driven post) give the thesis' signs on
/// the network presets without calibration: paired potentiates, pre-only and post-only depress, silence does nothing.
#[test]
fn shipped_fig14_protocols_give_the_thesis_signs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocols");
    for preset in ["thesis-network", "mnist-network"] {
        let p = crate::params::load_circuit(preset).unwrap();
        let dv = |name: &str| {
            let prot = Protocol::load(&dir.join(format!("fig14-{name}.yaml"))).unwrap();
            let tr = p.simulate(&prot.spikes(), prot.duration_s, 1e-3);
            tr.v_h_v.last().unwrap() - tr.v_h_v[0]
        };
        let (paired, pre, post, none) = (dv("paired"), dv("pre-only"), dv("post-only"), dv("none"));
        assert!(paired > 10e-3, "{preset}: paired {paired}");
        assert!(pre < -1e-3, "{preset}: pre-only {pre}");
        assert!(post < -1e-3, "{preset}: post-only {post}");
        assert!(none.abs() < 1e-9, "{preset}: none {none}");
    }
}
