//! Tests of the figure functions: both files written, PNG valid and of the right size with visible text,
//! SVG containing title and legend texts, no temporary file left, bad shapes refused, degenerate data drawn.

use super::*;
use std::fs;
use std::io::Read;

/// Width and height from the IHDR chunk, after checking the PNG signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

/// Decode a PNG written by [`super::render::encode_png`] (RGB, one IDAT, filters None/Sub) to RGB bytes.
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let (w, h) = png_size(bytes);
    let mut pos = 8;
    let mut idat = Vec::new();
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        assert_eq!(crc.sum().to_be_bytes(), bytes[pos + 8 + len..pos + 12 + len], "CRC of chunk {kind:?}");
        if kind == b"IDAT" {
            idat.extend_from_slice(data);
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).unwrap();
    let stride = w as usize * 3;
    assert_eq!(raw.len(), (stride + 1) * h as usize);
    let mut rgb = Vec::with_capacity(stride * h as usize);
    for row in raw.chunks_exact(stride + 1) {
        let start = rgb.len();
        for (i, &b) in row[1..].iter().enumerate() {
            let v = match row[0] {
                0 => b,
                1 => b.wrapping_add(if i >= 3 { rgb[start + i - 3] } else { 0 }),
                f => panic!("unexpected filter {f}"),
            };
            rgb.push(v);
        }
    }
    (w, h, rgb)
}

/// Number of dark pixels (text, axes) in rows `y0..y1`.
fn dark_pixels(w: u32, rgb: &[u8], y0: u32, y1: u32) -> usize {
    let stride = w as usize * 3;
    rgb[y0 as usize * stride..y1 as usize * stride].chunks_exact(3).filter(|p| p.iter().all(|&c| c < 100)).count()
}

/// Check the two outputs of a figure: paths, PNG size and visible title text, SVG texts, no leftovers.
fn check_outputs(dir: &Path, stem: &str, paths: &[PathBuf], size: (u32, u32), texts: &[&str]) {
    assert_eq!(paths, &[dir.join(format!("{stem}.png")), dir.join(format!("{stem}.svg"))]);
    let png = fs::read(&paths[0]).unwrap();
    let (w, h, rgb) = decode_png(&png);
    assert_eq!((w, h), size, "PNG size");
    assert!(dark_pixels(w, &rgb, 0, 50) > 50, "no title text visible in the PNG");
    let svg = fs::read_to_string(&paths[1]).unwrap();
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "SVG header: {}", &svg[..svg.len().min(60)]);
    assert!(
        svg.contains(&format!("width=\"{}\"", size.0)) && svg.contains(&format!("height=\"{}\"", size.1)),
        "SVG size"
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    for t in texts {
        assert!(svg.contains(t), "SVG lacks the text `{t}`");
    }
    let leftovers: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

fn line(label: &str, x: Vec<f64>, y: Vec<f64>, style: Style) -> Series {
    Series { label: label.into(), x, y, style, color: None }
}

fn ramp(n: usize, dt: f64) -> Vec<f64> {
    (0..n).map(|i| i as f64 * dt).collect()
}

fn traces_panels() -> Vec<Panel> {
    let t = ramp(2000, 1e-4);
    let ca: Vec<f64> = t.iter().map(|t| 50e-12 * (-((t * 1e3) % 20.0) / 5.0).exp()).collect();
    let hp: Vec<f64> = ca.iter().map(|c| (c - 30e-12).max(0.0)).collect();
    let hd: Vec<f64> = ca.iter().map(|c| if *c > 10e-12 && *c < 30e-12 { 5e-12 } else { 0.0 }).collect();
    let vh: Vec<f64> = t.iter().map(|t| 0.4 + 0.1 * (t * 20.0).sin()).collect();
    vec![
        Panel {
            title: "Calcium current (DPI)".into(),
            y_label: "i_ca [pA]".into(),
            y_scale: 1e12,
            series: vec![Series { color: Some((31, 119, 180)), ..line("i_ca", t.clone(), ca, Style::Line) }],
            hlines: vec![HLine { label: "I_THPOT".into(), y: 30e-12 }, HLine { label: "I_THDEP".into(), y: 10e-12 }],
        },
        Panel {
            title: "Potentiation and depression currents".into(),
            y_label: "current [pA]".into(),
            y_scale: 1e12,
            series: vec![line("i_hp", t.clone(), hp, Style::Line), line("i_hd", t.clone(), hd, Style::Steps)],
            hlines: vec![],
        },
        Panel {
            title: "Early-phase voltage".into(),
            y_label: "v_h [V]".into(),
            y_scale: 1.0,
            series: vec![line("v_h", t.clone(), vh, Style::Line)],
            hlines: vec![HLine { label: "V_H0".into(), y: 0.4 }],
        },
    ]
}

#[test]
fn panels_write_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let panels = traces_panels();
    let paths = plot_panels(&dir.path().join("traces"), "Circuit synapse traces", "t [ms]", 1e3, &panels).unwrap();
    let size = (chart::WIDTH, chart::TITLE_H + 3 * chart::PANEL_H);
    assert_eq!(size, (1200, 950));
    check_outputs(
        dir.path(),
        "traces",
        &paths,
        size,
        &["Circuit synapse traces", "i_ca [pA]", "I_THPOT", "I_THDEP", "i_hp", "i_hd", "v_h", "V_H0", "t [ms]"],
    );
    // Writing again replaces the files.
    let again = plot_panels(&dir.path().join("traces"), "Second", "t [ms]", 1e3, &panels).unwrap();
    assert!(fs::read_to_string(&again[1]).unwrap().contains("Second"));
    check_outputs(dir.path(), "traces", &again, size, &[]);
}

#[test]
fn overlay_write_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let t = ramp(400, 2e-6);
    let data: Vec<f64> = t.iter().map(|t| 1e-9 * (1.0 - (-t / 2e-4).exp()) + 2e-11 * (t * 1e5).sin()).collect();
    let before: Vec<f64> = t.iter().map(|t| 0.8e-9 * (1.0 - (-t / 3e-4).exp())).collect();
    let after: Vec<f64> = t.iter().map(|t| 1e-9 * (1.0 - (-t / 2e-4).exp())).collect();
    let paths =
        plot_overlay(&dir.path().join("fit"), "DPI step response", "i_syn [nA]", 1e9, &t, &data, Some(&before), &after)
            .unwrap();
    let size = (1200, chart::TITLE_H + chart::OVERLAY_H.0 + chart::OVERLAY_H.1);
    check_outputs(
        dir.path(),
        "fit",
        &paths,
        size,
        &[
            "DPI step response",
            "data",
            "uncalibrated model",
            "fitted model",
            "data - fitted",
            "data - uncalibrated",
            "i_syn [nA]",
            "t [µs]",
        ],
    );
    // Without the uncalibrated model.
    let paths = plot_overlay(&dir.path().join("fit2"), "No before", "v [V]", 1.0, &t, &data, None, &after).unwrap();
    let svg = fs::read_to_string(&paths[1]).unwrap();
    assert!(svg.contains("fitted model") && !svg.contains("uncalibrated"));
}

#[test]
fn confusion_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let labels: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let counts: Vec<Vec<u64>> = (0..10)
        .map(|i| (0..10).map(|j| if i == j { 900 + 10 * i as u64 } else { ((i * 7 + j * 3) % 11) as u64 }).collect())
        .collect();
    let paths = plot_confusion(&dir.path().join("confusion"), "MNIST test set", &labels, &counts).unwrap();
    check_outputs(
        dir.path(),
        "confusion",
        &paths,
        (1100, 1000),
        &["MNIST test set", "predicted class", "true class", "990", "accuracy"],
    );
    let named = vec!["cat".to_string(), "dog".to_string()];
    let paths = plot_confusion(&dir.path().join("pets"), "Pets", &named, &[vec![3, 1], vec![0, 4]]).unwrap();
    check_outputs(dir.path(), "pets", &paths, (1100, 1000), &["cat", "dog", "87.50 %"]);
}

#[test]
fn heatmaps_write_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let maps: Vec<(String, Vec<f64>)> = (0..10)
        .map(|k| {
            let v = (0..28 * 28)
                .map(|p| ((p % 28) as f64 - 14.0).hypot((p / 28) as f64 - 14.0 + k as f64 * 0.3) * 1e-2)
                .collect();
            (format!("neuron {k}"), v)
        })
        .collect();
    let paths =
        plot_heatmaps(&dir.path().join("weights"), "Output weights", &maps, 28, 28, "synaptic weight", 5).unwrap();
    let png = fs::read(&paths[0]).unwrap();
    let (w, h) = png_size(&png);
    assert_eq!(w, 1200);
    assert!((500..1000).contains(&h), "height {h}");
    check_outputs(
        dir.path(),
        "weights",
        &paths,
        (w, h),
        &["Output weights", "neuron 0", "neuron 9", "synaptic weight"],
    );
}

#[test]
fn xy_writes_png_and_svg_linear_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let n = vec![100.0, 1000.0, 10000.0, 60000.0];
    let s = vec![
        line("circuit", n.clone(), vec![0.42, 0.71, 0.85, 0.89], Style::Line),
        line("reference", n.clone(), vec![0.45, 0.74, 0.87, 0.90], Style::Dashed),
        line("chance", n.clone(), vec![0.1; 4], Style::Points),
    ];
    for (stem, log) in [("acc_lin", false), ("acc_log", true)] {
        let paths =
            plot_xy(&dir.path().join(stem), "Accuracy vs training samples", "training samples", "accuracy", &s, log)
                .unwrap();
        check_outputs(
            dir.path(),
            stem,
            &paths,
            (1200, chart::TITLE_H + chart::XY_H),
            &["Accuracy vs training samples", "circuit", "reference", "chance", "training samples", "accuracy"],
        );
    }
}

#[test]
fn mismatched_shapes_are_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("bad");
    let bad = line("bad", vec![0.0, 1.0, 2.0], vec![0.0, 1.0], Style::Line);
    let panel =
        Panel { title: "p".into(), y_label: "y".into(), y_scale: 1.0, series: vec![bad.clone()], hlines: vec![] };
    assert!(matches!(plot_panels(&stem, "t", "x", 1.0, &[panel]), Err(PlotError::LengthMismatch { x: 3, y: 2, .. })));
    assert!(matches!(plot_xy(&stem, "t", "x", "y", &[bad], false), Err(PlotError::LengthMismatch { .. })));
    let t = [0.0, 1.0, 2.0];
    assert!(matches!(
        plot_overlay(&stem, "t", "y", 1.0, &t, &[1.0, 2.0], None, &t),
        Err(PlotError::LengthMismatch { .. })
    ));
    assert!(matches!(plot_overlay(&stem, "t", "y", 1.0, &t, &t, None, &[1.0]), Err(PlotError::LengthMismatch { .. })));
    assert!(matches!(
        plot_overlay(&stem, "t", "y", 1.0, &t, &t, Some(&[1.0]), &t),
        Err(PlotError::LengthMismatch { .. })
    ));
    let labels = vec!["a".to_string(), "b".to_string()];
    assert!(matches!(plot_confusion(&stem, "t", &labels, &[vec![1, 2]]), Err(PlotError::Shape(_))));
    assert!(matches!(plot_confusion(&stem, "t", &labels, &[vec![1, 2], vec![1]]), Err(PlotError::Shape(_))));
    assert!(matches!(plot_heatmaps(&stem, "t", &[("m".into(), vec![0.0; 5])], 2, 3, "w", 1), Err(PlotError::Shape(_))));
    assert!(matches!(plot_heatmaps(&stem, "t", &[("m".into(), vec![])], 0, 3, "w", 1), Err(PlotError::Shape(_))));
    let err = plot_panels(
        &stem,
        "fig",
        "x",
        1.0,
        &[Panel {
            title: "p".into(),
            y_label: "y".into(),
            y_scale: 1.0,
            series: vec![line("s", vec![1.0], vec![], Style::Line)],
            hlines: vec![],
        }],
    )
    .unwrap_err();
    assert!(err.to_string().contains("`s`"), "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "files written despite errors");
}

#[test]
fn degenerate_data_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nan = vec![f64::NAN; 50];
    let t = ramp(50, 1e-3);
    let mixed: Vec<f64> = (0..50)
        .map(|i| {
            if i % 7 == 3 {
                f64::NAN
            } else if i == 20 {
                f64::INFINITY
            } else {
                i as f64
            }
        })
        .collect();
    let panels = vec![
        Panel {
            title: "empty".into(),
            y_label: "y".into(),
            y_scale: 1.0,
            series: vec![line("none", vec![], vec![], Style::Line)],
            hlines: vec![],
        },
        Panel {
            title: "all NaN".into(),
            y_label: "y".into(),
            y_scale: 1.0,
            series: vec![line("nan", t.clone(), nan.clone(), Style::Points)],
            hlines: vec![HLine { label: "nan line".into(), y: f64::NAN }],
        },
        Panel {
            title: "constant".into(),
            y_label: "y".into(),
            y_scale: 1.0,
            series: vec![line("c", t.clone(), vec![3.0; 50], Style::Line)],
            hlines: vec![],
        },
        Panel {
            title: "zero".into(),
            y_label: "y".into(),
            y_scale: 1.0,
            series: vec![line("z", t.clone(), vec![0.0; 50], Style::Dashed)],
            hlines: vec![],
        },
        Panel {
            title: "holes".into(),
            y_label: "y".into(),
            y_scale: 1.0,
            series: vec![
                line("m", t.clone(), mixed.clone(), Style::Steps),
                line("single", vec![0.01], vec![5.0], Style::Line),
            ],
            hlines: vec![],
        },
        Panel {
            title: "".into(),
            y_label: "".into(),
            y_scale: f64::NAN,
            series: vec![line("nan scale", t.clone(), t.clone(), Style::Line)],
            hlines: vec![],
        },
        Panel {
            title: "huge".into(),
            y_label: "y".into(),
            y_scale: 1.0,
            series: vec![line("h", vec![0.0, 1.0], vec![-f64::MAX, f64::MAX], Style::Line)],
            hlines: vec![],
        },
    ];
    let paths = plot_panels(&d.join("degenerate"), "Degenerate", "t [ms]", 1e3, &panels).unwrap();
    check_outputs(d, "degenerate", &paths, (1200, 50 + 7 * 300), &["no data"]);
    plot_panels(&d.join("nopanels"), "No panels", "t", 1.0, &[]).unwrap();
    plot_overlay(&d.join("ov_nan"), "NaN overlay", "y [A]", 1.0, &t, &nan, Some(&nan), &nan).unwrap();
    plot_overlay(&d.join("ov_empty"), "Empty overlay", "y [A]", 1.0, &[], &[], None, &[]).unwrap();
    plot_overlay(&d.join("ov_const"), "Constant time", "y [A]", 1.0, &[1.0; 3], &[1.0; 3], None, &[1.0; 3]).unwrap();
    plot_xy(&d.join("xy_empty"), "", "", "", &[line("", vec![1.0, 2.0], vec![f64::NAN, 1.0], Style::Line)], false)
        .unwrap();
    plot_xy(
        &d.join("xy_log"),
        "Log with non-positive x",
        "x",
        "y",
        &[line("s", vec![-1.0, 0.0, f64::NAN], vec![1.0, 2.0, 3.0], Style::Line)],
        true,
    )
    .unwrap();
    plot_xy(
        &d.join("xy_log2"),
        "Log single point",
        "x",
        "y",
        &[line("s", vec![-1.0, 10.0], vec![1.0, 2.0], Style::Points)],
        true,
    )
    .unwrap();
    plot_confusion(
        &d.join("cm_zero"),
        "Zero counts",
        &["".into(), "b".into()],
        &[vec![0, 0], vec![u64::MAX, u64::MAX]],
    )
    .unwrap();
    plot_confusion(&d.join("cm_none"), "No classes", &[], &[]).unwrap();
    let many: Vec<String> = (0..100).map(|i| format!("class {i}")).collect();
    let big: Vec<Vec<u64>> = (0..100).map(|i| (0..100).map(|j| (i * j % 13) as u64 * 1000).collect()).collect();
    plot_confusion(&d.join("cm_many"), "Many classes", &many, &big).unwrap();
    plot_heatmaps(
        &d.join("hm_nan"),
        "NaN maps",
        &[("a".into(), vec![f64::NAN; 4]), ("b".into(), vec![1.0; 4])],
        2,
        2,
        "w",
        0,
    )
    .unwrap();
    plot_heatmaps(&d.join("hm_none"), "No maps", &[], 28, 28, "w", 5).unwrap();
    plot_heatmaps(&d.join("hm_signed"), "Signed", &[("a".into(), vec![-1.0, 0.0, 0.5, 2.0])], 4, 1, "w", 9).unwrap();
    plot_heatmaps(
        &d.join("hm_large"),
        "Large",
        &[("a".into(), (0..600 * 2).map(|v| v as f64).collect())],
        600,
        2,
        "w",
        1,
    )
    .unwrap();
    let names: Vec<String> =
        fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    assert_eq!(names.len(), 2 * 15, "{names:?}");
}

#[test]
fn long_traces_are_reduced_and_stems_keep_their_dots() {
    let dir = tempfile::tempdir().unwrap();
    let t = ramp(400_000, 1e-6);
    let y: Vec<f64> =
        t.iter().enumerate().map(|(i, t)| (t * 300.0).sin() + if i % 1000 == 0 { 0.5 } else { 0.0 }).collect();
    let p = Panel {
        title: "long".into(),
        y_label: "y".into(),
        y_scale: 1.0,
        series: vec![line("y", t.clone(), y.clone(), Style::Line), line("pts", t, y, Style::Points)],
        hlines: vec![],
    };
    let paths = plot_panels(&dir.path().join("run.v1"), "Long trace", "t [s]", 1.0, &[p]).unwrap();
    assert_eq!(paths[0].file_name().unwrap(), "run.v1.png");
    let svg_len = fs::metadata(&paths[1]).unwrap().len();
    assert!(svg_len < 3_000_000, "SVG of a long trace is {svg_len} bytes");
}

#[test]
fn special_characters_are_escaped_in_svg() {
    let dir = tempfile::tempdir().unwrap();
    let s = [line("a < b & c", vec![0.0, 1.0], vec![0.0, 1.0], Style::Line)];
    let paths = plot_xy(&dir.path().join("esc"), "x <y> & z", "x", "y", &s, false).unwrap();
    let svg = fs::read_to_string(&paths[1]).unwrap();
    assert!(svg.contains("x &lt;y&gt; &amp; z") && svg.contains("a &lt; b &amp; c"));
}

/// Render one example of each figure to /tmp/plot-examples/ for a visual check:
/// `cargo test --release --lib plot::tests::examples -- --ignored`.
#[test]
#[ignore]
fn examples() {
    let out = Path::new("/tmp/plot-examples");
    fs::create_dir_all(out).unwrap();
    plot_panels(
        &out.join("panels"),
        "Circuit synapse (thesis-fig9): 20 pre, 20 post spikes",
        "t [ms]",
        1e3,
        &traces_panels(),
    )
    .unwrap();
    let t = ramp(300, 5e-6);
    let data: Vec<f64> = t
        .iter()
        .enumerate()
        .map(|(i, t)| 1e-9 * (1.0 - (-t / 2e-4).exp()) + 2e-11 * ((i * 7919 % 13) as f64 - 6.0) / 6.0)
        .collect();
    let before: Vec<f64> = t.iter().map(|t| 0.8e-9 * (1.0 - (-t / 3e-4).exp())).collect();
    let after: Vec<f64> = t.iter().map(|t| 1e-9 * (1.0 - (-t / 2.05e-4).exp())).collect();
    plot_overlay(&out.join("overlay"), "DPI: i_syn step response", "i_syn [nA]", 1e9, &t, &data, Some(&before), &after)
        .unwrap();
    let labels: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let counts: Vec<Vec<u64>> = (0..10)
        .map(|i| {
            (0..10).map(|j| if i == j { 900 + 10 * i as u64 } else { ((i * 7 + j * 3) % 11) as u64 * 3 }).collect()
        })
        .collect();
    plot_confusion(&out.join("confusion"), "MNIST test set, 10 output neurons", &labels, &counts).unwrap();
    let maps: Vec<(String, Vec<f64>)> = (0..10)
        .map(|k| {
            let v = (0..28 * 28)
                .map(|p| {
                    let (x, y) = ((p % 28) as f64 - 14.0, (p / 28) as f64 - 14.0);
                    (-(x.hypot(y) - 4.0 - k as f64 * 0.6).powi(2) / 8.0).exp()
                })
                .collect();
            (format!("neuron {k}"), v)
        })
        .collect();
    plot_heatmaps(&out.join("heatmaps"), "Synaptic weights of the output neurons", &maps, 28, 28, "weight w", 5)
        .unwrap();
    let n = vec![100.0, 300.0, 1000.0, 3000.0, 10000.0, 60000.0];
    let s = vec![
        line("circuit model", n.clone(), vec![0.42, 0.60, 0.71, 0.80, 0.85, 0.89], Style::Line),
        line("reference model", n.clone(), vec![0.45, 0.63, 0.74, 0.82, 0.87, 0.90], Style::Dashed),
        line("chance", n.clone(), vec![0.1; 6], Style::Points),
    ];
    plot_xy(&out.join("xy"), "Test accuracy vs number of training samples", "training samples", "accuracy", &s, true)
        .unwrap();

    // Degenerate and crowded cases.
    let t = ramp(50, 1e-3);
    let mixed: Vec<f64> = (0..50).map(|i| if i % 7 == 3 { f64::NAN } else { (i as f64 * 0.3).sin() }).collect();
    let panels = vec![
        Panel {
            title: "empty series".into(),
            y_label: "y [V]".into(),
            y_scale: 1.0,
            series: vec![line("none", vec![], vec![], Style::Line)],
            hlines: vec![],
        },
        Panel {
            title: "constant 3".into(),
            y_label: "y [V]".into(),
            y_scale: 1.0,
            series: vec![line("c", t.clone(), vec![3.0; 50], Style::Line)],
            hlines: vec![],
        },
        Panel {
            title: "NaN holes, steps and points".into(),
            y_label: "y [V]".into(),
            y_scale: 1.0,
            series: vec![
                line("steps with holes", t.clone(), mixed.clone(), Style::Steps),
                line("points", t.clone(), mixed, Style::Points),
            ],
            hlines: vec![HLine { label: "a rather long threshold label that needs cutting".into(), y: 0.5 }],
        },
    ];
    plot_panels(&out.join("degenerate"), "Degenerate input", "t [ms]", 1e3, &panels).unwrap();
    let many: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    let big: Vec<Vec<u64>> =
        (0..40).map(|i| (0..40).map(|j| if i == j { 500 } else { (i * j % 13) as u64 }).collect()).collect();
    plot_confusion(&out.join("confusion_many"), "40 classes", &many, &big).unwrap();
    let signed: Vec<(String, Vec<f64>)> = (0..3)
        .map(|k| (format!("map {k}"), (0..28 * 28).map(|p| ((p % 28) as f64 - 14.0 + k as f64) / 14.0).collect()))
        .collect();
    plot_heatmaps(&out.join("heatmaps_signed"), "Signed values", &signed, 28, 28, "weight change Δw", 0).unwrap();
}
