//! Fit reports: per-signal goodness of fit before and after, parameter table with standard errors and flags,
//! correlations, chi-square and information criteria, as Markdown next to the overlay figures.

use super::stats::{nrmse, r_squared, FitStatistics};
use std::fmt::Write as _;

/// Goodness of fit of one signal.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SignalFit {
    /// Model signal name.
    pub signal: String,
    /// Points compared.
    pub n: usize,
    /// NRMSE (RMS error / data range) before the fit.
    pub nrmse_before: f64,
    /// NRMSE after.
    pub nrmse_after: f64,
    /// R^2 before.
    pub r2_before: f64,
    /// R^2 after.
    pub r2_after: f64,
    /// Last data value (SI).
    pub last_data: f64,
    /// Last model value after the fit (SI).
    pub last_after: f64,
}

impl SignalFit {
    /// Compare data with the model before and after.
    pub fn new(signal: &str, data: &[f64], before: &[f64], after: &[f64]) -> Self {
        SignalFit {
            signal: signal.into(),
            n: data.len(),
            nrmse_before: nrmse(data, before),
            nrmse_after: nrmse(data, after),
            r2_before: r_squared(data, before),
            r2_after: r_squared(data, after),
            last_data: data.last().copied().unwrap_or(f64::NAN),
            last_after: after.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// NRMSE as a percentage, or why there is none: inf/NaN are never printed as results (constant data has no range
/// to normalise by: +inf; a non-finite data or model value: NaN).
pub fn fmt_nrmse(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", 100.0 * x)
    } else if x.is_nan() {
        "undefined (non-finite values)".into()
    } else {
        "undefined (constant data)".into()
    }
}

/// R² to three decimals, or why there is none.
pub fn fmt_r2(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else if x.is_nan() {
        "undefined (non-finite values)".into()
    } else {
        "undefined (constant data)".into()
    }
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3e}")).unwrap_or_else(|| "-".into())
}

/// Render the Markdown report.
pub fn markdown(
    title: &str,
    header_lines: &[String],
    signals: &[SignalFit],
    stats: &FitStatistics,
    roles: &[String],
    stages: &[super::solve::StageReport],
    figures: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {title}\n");
    for l in header_lines {
        let _ = writeln!(s, "- {l}");
    }
    let _ = writeln!(s, "\n## Goodness of fit (on the data's own time points)\n");
    let _ =
        writeln!(s, "| signal | points | NRMSE before | NRMSE after | R² before | R² after | last data | last model |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for f in signals {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.6e} | {:.6e} |",
            f.signal,
            f.n,
            fmt_nrmse(f.nrmse_before),
            fmt_nrmse(f.nrmse_after),
            fmt_r2(f.r2_before),
            fmt_r2(f.r2_after),
            f.last_data,
            f.last_after
        );
    }
    let _ = writeln!(s, "\nNRMSE = RMS(data - model) / (max(data) - min(data)); R² = 1 - SS_res / SS_tot.\n");
    if !stages.is_empty() {
        let _ = writeln!(
            s,
            "## Solver stages\n\n| stage | cost before | cost after | model evaluations |\n|---|---|---|---|"
        );
        for st in stages {
            let _ =
                writeln!(s, "| {} | {:.4e} | {:.4e} | {} |", st.name, st.cost_before, st.cost_after, st.evaluations);
        }
        let total: u64 = stages.iter().map(|st| st.evaluations).sum();
        let _ = writeln!(s, "| total | | | {total} |");
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Parameters\n");
    let _ = writeln!(
        s,
        "| parameter | role | value | std. error | rel. error | 95 % CI (t) | bounds | note |\n|---|---|---|---|---|---|---|---|"
    );
    for (k, p) in stats.params.iter().enumerate() {
        let _ = writeln!(
            s,
            "| `{}` | {} | {:.4e} {} | {} | {} | {} | [{:.2e}, {:.2e}] | {} |",
            p.name,
            roles.get(k).map(String::as_str).unwrap_or(""),
            p.value,
            p.unit,
            fmt_opt(p.stderr),
            p.rel_stderr.map(|r| format!("{:.1} %", 100.0 * r)).unwrap_or_else(|| "-".into()),
            p.ci95.map(|c| format!("[{:.3e}, {:.3e}]", c[0], c[1])).unwrap_or_else(|| "-".into()),
            p.lower,
            p.upper,
            if p.note.is_empty() { "ok".to_string() } else { p.note.clone() }
        );
    }
    let _ = writeln!(
        s,
        "\n## Statistics\n\n- points n = {}, parameters p = {}, degrees of freedom = {}\n- chi-square = {:.4e}, reduced chi-square = {:.4e} (residuals are range-normalised and weighted per signal, so the absolute scale is a convention; standard errors are scaled by the reduced chi-square as lmfit does)\n- AIC = {:.2}, BIC = {:.2}\n- condition number of the scaled JᵀJ = {:.3e}\n",
        stats.n_points, stats.n_params, stats.dof, stats.chi2, stats.reduced_chi2, stats.aic, stats.bic, stats.condition_number
    );
    let _ = writeln!(s, "## Correlations (|r| > 0.9 shown; `-` = not available)\n");
    let mut any = false;
    for (a, row) in stats.correlation.iter().enumerate() {
        for (b, r) in row.iter().enumerate().skip(a + 1) {
            if let Some(r) = r {
                if r.abs() > 0.9 {
                    any = true;
                    let _ = writeln!(s, "- `{}` ~ `{}`: {:.3}", stats.params[a].name, stats.params[b].name, r);
                }
            }
        }
    }
    if !any {
        let _ = writeln!(s, "- none above 0.9");
    }
    let _ = writeln!(s, "\nFull matrix: `correlation.csv`.\n\n## Figures\n");
    for f in figures {
        let _ = writeln!(s, "![{f}]({f})\n");
    }
    s
}

/// The profile-likelihood section: each profiled parameter's 95 % interval beside the linearised t-interval.
pub fn profiles_markdown(profiles: &[super::profile::Profile], stats: &FitStatistics) -> String {
    use super::profile::Side;
    let mut s = String::from("\n## Profile-likelihood intervals (delays and tails)\n\n");
    if profiles.is_empty() {
        s.push_str("No delay or tail current is free in this fit.\n");
        return s;
    }
    s.push_str(
        "Each parameter held at values stepped away from the fit while every other free parameter is re-optimised; \
         the 95 % interval ends where the cost crosses chi2_min (1 + F(0.95; 1, n - p) / (n - p)). \"open\": the \
         bound was reached without crossing, the data do not limit the parameter on that side.\n\n\
         | parameter | value | 95 % profile interval | 95 % CI (t, linearised) | profile points | evaluations |\n\
         |---|---|---|---|---|---|\n",
    );
    let side = |x: &Side| match x {
        Side::Limit(v) => format!("{v:.3e}"),
        Side::OpenAtBound(b) => format!("open (bound {b:.2e})"),
    };
    for p in profiles {
        let lin = stats
            .params
            .iter()
            .find(|q| q.name == p.name)
            .and_then(|q| q.ci95)
            .map(|c| format!("[{:.3e}, {:.3e}]", c[0], c[1]))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "| `{}` | {:.4e} | [{}, {}] | {} | {} | {} |",
            p.name,
            p.value,
            side(&p.lower),
            side(&p.upper),
            lin,
            p.points.len(),
            p.evaluations
        );
    }
    s
}
