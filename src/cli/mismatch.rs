//! `stc mismatch-extract`: a device-mismatch file (`stc train --mismatch FILE`) from Monte Carlo waveform sets,
//! e.g. the samples of `stc characterise sky130 --mc N`: per sample the block quantities of
//! [`crate::fit::extract`], then their log-normal spread and correlations.

use super::CliError;
use crate::fit::extract::{self, Reading, Run, Series, KEYS, QUANTITIES};
use crate::io::atomic::{self, Stage};
use crate::io::descriptor::{ModelSignal, WaveformSet};
use crate::params::mismatch::{Correlation, MismatchParam, MismatchSpec};
use std::path::PathBuf;

/// Read the resting calcium, the DPI's decay time and per-spike rises (from isolated spikes), the comparator
/// thresholds and the switch on-levels off every Monte Carlo sample (no fit: each from the signal of its block),
/// and write their relative spread and correlations as a mismatch file for `stc train --mismatch`.
#[derive(clap::Args, Debug)]
pub struct MismatchArgs {
    /// Waveform-set descriptors, one per sample (e.g. `DIR/<protocol>/mc-*/descriptor.yaml`), at least 9.
    #[arg(required = true)]
    pub descriptors: Vec<PathBuf>,
    /// Mismatch file to write (YAML).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the per-sample values as CSV.
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// Also write a report folder: report.md (the quantities ranked by spread, left-out samples) and
    /// histograms.png/.svg (per quantity, the samples' ln(x / geometric mean)).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Leave out readings that cannot be made instead of failing (e.g. the on-level of a switch that never turns
    /// on, or the DPI quantities of a probe without isolated spikes): each key's spread comes from the samples that
    /// read it, keys read on fewer than 6 are not written; all are listed on stdout and in the file's header. A
    /// threshold that is never reached or exceeded to the end is not left out: it is a censored reading (above
    /// what the calcium held for `--onset-hold`, or below the calcium at the end).
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Supply (upper rail) of v_h in the waveform sets [V]: switch readings are not taken while v_h is within
    /// 0.15 V of a rail (the switch's current sags there). The sky130 circuit's: 1.8 V.
    #[arg(long, default_value_t = 1.8, value_name = "V")]
    pub v_dd: f64,
    /// A switch that never turns on bounds its comparator's threshold (a censored reading) by the highest level the
    /// calcium held for this long: the comparator's onset (in the sky130 samples that did switch on, the calcium
    /// stayed above the threshold read at release for up to 1.2 ms (potentiation) and 1.7 ms (depression) without
    /// switching it on); 0 takes the highest calcium of the run.
    #[arg(long, default_value_t = extract::ONSET_HOLD_S, value_name = "S")]
    pub onset_hold: f64,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

/// The mismatch file as written (the fields of [`MismatchSpec`], which is parsed back to check it).
#[derive(serde::Serialize)]
struct SpecOut {
    name: String,
    description: String,
    parameters: Vec<MismatchParam>,
    correlations: Vec<Correlation>,
}

/// Keys read (a value or a censored bound) on fewer samples than this are left out of the file.
const MIN_READINGS: usize = 6;

/// One key as written: its readings' spread.
struct KeySpread {
    index: usize,
    spread: extract::Spread,
}

/// Run `stc mismatch-extract`.
pub fn run(a: MismatchArgs) -> Result<(), CliError> {
    // Every output is staged before any work and committed together at the end.
    let file_stage = Stage::file(&a.out, a.force)?;
    let table_stage = a.table.as_ref().map(|t| Stage::file(t, a.force)).transpose()?;
    let report_stage = a.report.as_ref().map(|r| Stage::dir(r, a.force)).transpose()?;
    if !(a.onset_hold.is_finite() && (0.0..=1.0).contains(&a.onset_hold)) {
        return Err(format!("--onset-hold must be between 0 and 1 s, found {}", a.onset_hold).into());
    }
    if !(a.v_dd.is_finite() && a.v_dd > 2.0 * extract::RAIL_MARGIN_V) {
        return Err(
            format!("--v-dd must be a supply above {} V, found {}", 2.0 * extract::RAIL_MARGIN_V, a.v_dd).into()
        );
    }
    // A correlation matrix of K quantities from n samples has rank at most n - 1: it is positive definite (as a
    // mismatch file's must be) only with n > K.
    let need = KEYS.len() + 1;
    if a.descriptors.len() < need {
        return Err(format!(
            "expected at least {need} Monte Carlo samples (descriptors) for {} correlated quantities, found {}",
            KEYS.len(),
            a.descriptors.len()
        )
        .into());
    }
    let mut samples: Vec<(String, [Reading; 8])> = Vec::new();
    let mut onset = [(0.0, String::new()), (0.0, String::new())];
    let mut excluded = Vec::new();
    for d in &a.descriptors {
        let ws = WaveformSet::load(d)?;
        let series = |m: ModelSignal| ws.signal(m).map(|s| Series { t_s: &s.t_s, y: &s.values });
        let sig = |m: ModelSignal| {
            series(m).ok_or_else(|| format!("{}: no {} signal (expected i_ca, i_hp and i_hd)", d.display(), m.name()))
        };
        let run = Run {
            i_ca: sig(ModelSignal::ICa)?,
            i_hp: sig(ModelSignal::IHp)?,
            i_hd: sig(ModelSignal::IHd)?,
            v_h: series(ModelSignal::VH),
            v_dd_v: a.v_dd,
            onset_hold_s: a.onset_hold,
            pre: &ws.spikes.pre,
            post: &ws.spikes.post,
        };
        match extract::extract(&run) {
            Ok(row) => {
                // How long the calcium stayed above each threshold read at release with the switch still off.
                for (k, (slot, s)) in [(4, &run.i_hp), (5, &run.i_hd)].into_iter().enumerate() {
                    if let Some(th) = row[slot].value() {
                        let ex = extract::longest_off_excursion(&run.i_ca, s, th);
                        if ex > onset[k].0 {
                            onset[k] = (ex, d.display().to_string());
                        }
                    }
                }
                samples.push((d.display().to_string(), row))
            }
            Err(e) => excluded.push(format!("{}: {e}", d.display())),
        }
    }
    let missing: Vec<String> = samples
        .iter()
        .flat_map(|(d, row)| {
            row.iter().zip(KEYS).filter_map(move |(r, k)| match r {
                Reading::Missing(m) => Some(format!("{d}: {k}: {m}")),
                _ => None,
            })
        })
        .collect();
    if !a.allow_incomplete && (!excluded.is_empty() || !missing.is_empty()) {
        let mut lines = excluded.clone();
        lines.extend(missing.iter().cloned());
        return Err(format!(
            "{} sample(s) cannot be read and {} reading(s) are missing (--allow-incomplete leaves them out):\n  {}",
            excluded.len(),
            missing.len(),
            lines.join("\n  ")
        )
        .into());
    }
    // Per key: its spread over the samples that read it (values and censored bounds).
    let mut kept: Vec<KeySpread> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for (index, key) in KEYS.iter().enumerate() {
        let readings: Vec<&Reading> =
            samples.iter().map(|(_, r)| &r[index]).filter(|r| !matches!(r, Reading::Missing(_))).collect();
        if readings.len() < MIN_READINGS {
            dropped.push(format!(
                "{key}: read on {} of {} samples (at least {MIN_READINGS} needed)",
                readings.len(),
                samples.len()
            ));
            continue;
        }
        match extract::spread_of(&readings) {
            Ok(spread) if spread.sigma > 0.0 => kept.push(KeySpread { index, spread }),
            Ok(_) => dropped.push(format!("{key}: the same on every sample (no spread)")),
            Err(e) => dropped.push(format!("{key}: {e}")),
        }
    }
    if kept.is_empty() {
        return Err(format!("no quantity could be read on enough samples:\n  {}", dropped.join("\n  ")).into());
    }
    // Correlations over the samples on which every kept quantity is a value.
    let complete: Vec<Vec<f64>> = samples
        .iter()
        .filter_map(|(_, r)| kept.iter().map(|k| r[k.index].value()).collect::<Option<Vec<f64>>>())
        .collect();
    if complete.len() <= kept.len() {
        return Err(format!(
            "only {} samples have all {} quantities read; their correlations need more than {}",
            complete.len(),
            kept.len(),
            kept.len()
        )
        .into());
    }
    let corr = extract::correlations(&complete);
    if corr.iter().flatten().any(|r| !r.is_finite()) {
        return Err("a correlation of the quantities read is not finite (a quantity the same on every sample)".into());
    }
    let n = samples.len();
    let spec = SpecOut {
        name: "measured-mc".into(),
        description: format!(
            "log-normal spread of block quantities read off {n} Monte Carlo waveform sets (stc mismatch-extract)"
        ),
        parameters: kept
            .iter()
            .map(|k| MismatchParam { key: KEYS[k.index].to_string(), sigma_rel: k.spread.sigma, mean_rel: 1.0 })
            .collect(),
        correlations: (0..kept.len())
            .flat_map(|i| (i + 1..kept.len()).map(move |j| (i, j)))
            .map(|(i, j)| Correlation { a: KEYS[kept[i].index].into(), b: KEYS[kept[j].index].into(), r: corr[i][j] })
            .collect(),
    };
    let mut text = format!(
        "# Written by `stc mismatch-extract` from {n} waveform sets ({} ... {}).\n\
         # Per key: sigma_rel = sd(ln x) over the samples that read it; where some readings are censored (a switch\n\
         # that never turns on: its threshold lies above what the calcium held for {} ms; one still on at the end:\n\
         # below the calcium there) the maximum-likelihood sigma of ln x with those readings censored, times\n\
         # sqrt(n / (n - 1)). Correlations of ln x over the {} samples on which every quantity was read (so those\n\
         # of a censored threshold come from the samples whose switch turned on and released: a selected subset).\n\
         # mean_rel 1 (the network keeps its own nominal values).\n\
         # Per key, what is read, its geometric mean and the samples that read it (values + censored):\n",
        samples[0].0,
        samples[n - 1].0,
        1e3 * a.onset_hold,
        complete.len()
    );
    for k in &kept {
        text.push_str(&format!(
            "#   {} ({}): {:.4e}, {} + {}\n",
            KEYS[k.index],
            QUANTITIES[k.index],
            k.spread.mu.exp(),
            k.spread.n_values,
            k.spread.n_censored
        ));
    }
    let mut notes = Vec::new();
    // The evidence for --onset-hold: the bound of a never-on switch holds only if the onset takes less.
    notes.push(format!(
        "Onset check: with the switch still off, the calcium stayed above the threshold read at release for up to \
         {:.2} ms (i_hp, {}) and {:.2} ms (i_hd, {}); --onset-hold {:.2} ms{}",
        1e3 * onset[0].0,
        if onset[0].1.is_empty() { "none read" } else { &onset[0].1 },
        1e3 * onset[1].0,
        if onset[1].1.is_empty() { "none read" } else { &onset[1].1 },
        1e3 * a.onset_hold,
        if onset[0].0.max(onset[1].0) >= a.onset_hold {
            " is shorter: a never-on switch's bound may lie above its threshold"
        } else {
            ""
        }
    ));
    if !excluded.is_empty() {
        notes.push(format!("Left out ({} of {} samples):", excluded.len(), a.descriptors.len()));
        notes.extend(excluded.iter().map(|e| format!("  {e}")));
    }
    if !dropped.is_empty() {
        notes.push("Not in the file:".into());
        notes.extend(dropped.iter().map(|e| format!("  {e}")));
    }
    if !missing.is_empty() {
        notes.push(format!(
            "Readings missing ({}; the spread of those keys comes from the other samples):",
            missing.len()
        ));
        notes.extend(missing.iter().map(|e| format!("  {e}")));
    }
    for l in &notes {
        text.push_str(&format!("# {l}\n"));
    }
    text.push_str(&serde_yaml::to_string(&spec)?);
    // The file must be one `stc train --mismatch` accepts (keys known, correlation matrix positive definite).
    let keys = crate::params::load_circuit("mnist-network")?.keys();
    MismatchSpec::parse(&text, &a.out.display().to_string(), &keys)
        .map_err(|e| format!("the extracted spread is not a valid mismatch file: {e}"))?;
    std::fs::write(file_stage.path(), &text).map_err(|e| format!("{}: {e}", file_stage.path().display()))?;
    if let Some(stage) = &table_stage {
        // Values as read; a censored reading is its bound, named in `above_bound` or `below_bound`; a missing one
        // is empty.
        let mut csv = format!("descriptor,{},above_bound,below_bound\n", KEYS.join(","));
        for (d, r) in &samples {
            let cells: Vec<String> = r
                .iter()
                .map(|x| match x {
                    Reading::Value(v) | Reading::Above(v) | Reading::Below(v) => format!("{v:e}"),
                    Reading::Missing(_) => String::new(),
                })
                .collect();
            let bound = |f: fn(&Reading) -> bool| {
                r.iter().zip(KEYS).filter(|(x, _)| f(x)).map(|(_, k)| k).collect::<Vec<_>>().join(";")
            };
            let (above, below) = (bound(|x| matches!(x, Reading::Above(_))), bound(|x| matches!(x, Reading::Below(_))));
            csv.push_str(&format!("{d},{},{above},{below}\n", cells.join(",")));
        }
        std::fs::write(stage.path(), csv).map_err(|e| format!("{}: {e}", stage.path().display()))?;
    }
    if let Some(stage) = &report_stage {
        report(&stage.path(), &samples, &kept, &notes, a.descriptors.len())?;
    }
    for l in &notes {
        println!("{l}");
    }
    println!(
        "{n} samples; relative spread (sigma of ln x), samples read (values + censored) and geometric mean per key:"
    );
    for k in &kept {
        let (v, c) = (k.spread.n_values, k.spread.n_censored);
        println!(
            "  {:<28} sigma {:>6.2} %  read {v:>3} + {c:<3} mean {:.4e}",
            KEYS[k.index],
            100.0 * k.spread.sigma,
            k.spread.mu.exp()
        );
    }
    atomic::commit_all(std::iter::once(file_stage).chain(table_stage).chain(report_stage).collect())?;
    println!("wrote {}", a.out.display());
    Ok(())
}

/// The report of `--report`: the quantities ranked by spread and their histograms (counts of ln(x / geometric
/// mean) of the values read, in bins of 0.1, one panel per quantity on a shared axis so the widths compare at a
/// glance; censored readings are counted in the panel's title).
fn report(
    dir: &std::path::Path,
    samples: &[(String, [Reading; 8])],
    kept: &[KeySpread],
    notes: &[String],
    total: usize,
) -> Result<(), CliError> {
    let values = |k: &KeySpread| -> Vec<f64> { samples.iter().filter_map(|(_, r)| r[k.index].value()).collect() };
    let logs: Vec<Vec<f64>> = kept.iter().map(|k| values(k).iter().map(|x| x.ln() - k.spread.mu).collect()).collect();
    let lim = logs.iter().flatten().fold(0.0f64, |a, x| a.max(x.abs()));
    let width = 0.1;
    let half = (lim / width).ceil().max(1.0) as i64 + 1;
    let panels: Vec<crate::plot::Panel> = kept
        .iter()
        .zip(&logs)
        .map(|(k, l)| {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for b in -half..half {
                let lo = b as f64 * width;
                x.push(lo);
                y.push(l.iter().filter(|&&v| v >= lo && v < lo + width).count() as f64);
            }
            x.push(half as f64 * width);
            y.push(0.0);
            let key = KEYS[k.index];
            let censored = match k.spread.n_censored {
                0 => String::new(),
                c => format!(", {c} censored, not drawn"),
            };
            crate::plot::Panel {
                title: format!("{key} (sigma of ln x {:.1} %{censored})", 100.0 * k.spread.sigma),
                y_label: "samples".into(),
                y_scale: 1.0,
                series: vec![crate::plot::Series {
                    label: key.to_string(),
                    x,
                    y,
                    style: crate::plot::Style::Steps,
                    color: None,
                }],
                hlines: vec![],
            }
        })
        .collect();
    let n = samples.len();
    crate::plot::plot_panels(
        &dir.join("histograms"),
        &format!("Monte Carlo spread of the block quantities ({n} samples; bins of 0.1 in ln x)"),
        "ln(x / geometric mean)",
        1.0,
        &panels,
    )?;
    let mut order: Vec<&KeySpread> = kept.iter().collect();
    order.sort_by(|a, b| b.spread.sigma.total_cmp(&a.spread.sigma));
    let mut md = format!(
        "# Monte Carlo mismatch ({n} of {total} samples read)\n\nRanked by relative spread (sigma of ln x; maximum \
         likelihood where readings are censored):\n\n\
         | key | sigma of ln x | quantity read | geometric mean | read: values + censored | smallest / largest |\n\
         |---|---|---|---|---|---|\n"
    );
    for k in order {
        let v = values(k);
        let (lo, hi) = v.iter().fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(*x), b.max(*x)));
        md += &format!(
            "| `{}` | {:.1} % | {} | {:.3e} | {} + {} | {lo:.3e} / {hi:.3e} |\n",
            KEYS[k.index],
            100.0 * k.spread.sigma,
            QUANTITIES[k.index],
            k.spread.mu.exp(),
            k.spread.n_values,
            k.spread.n_censored
        );
    }
    if !notes.is_empty() {
        md += "\n";
        for l in notes {
            md += &format!("{}\n", l.strip_prefix("  ").map_or(l.clone(), |x| format!("- {x}")));
        }
    }
    md += "\n![histograms](histograms.png)\n";
    atomic::write_atomic(&dir.join("report.md"), md.as_bytes())?;
    Ok(())
}
