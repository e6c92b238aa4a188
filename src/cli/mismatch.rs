//! `stc mismatch-extract`: a device-mismatch file (`stc train --mismatch FILE`) from Monte Carlo waveform sets,
//! e.g. the samples of `stc characterise sky130 --mc N`: per sample the block quantities of
//! [`crate::fit::extract`], then their log-normal spread and correlations.

use super::CliError;
use crate::fit::extract::{self, Series, KEYS};
use crate::io::atomic::{self, Stage};
use crate::io::descriptor::{ModelSignal, WaveformSet};
use crate::params::mismatch::{Correlation, MismatchParam, MismatchSpec};
use std::path::PathBuf;

/// Read the resting calcium, the comparator thresholds and the switch on-levels off every Monte Carlo sample
/// (no fit: each from the signal of its block), and write their relative spread and correlations as a mismatch
/// file for `stc train --mismatch`.
#[derive(clap::Args, Debug)]
pub struct MismatchArgs {
    /// Waveform-set descriptors, one per sample (e.g. `DIR/<protocol>/mc-*/descriptor.yaml`), at least 6.
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
    /// Leave out samples whose quantities cannot be read (e.g. a switch that never turns on: its threshold is
    /// beyond the calcium the probe reaches) instead of failing; they are listed on stdout and in the file's
    /// header, and the spread of the others understates the true one.
    #[arg(long)]
    pub allow_incomplete: bool,
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

/// Run `stc mismatch-extract`.
pub fn run(a: MismatchArgs) -> Result<(), CliError> {
    // Every output is staged before any work and committed together at the end.
    let file_stage = Stage::file(&a.out, a.force)?;
    let table_stage = a.table.as_ref().map(|t| Stage::file(t, a.force)).transpose()?;
    let report_stage = a.report.as_ref().map(|r| Stage::dir(r, a.force)).transpose()?;
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
    let mut rows = Vec::new();
    let mut excluded = Vec::new();
    for d in &a.descriptors {
        let ws = WaveformSet::load(d)?;
        let sig = |m: ModelSignal| {
            ws.signal(m)
                .map(|s| Series { t_s: &s.t_s, y: &s.values })
                .ok_or_else(|| format!("{}: no {} signal (expected i_ca, i_hp and i_hd)", d.display(), m.name()))
        };
        let first = ws.spikes.pre.iter().chain(&ws.spikes.post).copied().fold(f64::INFINITY, f64::min);
        if !first.is_finite() {
            return Err(format!("{}: the stimulus has no spike", d.display()).into());
        }
        match extract::extract(&sig(ModelSignal::ICa)?, &sig(ModelSignal::IHp)?, &sig(ModelSignal::IHd)?, first) {
            Ok(row) => rows.push((d.display().to_string(), row)),
            Err(e) => excluded.push(format!("{}: {e}", d.display())),
        }
    }
    if !excluded.is_empty() && !a.allow_incomplete {
        return Err(format!(
            "{} of {} samples cannot be read (--allow-incomplete leaves them out):\n  {}",
            excluded.len(),
            a.descriptors.len(),
            excluded.join("\n  ")
        )
        .into());
    }
    if rows.len() < need {
        return Err(format!("only {} samples could be read; at least {need} are needed", rows.len()).into());
    }
    let values: Vec<[f64; 5]> = rows.iter().map(|(_, r)| *r).collect();
    let (sigma, corr) = extract::spread(&values);
    let n = values.len();
    let spec = SpecOut {
        name: "measured-mc".into(),
        description: format!(
            "log-normal spread of block quantities read off {n} Monte Carlo waveform sets (stc mismatch-extract)"
        ),
        parameters: KEYS
            .iter()
            .zip(&sigma)
            .map(|(k, s)| MismatchParam { key: k.to_string(), sigma_rel: *s, mean_rel: 1.0 })
            .collect(),
        correlations: (0..5)
            .flat_map(|i| (i + 1..5).map(move |j| (i, j)))
            .map(|(i, j)| Correlation { a: KEYS[i].into(), b: KEYS[j].into(), r: corr[i][j] })
            .collect(),
    };
    let means: Vec<f64> =
        (0..KEYS.len()).map(|k| (values.iter().map(|r| r[k].ln()).sum::<f64>() / n as f64).exp()).collect();
    let mut text = format!(
        "# Written by `stc mismatch-extract` from {n} waveform sets ({} ... {}). Per key: sigma_rel = sd(ln x) over\n\
         # the samples; correlations of ln x; mean_rel 1 (the network keeps its own nominal values). Geometric means:\n",
        rows[0].0,
        rows[n - 1].0
    );
    for (k, key) in KEYS.iter().enumerate() {
        text.push_str(&format!("#   {key}: {:.4e}\n", means[k]));
    }
    if !excluded.is_empty() {
        text.push_str(&format!(
            "# Left out ({} of {} samples; the spread below understates the true one):\n",
            excluded.len(),
            a.descriptors.len()
        ));
        for e in &excluded {
            text.push_str(&format!("#   {e}\n"));
        }
    }
    text.push_str(&serde_yaml::to_string(&spec)?);
    // The file must be one `stc train --mismatch` accepts (keys known, correlation matrix positive definite).
    let keys = crate::params::load_circuit("mnist-network")?.keys();
    MismatchSpec::parse(&text, &a.out.display().to_string(), &keys)
        .map_err(|e| format!("the extracted spread is not a valid mismatch file: {e}"))?;
    std::fs::write(file_stage.path(), &text).map_err(|e| format!("{}: {e}", file_stage.path().display()))?;
    if let Some(stage) = &table_stage {
        let mut csv = format!("descriptor,{}\n", KEYS.join(","));
        for (d, r) in &rows {
            csv.push_str(&format!("{d},{}\n", r.iter().map(|x| format!("{x:e}")).collect::<Vec<_>>().join(",")));
        }
        std::fs::write(stage.path(), csv).map_err(|e| format!("{}: {e}", stage.path().display()))?;
    }
    if let Some(stage) = &report_stage {
        report(&stage.path(), &values, &means, &sigma, &excluded, a.descriptors.len())?;
    }
    for e in &excluded {
        println!("left out: {e}");
    }
    println!("{n} samples; relative spread (sigma of ln x) and geometric mean per key:");
    for (k, key) in KEYS.iter().enumerate() {
        println!("  {key:<28} sigma {:>6.2} %  mean {:.4e}", 100.0 * sigma[k], means[k]);
    }
    atomic::commit_all(std::iter::once(file_stage).chain(table_stage).chain(report_stage).collect())?;
    println!("wrote {}", a.out.display());
    Ok(())
}

/// The report of `--report`: the quantities ranked by spread and their histograms (counts of ln(x / geometric
/// mean) in bins of 0.1, one panel per quantity on a shared axis so the widths compare at a glance).
fn report(
    dir: &std::path::Path,
    values: &[[f64; 5]],
    means: &[f64],
    sigma: &[f64],
    excluded: &[String],
    total: usize,
) -> Result<(), CliError> {
    let n = values.len();
    let logs: Vec<Vec<f64>> =
        (0..KEYS.len()).map(|k| values.iter().map(|r| (r[k] / means[k]).ln()).collect()).collect();
    let lim = logs.iter().flatten().fold(0.0f64, |a, x| a.max(x.abs()));
    let width = 0.1;
    let half = (lim / width).ceil().max(1.0) as i64 + 1;
    let series: Vec<crate::plot::Series> = KEYS
        .iter()
        .zip(&logs)
        .map(|(key, l)| {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for b in -half..half {
                let lo = b as f64 * width;
                x.push(lo);
                y.push(l.iter().filter(|&&v| v >= lo && v < lo + width).count() as f64);
            }
            x.push(half as f64 * width);
            y.push(0.0);
            crate::plot::Series { label: (*key).to_string(), x, y, style: crate::plot::Style::Steps, color: None }
        })
        .collect();
    let panels: Vec<crate::plot::Panel> = series
        .into_iter()
        .zip(sigma)
        .map(|(s, sg)| crate::plot::Panel {
            title: format!("{} (sigma of ln x {:.1} %)", s.label, 100.0 * sg),
            y_label: "samples".into(),
            y_scale: 1.0,
            series: vec![s],
            hlines: vec![],
        })
        .collect();
    crate::plot::plot_panels(
        &dir.join("histograms"),
        &format!("Monte Carlo spread of the block quantities ({n} samples; bins of 0.1 in ln x)"),
        "ln(x / geometric mean)",
        1.0,
        &panels,
    )?;
    let mut order: Vec<usize> = (0..KEYS.len()).collect();
    order.sort_by(|&i, &j| sigma[j].total_cmp(&sigma[i]));
    let mut md = format!(
        "# Monte Carlo mismatch ({n} of {total} samples read)\n\nRanked by relative spread (sigma of ln x):\n\n\
         | quantity | sigma of ln x | geometric mean | smallest / largest sample |\n|---|---|---|---|\n"
    );
    for k in order {
        let gm = means[k];
        let (lo, hi) = values.iter().fold((f64::INFINITY, 0.0f64), |(a, b), r| (a.min(r[k]), b.max(r[k])));
        md += &format!("| `{}` | {:.1} % | {gm:.3e} | {lo:.3e} / {hi:.3e} |\n", KEYS[k], 100.0 * sigma[k]);
    }
    if !excluded.is_empty() {
        md += &format!("\nLeft out ({} samples; the spread above understates the true one):\n\n", excluded.len());
        for e in excluded {
            md += &format!("- {e}\n");
        }
    }
    md += "\n![histograms](histograms.png)\n";
    atomic::write_atomic(&dir.join("report.md"), md.as_bytes())?;
    Ok(())
}
