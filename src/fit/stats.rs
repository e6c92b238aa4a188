//! Fit statistics in the conventions of [lmfit](https://lmfit.github.io/lmfit-py/fitting.html#goodness-of-fit-statistics):
//! chi-square, reduced chi-square, AIC and BIC, standard errors from the scaled covariance, the correlation matrix,
//! plus the diagnostics a calibration report needs: parameters pinned at a bound, parameters the data do not
//! identify, and the condition number of the problem. Also the finite-difference [`jacobian`] the statistics are
//! computed from, and the per-signal goodness of fit [`nrmse`] and [`r_squared`].
//!
//! Pure math: no I/O. The results derive `Serialize` so they can be written into the YAML/Markdown fit report; no
//! field is ever NaN (a quantity that cannot be computed is `None`, with the reason in [`ParamStat::note`]).
//!
//! Conventions (lmfit's, for residuals `r` already weighted, i.e. divided by each point's sigma):
//! - `chi2 = sum r_i^2`, `dof = n - p` (lmfit's `nfree`), `reduced_chi2 = chi2 / max(1, dof)` (lmfit's `redchi`);
//! - `-2 ln L = n ln(chi2 / n)` with `chi2` floored at `1e-250 n`, `AIC = -2 ln L + 2p`, `BIC = -2 ln L + p ln n`;
//! - covariance `C = s^2 (J^T J)^+` with `s^2 = chi2 / dof` (lmfit's `scale_covar=True`: the noise level is taken
//!   from the residuals, so the errors do not depend on the absolute sigma), `stderr_k = sqrt(C_kk)`,
//!   `correl_jk = C_jk / (stderr_j stderr_k)`.
//!
//! `p` counts every parameter handed in (lmfit's `nvarys`), including those found at a bound, so AIC/BIC stay
//! comparable between fits of the same parameter set.

use serde::{Deserialize, Serialize};

use super::linalg::Matrix;

/// Finite-difference stencil for [`jacobian_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FdScheme {
    /// `(r(theta + h e_k) - r(theta)) / h`: p + 1 model evaluations, error O(h). What MINPACK (lmfit's `leastsq`)
    /// uses during the fit.
    Forward,
    /// `(r(theta + h e_k) - r(theta - h e_k)) / 2h`: 2p evaluations, error O(h^2). Preferred for the statistics
    /// after the fit, where accuracy matters more than speed.
    Central,
}

/// Central finite-difference Jacobian `J_ik = d r_i / d theta_k` of the residual function `f` at `theta`
/// (`n` residuals by `p` parameters), with step `h_k = rel_step * max(|theta_k|, abs_floor_k)`.
///
/// The step is relative so that parameters of very different magnitude (pA, ms, pF) are all perturbed in their
/// last few significant digits; `abs_floor_k` (in the parameter's own unit) keeps the step non-zero for a
/// parameter at or near zero. A good `rel_step` for central differences is about `eps^(1/3) ~ 6e-6`, or smaller
/// when `f` is smooth and cheap to evaluate accurately; `1e-6` is a fine default. Equivalent to
/// [`jacobian_with`] with [`FdScheme::Central`] and no bounds: use that to pick forward differences or to keep
/// every evaluation inside the parameter bounds.
///
/// # Panics
/// As [`jacobian_with`].
pub fn jacobian(f: &dyn Fn(&[f64]) -> Vec<f64>, theta: &[f64], rel_step: f64, abs_floor: &[f64]) -> Matrix {
    jacobian_with(f, theta, rel_step, abs_floor, FdScheme::Central, None)
}

/// Finite-difference Jacobian of `f` at `theta` with a chosen stencil, optionally never evaluating `f` outside
/// `bounds = (lower, upper)`.
///
/// The step is `h_k = rel_step * max(|theta_k|, abs_floor_k)` (falling back to `rel_step` itself, as an absolute
/// step, when both are zero), and the step actually taken is the representable difference `(theta_k + h) -
/// theta_k`, which removes the rounding of `theta_k + h` from the quotient. With bounds, a central difference that
/// would leave the box becomes a one-sided difference into the box (forward at a lower bound, backward at an upper
/// bound), and a step longer than the room to both bounds is shortened to the larger room; a parameter with
/// `lower == upper` gets a zero column. NaN bounds count as absent. `f(theta)` itself is evaluated only if a
/// one-sided difference needs it.
///
/// # Panics
/// If `abs_floor` (or the bounds) do not have one entry per parameter, if `rel_step` is not finite and positive,
/// or if `f` returns residual vectors of different lengths.
pub fn jacobian_with(
    f: &dyn Fn(&[f64]) -> Vec<f64>,
    theta: &[f64],
    rel_step: f64,
    abs_floor: &[f64],
    scheme: FdScheme,
    bounds: Option<(&[f64], &[f64])>,
) -> Matrix {
    let p = theta.len();
    assert_eq!(abs_floor.len(), p, "jacobian: {} abs_floor values for {p} parameters", abs_floor.len());
    assert!(rel_step.is_finite() && rel_step > 0.0, "jacobian: rel_step must be finite and positive, got {rel_step}");
    if let Some((lo, hi)) = bounds {
        assert!(lo.len() == p && hi.len() == p, "jacobian: bounds need {p} lower and upper values");
    }

    let mut n: Option<usize> = None;
    fn check_len(n: &mut Option<usize>, v: &[f64]) {
        match *n {
            None => *n = Some(v.len()),
            Some(m) => assert_eq!(v.len(), m, "jacobian: residual function returned {} values, earlier {m}", v.len()),
        }
    }
    let mut f0: Option<Vec<f64>> = None;
    let mut x = theta.to_vec();
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(p);

    enum Stencil {
        Central(f64),
        Forward(f64),
        Backward(f64),
        Zero,
    }

    for k in 0..p {
        let t = theta[k];
        let mut h = rel_step * t.abs().max(abs_floor[k].abs());
        if !(h > 0.0 && h.is_finite()) {
            h = rel_step;
        }
        let (lo, hi) = match bounds {
            Some((l, u)) => {
                (if l[k].is_nan() { f64::NEG_INFINITY } else { l[k] }, if u[k].is_nan() { f64::INFINITY } else { u[k] })
            }
            None => (f64::NEG_INFINITY, f64::INFINITY),
        };
        let room_up = hi - t;
        let room_down = t - lo;
        let stencil = if scheme == FdScheme::Central && room_up >= h && room_down >= h {
            Stencil::Central(h)
        } else if room_up >= h {
            Stencil::Forward(h)
        } else if room_down >= h {
            Stencil::Backward(h)
        } else if room_up >= room_down && room_up > 0.0 {
            Stencil::Forward(room_up)
        } else if room_down > 0.0 {
            Stencil::Backward(room_down)
        } else {
            Stencil::Zero
        };

        let col: Vec<f64> = match stencil {
            Stencil::Central(h) => {
                x[k] = t + h;
                let hp = x[k] - t;
                let fp = f(&x);
                check_len(&mut n, &fp);
                x[k] = t - h;
                let hm = t - x[k];
                let fm = f(&x);
                check_len(&mut n, &fm);
                let d = hp + hm;
                fp.iter().zip(&fm).map(|(a, b)| (a - b) / d).collect()
            }
            Stencil::Forward(h) | Stencil::Backward(h) => {
                let forward = matches!(stencil, Stencil::Forward(_));
                if f0.is_none() {
                    let v = f(theta);
                    check_len(&mut n, &v);
                    f0 = Some(v);
                }
                let base = f0.as_ref().expect("f0 evaluated above");
                x[k] = if forward { t + h } else { t - h };
                let d = x[k] - t;
                let fs = f(&x);
                check_len(&mut n, &fs);
                fs.iter().zip(base).map(|(a, b)| (a - b) / d).collect()
            }
            Stencil::Zero => {
                if n.is_none() {
                    let v = f(theta);
                    check_len(&mut n, &v);
                    f0 = Some(v);
                }
                vec![0.0; n.expect("length known")]
            }
        };
        x[k] = t;
        cols.push(col);
    }

    let n = match n {
        Some(n) => n,
        None => f(theta).len(), // p == 0: still report the number of residuals
    };
    Matrix::from_fn(n, p, |i, k| cols[k][i])
}

/// Which bound a parameter sits at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BoundHit {
    /// At (or below) its lower bound.
    Lower,
    /// At (or above) its upper bound.
    Upper,
}

/// Statistics of one fitted parameter, in its physical unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamStat {
    /// Parameter name (e.g. the dotted key `dpi.tau_s`).
    pub name: String,
    /// Best-fit value.
    pub value: f64,
    /// SI unit of `value`, `stderr`, `lower` and `upper` (may be empty).
    pub unit: String,
    /// One-sigma standard error `sqrt(C_kk)` of the scaled covariance (lmfit's `stderr`); `None` when it cannot be
    /// given: parameter at a bound, not identifiable from the data, no degrees of freedom, non-finite residuals.
    pub stderr: Option<f64>,
    /// `stderr / |value|` (`None` when `stderr` is `None` or `value` is zero).
    pub rel_stderr: Option<f64>,
    /// 95 % confidence interval `value -/+ t(0.975, dof) stderr` (Student's t quantile, statrs), clipped to the
    /// bounds; `None` without a standard error. Linearised: trust it only where the profile (if computed) agrees.
    pub ci95: Option<[f64; 2]>,
    /// Lower bound (`-inf` when unbounded).
    pub lower: f64,
    /// Upper bound (`+inf` when unbounded).
    pub upper: f64,
    /// The bound the parameter sits at (within 1e-3 of the bound span), if any; such a parameter is treated as
    /// fixed and excluded from the covariance.
    pub at_bound: Option<BoundHit>,
    /// Whether the data determine the value: a standard error exists and is at most 100 % of `|value|`.
    /// `false` for parameters at a bound, in the numerical null space of `J^T J`, or with a relative error > 1.
    pub identifiable: bool,
    /// Plain-words diagnosis for the report, empty when there is nothing to say, e.g. "at its upper bound 5e-3 A:
    /// the data want more; treated as fixed, no uncertainty" or "not identifiable: the data do not constrain it
    /// (moves together with b)".
    pub note: String,
}

/// Statistics of a whole fit (one `FitStatistics` per calibration), lmfit conventions (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitStatistics {
    /// Number of residuals `n` (lmfit's `ndata`).
    pub n_points: usize,
    /// Number of parameters `p` (lmfit's `nvarys`), including any found at a bound.
    pub n_params: usize,
    /// Degrees of freedom `max(0, n - p)` (lmfit's `nfree`).
    pub dof: usize,
    /// `sum r_i^2` of the weighted residuals (lmfit's `chisqr`); `+inf` if a residual is not finite.
    pub chi2: f64,
    /// `chi2 / max(1, dof)` (lmfit's `redchi`); about 1 when the model fits to within the stated sigmas.
    pub reduced_chi2: f64,
    /// Akaike information criterion `n ln(chi2 / n) + 2p` (lmfit's `aic`; `+inf` without data).
    pub aic: f64,
    /// Bayesian information criterion `n ln(chi2 / n) + p ln n` (lmfit's `bic`; `+inf` without data).
    pub bic: f64,
    /// Per-parameter statistics, in input order.
    pub params: Vec<ParamStat>,
    /// Correlation matrix `C_jk / sqrt(C_jj C_kk)` (`p x p`, input order; diagonal 1). It does not depend on the
    /// noise scale `s^2`, so it is given even when the standard errors are not (no dof, perfect fit); `None` for
    /// parameters at a bound or not identifiable from the data structure (zero column, null space).
    pub correlation: Vec<Vec<Option<f64>>>,
    /// Condition number `lambda_max / lambda_min` of the column-scaled `J^T J` over the parameters not at a bound
    /// (unit diagonal, so it is independent of the parameters' units; it is the square of the condition number of
    /// the scaled Jacobian). `+inf` for a singular problem, 1 when no parameter is free.
    pub condition_number: f64,
}

/// Thresholds of [`fit_statistics_with`]; [`Default`] gives those of [`fit_statistics`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsOptions {
    /// Eigenvalues of the column-scaled `J^T J` at or below `rcond * lambda_max` are the numerical null space
    /// (default `1e-10`, i.e. singular values of the scaled Jacobian below 1e-5 of the largest: well above the
    /// noise of a central-difference Jacobian, well below any usefully determined direction).
    pub rcond: f64,
    /// A parameter within `bound_rel_tol * (upper - lower)` of a bound is at that bound (default `1e-3`). For a
    /// half-open range the distance is taken relative to `|bound|` instead (so a bound at 0 needs exact equality).
    pub bound_rel_tol: f64,
    /// A parameter is in the null space when the length of the projection of its (scaled) unit direction onto the
    /// null space exceeds this (default `0.05`).
    pub null_share: f64,
    /// A correlation at least this large in magnitude is mentioned in the note (default `0.95`).
    pub strong_correlation: f64,
}

impl Default for StatsOptions {
    fn default() -> Self {
        StatsOptions { rcond: 1e-10, bound_rel_tol: 1e-3, null_share: 0.05, strong_correlation: 0.95 }
    }
}

/// Fit statistics with the default [`StatsOptions`]; see [`fit_statistics_with`].
///
/// # Panics
/// As [`fit_statistics_with`].
pub fn fit_statistics(
    residuals: &[f64],
    jac: &Matrix,
    names: &[String],
    units: &[String],
    values: &[f64],
    lower: &[f64],
    upper: &[f64],
) -> FitStatistics {
    fit_statistics_with(residuals, jac, names, units, values, lower, upper, &StatsOptions::default())
}

/// Per-parameter classification before the covariance.
#[derive(Clone, Copy, PartialEq)]
enum Status {
    AtBound(BoundHit),
    ColumnNotFinite,
    ColumnZero,
    Free,
}

/// Fit statistics from the weighted residuals `r` at the best fit (each already divided by its point's sigma or
/// normalisation), their Jacobian `jac` (`n x p`) with respect to the PHYSICAL parameters, and the parameters'
/// names, units, values and bounds (`-inf`/`+inf` or NaN for none).
///
/// Steps:
/// 1. `chi2`, `dof`, `reduced_chi2`, `aic`, `bic` as lmfit (module docs).
/// 2. Parameters within `bound_rel_tol` of a bound are flagged ([`ParamStat::at_bound`]) and treated as fixed:
///    excluded from the covariance (their note says whether chi2 would decrease beyond the bound, from the sign
///    of the gradient `J^T r`). Parameters whose Jacobian column is zero or not finite are not identifiable.
/// 3. The remaining columns are scaled to unit length (`J_s = J D^-1`), so that the rank decision does not depend
///    on units (pA next to ms next to pF), and `A = J_s^T J_s` is decomposed by an SVD of `J_s` (nalgebra). Eigenvalues
///    `<= rcond * lambda_max` span the null space; a parameter with a significant component in it (see
///    [`StatsOptions::null_share`]) is not identifiable: its note names the parameters it moves together with.
/// 4. `C = s^2 D^-1 A^+ D^-1` with `s^2 = chi2 / dof` (lmfit's `scale_covar=True`); for a full-rank problem this
///    is exactly `s^2 (J^T J)^-1`, and for the identifiable parameters of a rank-deficient one it is the variance
///    of an estimable quantity, hence still correct. A relative standard error above 1 also marks a parameter not
///    identifiable (the data barely constrain it); its stderr is still reported.
///
/// No output field is NaN: uncomputable quantities are `None` and the reason is in the note.
///
/// # Panics
/// If `jac` is not `residuals.len() x values.len()`, or `names`, `units`, `lower`, `upper` do not have one entry
/// per parameter.
#[allow(clippy::too_many_arguments)]
pub fn fit_statistics_with(
    residuals: &[f64],
    jac: &Matrix,
    names: &[String],
    units: &[String],
    values: &[f64],
    lower: &[f64],
    upper: &[f64],
    opts: &StatsOptions,
) -> FitStatistics {
    let n = residuals.len();
    let p = values.len();
    assert_eq!(
        (jac.rows(), jac.cols()),
        (n, p),
        "fit_statistics: Jacobian is {}x{}, expected {n} residuals x {p} parameters",
        jac.rows(),
        jac.cols()
    );
    for (what, len) in [("names", names.len()), ("units", units.len()), ("lower", lower.len()), ("upper", upper.len())]
    {
        assert_eq!(len, p, "fit_statistics: {len} {what} for {p} parameters");
    }

    // 1. Global statistics (lmfit's _calculate_statistics).
    let chi2_raw: f64 = residuals.iter().map(|r| r * r).sum();
    let residuals_finite = chi2_raw.is_finite();
    let chi2 = if residuals_finite { chi2_raw } else { f64::INFINITY };
    let dof = n.saturating_sub(p);
    let reduced_chi2 = chi2 / dof.max(1) as f64;
    let (aic, bic) = if n == 0 {
        (f64::INFINITY, f64::INFINITY)
    } else {
        let nf = n as f64;
        let neg2_log_likelihood = nf * (chi2.max(1e-250 * nf) / nf).ln();
        (neg2_log_likelihood + 2.0 * p as f64, neg2_log_likelihood + p as f64 * nf.ln())
    };

    // 2. Classify the parameters.
    let lower: Vec<f64> = lower.iter().map(|&l| if l.is_nan() { f64::NEG_INFINITY } else { l }).collect();
    let upper: Vec<f64> = upper.iter().map(|&u| if u.is_nan() { f64::INFINITY } else { u }).collect();
    let columns: Vec<Vec<f64>> = (0..p).map(|k| jac.column(k)).collect();
    let norms: Vec<f64> = columns.iter().map(|c| robust_norm(c)).collect();
    let status: Vec<Status> = (0..p)
        .map(|k| {
            if let Some(hit) = bound_hit(values[k], lower[k], upper[k], opts.bound_rel_tol) {
                Status::AtBound(hit)
            } else if !norms[k].is_finite() {
                Status::ColumnNotFinite
            } else if norms[k] < f64::MIN_POSITIVE {
                Status::ColumnZero
            } else {
                Status::Free
            }
        })
        .collect();
    let free: Vec<usize> = (0..p).filter(|&k| status[k] == Status::Free).collect();
    let m = free.len();

    // 3. SVD of the column-scaled Jacobian of the free parameters, J_s = U S V^T (nalgebra): the eigenvalues of
    //    J_s^T J_s are S^2 with eigenvectors V, without forming J_s^T J_s (whose condition number is squared).
    let js = nalgebra::DMatrix::from_fn(n, m, |i, a| columns[free[a]][i] / norms[free[a]]);
    let (lambda, vecs): (Vec<f64>, nalgebra::DMatrix<f64>) = if m == 0 || n == 0 {
        (vec![0.0; m], nalgebra::DMatrix::identity(m, m))
    } else {
        let svd = js.svd(false, true);
        let v_t = svd.v_t.expect("SVD computed with V");
        (svd.singular_values.iter().map(|s| s * s).collect(), v_t.transpose())
    };
    let lmax = lambda.iter().fold(0.0_f64, |acc, l| acc.max(l.abs()));
    let cutoff = opts.rcond.max(0.0) * lmax;
    let is_null: Vec<bool> = lambda.iter().map(|l| l.abs() <= cutoff || !l.is_finite()).collect();
    // Projector onto the null space (I minus the kept directions: a thin SVD with n < m has fewer than m vectors)
    // and pseudo-inverse, from the same decomposition.
    let mut proj = Matrix::identity(m);
    let mut pinv = Matrix::zeros(m, m);
    for (e, &l) in lambda.iter().enumerate() {
        if is_null[e] {
            continue;
        }
        for a in 0..m {
            for b in 0..m {
                let vv = vecs[(a, e)] * vecs[(b, e)];
                proj.set(a, b, proj.get(a, b) - vv);
                pinv.set(a, b, pinv.get(a, b) + vv / l);
            }
        }
    }
    let share: Vec<f64> = (0..m).map(|a| proj.get(a, a).max(0.0).sqrt()).collect();
    let in_null: Vec<bool> = share.iter().map(|&s| s > opts.null_share).collect();

    let any_bad_column = status.iter().any(|s| matches!(s, Status::ColumnZero | Status::ColumnNotFinite));
    let condition_number = if any_bad_column {
        f64::INFINITY
    } else if m == 0 {
        1.0
    } else {
        let lmin = if lambda.len() < m { 0.0 } else { lambda.iter().fold(f64::INFINITY, |a, &l| a.min(l)) };
        if lmin > 0.0 && (lmax / lmin).is_finite() {
            lmax / lmin
        } else {
            f64::INFINITY
        }
    };

    // 4. Covariance, standard errors, correlations.
    let s2 = if dof > 0 && residuals_finite { Some(chi2 / dof as f64) } else { None };
    let mut pos = vec![None; p]; // index into `free`
    for (a, &k) in free.iter().enumerate() {
        pos[k] = Some(a);
    }
    let structural = |k: usize| -> Option<usize> { pos[k].filter(|&a| !in_null[a] && pinv.get(a, a) > 0.0) };
    let mut correlation = vec![vec![None; p]; p];
    for (j, row) in correlation.iter_mut().enumerate() {
        for (k, entry) in row.iter_mut().enumerate() {
            if let (Some(a), Some(b)) = (structural(j), structural(k)) {
                let c = if a == b { 1.0 } else { pinv.get(a, b) / (pinv.get(a, a) * pinv.get(b, b)).sqrt() };
                if c.is_finite() {
                    *entry = Some(c.clamp(-1.0, 1.0));
                }
            }
        }
    }
    // Strongest correlation partner of each parameter (for the notes).
    let strongest = |k: usize| -> Option<(usize, f64)> {
        (0..p)
            .filter(|&j| j != k)
            .filter_map(|j| correlation[k][j].map(|c| (j, c)))
            .max_by(|x, y| x.1.abs().total_cmp(&y.1.abs()))
    };

    let gradient = jac.tr_mul_vec(residuals); // half the gradient of chi2
    let r_norm = robust_norm(residuals);

    let mut params = Vec::with_capacity(p);
    for k in 0..p {
        let unit = &units[k];
        let mut stderr = None;
        let mut note = String::new();
        match status[k] {
            Status::AtBound(hit) => {
                let (bound, side) = match hit {
                    BoundHit::Lower => (lower[k], "lower"),
                    BoundHit::Upper => (upper[k], "upper"),
                };
                if lower[k] == upper[k] {
                    note =
                        format!("fixed: lower and upper bound coincide at {}; no uncertainty", fmt_value(bound, unit));
                } else {
                    let why = if !norms[k].is_finite() {
                        "its Jacobian column is not finite".to_string()
                    } else if norms[k] < f64::MIN_POSITIVE {
                        "the data do not depend on it".to_string()
                    } else if !(gradient[k].is_finite() && r_norm.is_finite() && r_norm > 0.0) {
                        "the optimum sits on the bound".to_string()
                    } else {
                        // cosine between the column and the residual vector: sign of d chi2 / d theta_k.
                        let cos = gradient[k] / (norms[k] * r_norm);
                        let (outward, inward) = match hit {
                            BoundHit::Lower => (cos > 1e-6, cos < -1e-6),
                            BoundHit::Upper => (cos < -1e-6, cos > 1e-6),
                        };
                        if outward {
                            format!("the data want {}", if hit == BoundHit::Upper { "more" } else { "less" })
                        } else if inward {
                            "the data would prefer a value inside the range (the fit may not have converged)"
                                .to_string()
                        } else {
                            "the optimum sits on the bound".to_string()
                        }
                    };
                    note = format!(
                        "at its {side} bound {}: {why}; treated as fixed, no uncertainty",
                        fmt_value(bound, unit)
                    );
                }
            }
            Status::ColumnNotFinite => {
                note = "not identifiable: its Jacobian column is not finite (the model could not be evaluated \
                        near this value)"
                    .to_string();
            }
            Status::ColumnZero => {
                note = "not identifiable: the data do not depend on it (its Jacobian column is zero)".to_string();
            }
            Status::Free => {
                let a = pos[k].expect("free parameter has a position");
                if in_null[a] {
                    let partners: Vec<&str> = free
                        .iter()
                        .enumerate()
                        .filter(|&(b, _)| b != a && in_null[b])
                        .filter(|&(b, _)| proj.get(a, b).abs() > 0.1 * share[a] * share[b])
                        .map(|(_, &j)| names[j].as_str())
                        .collect();
                    note = if partners.is_empty() {
                        "not identifiable: the data do not constrain it".to_string()
                    } else {
                        format!(
                            "not identifiable: the data do not constrain it (moves together with {})",
                            partners.join(", ")
                        )
                    };
                } else if !residuals_finite {
                    note = "no uncertainty: the residuals are not all finite".to_string();
                } else if let Some(s2) = s2 {
                    let se = s2.sqrt() * pinv.get(a, a).max(0.0).sqrt() / norms[k];
                    if se.is_finite() {
                        stderr = Some(se);
                    } else {
                        note = "no uncertainty: the covariance overflows".to_string();
                    }
                } else {
                    note = format!("no uncertainty: no degrees of freedom left ({n} points for {p} parameters)");
                }
            }
        }
        let rel_stderr = stderr.and_then(|se| {
            let v = values[k];
            (v.is_finite() && v != 0.0).then(|| se / v.abs()).filter(|r| r.is_finite())
        });
        let identifiable = stderr.is_some() && rel_stderr.is_none_or(|r| r <= 1.0);
        if let Some(r) = rel_stderr.filter(|&r| r > 1.0) {
            note = format!("not identifiable: relative standard error {:.0} % exceeds 100 %", 100.0 * r);
            if let Some((j, c)) = strongest(k).filter(|&(_, c)| c.abs() >= opts.strong_correlation) {
                note.push_str(&format!(" (correlation {c:+.3} with {})", names[j]));
            }
        } else if identifiable {
            if let Some((j, c)) = strongest(k).filter(|&(_, c)| c.abs() >= opts.strong_correlation) {
                note = format!("strongly correlated with {} (r = {c:+.3})", names[j]);
            }
        }
        let ci95 = stderr.and_then(|se| {
            let t = t_quantile_975(dof)?;
            Some([(values[k] - t * se).max(lower[k]), (values[k] + t * se).min(upper[k])])
        });
        params.push(ParamStat {
            name: names[k].clone(),
            value: values[k],
            unit: unit.clone(),
            stderr,
            rel_stderr,
            ci95,
            lower: lower[k],
            upper: upper[k],
            at_bound: match status[k] {
                Status::AtBound(hit) => Some(hit),
                _ => None,
            },
            identifiable,
            note,
        });
    }

    FitStatistics { n_points: n, n_params: p, dof, chi2, reduced_chi2, aic, bic, params, correlation, condition_number }
}

/// The 0.975 quantile of Student's t with `dof` degrees of freedom (`None` for dof = 0).
pub fn t_quantile_975(dof: usize) -> Option<f64> {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let d = StudentsT::new(0.0, 1.0, dof as f64).ok()?;
    Some(d.inverse_cdf(0.975)).filter(|t| t.is_finite())
}

/// Which bound `value` is at: at or beyond a bound, or within `tol * (upper - lower)` of it (within
/// `tol * |bound|` for a half-open range). The nearer bound wins when both qualify.
fn bound_hit(value: f64, lower: f64, upper: f64, tol: f64) -> Option<BoundHit> {
    if value.is_nan() {
        return None;
    }
    if value <= lower {
        return Some(BoundHit::Lower);
    }
    if value >= upper {
        return Some(BoundHit::Upper);
    }
    let span = upper - lower;
    let (tol_lo, tol_hi) =
        if span.is_finite() { (tol * span, tol * span) } else { (tol * lower.abs(), tol * upper.abs()) };
    let d_lo = value - lower;
    let d_hi = upper - value;
    let near_lo = lower.is_finite() && d_lo <= tol_lo;
    let near_hi = upper.is_finite() && d_hi <= tol_hi;
    match (near_lo, near_hi) {
        (true, true) if d_lo <= d_hi => Some(BoundHit::Lower),
        (true, true) => Some(BoundHit::Upper),
        (true, false) => Some(BoundHit::Lower),
        (false, true) => Some(BoundHit::Upper),
        (false, false) => None,
    }
}

/// Euclidean norm without overflow or underflow for entries far from 1 (scales by the largest magnitude).
/// Non-finite entries give a non-finite result.
fn robust_norm(v: &[f64]) -> f64 {
    let big = v.iter().fold(0.0_f64, |m, x| if x.is_nan() || m.is_nan() { f64::NAN } else { m.max(x.abs()) });
    if big == 0.0 || !big.is_finite() {
        return big;
    }
    big * v.iter().map(|x| (x / big) * (x / big)).sum::<f64>().sqrt()
}

/// A value with its unit for a note: plain notation between 1e-2 and 1e4, else `5e-3` style.
fn fmt_value(v: f64, unit: &str) -> String {
    let a = v.abs();
    let num = if v == 0.0 || !v.is_finite() || (1e-2..1e4).contains(&a) { format!("{v}") } else { format!("{v:e}") };
    if unit.is_empty() {
        num
    } else {
        format!("{num} {unit}")
    }
}

/// The largest finite magnitude in `data` and `model`, or 1 when there is none: both are divided by it before
/// squaring, so that values near 1e300 neither overflow nor turn the scale-free measures below into NaN.
fn common_scale(data: &[f64], model: &[f64]) -> f64 {
    let s = data.iter().chain(model).filter(|x| x.is_finite()).fold(0.0_f64, |m, x| m.max(x.abs()));
    if s > 0.0 {
        s
    } else {
        1.0
    }
}

/// Normalised root-mean-square error of one signal: `RMS(data - model) / (max(data) - min(data))`, the usual
/// scale-free error of a waveform fit (0 for a perfect fit; 0.01 means the typical error is 1 % of the signal's
/// swing). Computed on values divided by their largest magnitude, so it is the same for data in volts and for the
/// same data times 1e300.
///
/// Degenerate cases, without NaN: no points, or a perfect fit, give 0; constant data with a non-zero error give
/// `+inf`. Non-finite inputs give NaN ([`crate::fit::report::fmt_nrmse`] says which).
///
/// # Panics
/// If `data` and `model` differ in length.
pub fn nrmse(data: &[f64], model: &[f64]) -> f64 {
    assert_eq!(data.len(), model.len(), "nrmse: {} data points, {} model points", data.len(), model.len());
    if data.is_empty() {
        return 0.0;
    }
    if data.iter().chain(model).any(|x| !x.is_finite()) {
        return f64::NAN;
    }
    let s = common_scale(data, model);
    let ss_res: f64 = data.iter().zip(model).map(|(d, m)| (d / s - m / s).powi(2)).sum();
    let rms = (ss_res / data.len() as f64).sqrt();
    if rms == 0.0 {
        return 0.0;
    }
    let lo = data.iter().map(|d| d / s).fold(f64::INFINITY, f64::min);
    let hi = data.iter().map(|d| d / s).fold(f64::NEG_INFINITY, f64::max);
    let range = hi - lo;
    if range > 0.0 {
        rms / range
    } else {
        f64::INFINITY
    }
}

/// Coefficient of determination `R^2 = 1 - SS_res / SS_tot` with `SS_res = sum (data - model)^2` and
/// `SS_tot = sum (data - mean(data))^2`: the fraction of the signal's variance the model explains (1 for a perfect
/// fit, 0 for a model no better than the mean, negative when worse). Scale-free, and computed on values divided by
/// their largest magnitude like [`nrmse`].
///
/// Degenerate cases: a perfect fit (also of constant data, or of no points) gives 1; constant data with a non-zero
/// error give `-inf`; non-finite inputs give NaN ([`crate::fit::report::fmt_r2`] says which).
///
/// # Panics
/// If `data` and `model` differ in length.
pub fn r_squared(data: &[f64], model: &[f64]) -> f64 {
    assert_eq!(data.len(), model.len(), "r_squared: {} data points, {} model points", data.len(), model.len());
    if data.iter().chain(model).any(|x| !x.is_finite()) {
        return f64::NAN;
    }
    let s = common_scale(data, model);
    let ss_res: f64 = data.iter().zip(model).map(|(d, m)| (d / s - m / s).powi(2)).sum();
    if ss_res == 0.0 {
        return 1.0;
    }
    // Constant data, decided on the values themselves: the mean of scaled values is not exact, so their SS_tot
    // may come out 1e-33 instead of 0 (and R2 -2.5e26).
    if data.iter().all(|d| *d == data[0]) {
        return f64::NEG_INFINITY;
    }
    let mean = data.iter().map(|d| d / s).sum::<f64>() / data.len() as f64;
    let ss_tot: f64 = data.iter().map(|d| (d / s - mean).powi(2)).sum();
    1.0 - ss_res / ss_tot
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic standard-normal noise: 64-bit LCG (Knuth's MMIX constants) + Box-Muller.
    struct Noise {
        state: u64,
        spare: Option<f64>,
    }
    impl Noise {
        fn new(seed: u64) -> Self {
            Noise { state: seed, spare: None }
        }
        fn uniform(&mut self) -> f64 {
            self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((self.state >> 11) as f64 + 0.5) / (1u64 << 53) as f64 // in (0, 1)
        }
        fn gauss(&mut self) -> f64 {
            if let Some(z) = self.spare.take() {
                return z;
            }
            let (u1, u2) = (self.uniform(), self.uniform());
            let r = (-2.0 * u1.ln()).sqrt();
            let phi = 2.0 * std::f64::consts::PI * u2;
            self.spare = Some(r * phi.sin());
            r * phi.cos()
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn rel_close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(a.abs())
    }

    /// Every f64 in the result is not NaN, and the YAML has no `.nan`.
    fn assert_no_nan(s: &FitStatistics) {
        for x in [s.chi2, s.reduced_chi2, s.aic, s.bic, s.condition_number] {
            assert!(!x.is_nan(), "{s:#?}");
        }
        for ps in &s.params {
            for x in [Some(ps.value), ps.stderr, ps.rel_stderr, Some(ps.lower), Some(ps.upper)].into_iter().flatten() {
                assert!(!x.is_nan(), "{ps:#?}");
            }
        }
        assert!(s.correlation.iter().flatten().flatten().all(|c| !c.is_nan()));
        let yaml = serde_yaml::to_string(s).unwrap();
        assert!(!yaml.to_lowercase().contains("nan"), "{yaml}");
    }

    /// Straight-line data y = a + b x + sigma * noise on x = 0, 0.25, ..., with the closed-form OLS solution.
    struct Line {
        x: Vec<f64>,
        y: Vec<f64>,
        sigma: f64,
        a_hat: f64,
        b_hat: f64,
        xbar: f64,
        sxx: f64,
    }

    fn line(n: usize, a: f64, b: f64, sigma: f64, seed: u64) -> Line {
        let mut noise = Noise::new(seed);
        let x: Vec<f64> = (0..n).map(|i| 0.25 * i as f64).collect();
        let y: Vec<f64> = x.iter().map(|&xi| a + b * xi + sigma * noise.gauss()).collect();
        let nf = n as f64;
        let xbar = x.iter().sum::<f64>() / nf;
        let ybar = y.iter().sum::<f64>() / nf;
        let sxx: f64 = x.iter().map(|xi| (xi - xbar).powi(2)).sum();
        let sxy: f64 = x.iter().zip(&y).map(|(xi, yi)| (xi - xbar) * (yi - ybar)).sum();
        let b_hat = sxy / sxx;
        Line { a_hat: ybar - b_hat * xbar, b_hat, xbar, sxx, x, y, sigma }
    }

    impl Line {
        /// Weighted residuals (y - a - b x) / sigma.
        fn residuals(&self, a: f64, b: f64) -> Vec<f64> {
            self.x.iter().zip(&self.y).map(|(xi, yi)| (yi - a - b * xi) / self.sigma).collect()
        }
        /// Analytic Jacobian of `residuals` w.r.t. (a, b).
        fn jac(&self) -> Matrix {
            Matrix::from_fn(self.x.len(), 2, |i, k| if k == 0 { -1.0 / self.sigma } else { -self.x[i] / self.sigma })
        }
    }

    #[test]
    fn linear_least_squares_matches_closed_form() {
        let (n, sigma) = (40, 0.2);
        let l = line(n, 1.5, -0.7, sigma, 2024);
        let r = l.residuals(l.a_hat, l.b_hat);
        let inf = f64::INFINITY;
        let s = fit_statistics(
            &r,
            &l.jac(),
            &strings(&["a", "b"]),
            &strings(&["V", "V/s"]),
            &[l.a_hat, l.b_hat],
            &[-inf, -inf],
            &[inf, inf],
        );
        assert_no_nan(&s);
        // Closed forms: s^2 = SSR / (n - 2), var(b) = s^2 / Sxx, var(a) = s^2 (1/n + xbar^2 / Sxx),
        // cov(a, b) = -xbar s^2 / Sxx.
        let nf = n as f64;
        let ssr: f64 = l.x.iter().zip(&l.y).map(|(x, y)| (y - l.a_hat - l.b_hat * x).powi(2)).sum();
        let s2 = ssr / (nf - 2.0);
        let var_a = s2 * (1.0 / nf + l.xbar * l.xbar / l.sxx);
        let var_b = s2 / l.sxx;
        let corr = -l.xbar * s2 / l.sxx / (var_a * var_b).sqrt();
        let (pa, pb) = (&s.params[0], &s.params[1]);
        assert!(rel_close(pa.stderr.unwrap(), var_a.sqrt(), 1e-6), "{pa:?} vs {}", var_a.sqrt());
        assert!(rel_close(pb.stderr.unwrap(), var_b.sqrt(), 1e-6), "{pb:?} vs {}", var_b.sqrt());
        assert!(rel_close(pa.rel_stderr.unwrap(), var_a.sqrt() / l.a_hat.abs(), 1e-6));
        assert!(rel_close(s.correlation[0][1].unwrap(), corr, 1e-6), "{:?} vs {corr}", s.correlation);
        assert!(rel_close(s.correlation[1][0].unwrap(), corr, 1e-6));
        assert_eq!(s.correlation[0][0], Some(1.0));
        // chi2, dof and the information criteria.
        let chi2 = ssr / (sigma * sigma);
        assert!(rel_close(s.chi2, chi2, 1e-10));
        assert_eq!((s.n_points, s.n_params, s.dof), (n, 2, n - 2));
        assert!(rel_close(s.reduced_chi2, chi2 / (nf - 2.0), 1e-10));
        assert!(rel_close(s.aic, nf * (chi2 / nf).ln() + 4.0, 1e-10));
        assert!(rel_close(s.bic, nf * (chi2 / nf).ln() + 2.0 * nf.ln(), 1e-10));
        // The noise really has the stated sigma: reduced chi2 near 1.
        assert!((0.6..1.4).contains(&s.reduced_chi2), "{}", s.reduced_chi2);
        assert!(pa.identifiable && pb.identifiable && pa.at_bound.is_none() && pb.at_bound.is_none());
        assert!(s.condition_number > 1.0 && s.condition_number.is_finite());
        // The condition number of the scaled 2x2 normal matrix [[1, c], [c, 1]] is (1 + |c|) / (1 - |c|), where c is
        // the cosine between the columns 1 and x.
        let cos = l.x.iter().sum::<f64>() / (nf * l.x.iter().map(|x| x * x).sum::<f64>()).sqrt();
        assert!(rel_close(s.condition_number, (1.0 + cos) / (1.0 - cos), 1e-9));
    }

    #[test]
    fn statistics_are_unit_free_and_match_with_fd_jacobian() {
        let l = line(30, 2.0, 0.3, 0.05, 99);
        let r = l.residuals(l.a_hat, l.b_hat);
        let inf = f64::INFINITY;
        let names = strings(&["a", "b"]);
        let units = strings(&["", ""]);
        let base = fit_statistics(&r, &l.jac(), &names, &units, &[l.a_hat, l.b_hat], &[-inf; 2], &[inf; 2]);
        // Same problem with a expressed in pA (a = 1e12 a') and b in units of 1e6: the Jacobian columns scale
        // by 1e12 and 1e6, the values by 1e-12 and 1e-6. Relative errors and correlations must not change.
        let (ka, kb) = (1e12, 1e6);
        let j = l.jac();
        let j2 = Matrix::from_fn(j.rows(), 2, |i, k| j.get(i, k) * if k == 0 { ka } else { kb });
        let scaled = fit_statistics(&r, &j2, &names, &units, &[l.a_hat / ka, l.b_hat / kb], &[-inf; 2], &[inf; 2]);
        for k in 0..2 {
            assert!(rel_close(scaled.params[k].rel_stderr.unwrap(), base.params[k].rel_stderr.unwrap(), 1e-10));
        }
        assert!(rel_close(scaled.correlation[0][1].unwrap(), base.correlation[0][1].unwrap(), 1e-10));
        assert!(rel_close(scaled.condition_number, base.condition_number, 1e-9));
        // Finite-difference Jacobian of the residual function gives the same statistics.
        let f = |th: &[f64]| l.residuals(th[0], th[1]);
        let jfd = jacobian(&f, &[l.a_hat, l.b_hat], 1e-6, &[1e-3, 1e-3]);
        let fd = fit_statistics(&r, &jfd, &names, &units, &[l.a_hat, l.b_hat], &[-inf; 2], &[inf; 2]);
        for k in 0..2 {
            assert!(rel_close(fd.params[k].stderr.unwrap(), base.params[k].stderr.unwrap(), 1e-7));
        }
    }

    #[test]
    fn exponential_decay_fd_jacobian_matches_analytic() {
        // y = A exp(-t / tau) with A in pA and tau in ms; residuals (y_data - model) / sigma.
        let (a0, tau0, sigma) = (35e-12, 4e-3, 1e-12);
        let t: Vec<f64> = (0..200).map(|i| i as f64 * 1e-4).collect();
        let mut noise = Noise::new(5);
        let y: Vec<f64> = t.iter().map(|ti| a0 * (-ti / tau0).exp() + sigma * noise.gauss()).collect();
        let f = |th: &[f64]| -> Vec<f64> {
            t.iter().zip(&y).map(|(ti, yi)| (yi - th[0] * (-ti / th[1]).exp()) / sigma).collect()
        };
        let theta = [30e-12, 5e-3];
        let analytic = Matrix::from_fn(t.len(), 2, |i, k| {
            let e = (-t[i] / theta[1]).exp();
            if k == 0 {
                -e / sigma
            } else {
                -theta[0] * t[i] / (theta[1] * theta[1]) * e / sigma
            }
        });
        let check = |j: &Matrix, tol: f64| {
            for k in 0..2 {
                let col = analytic.column(k);
                let scale = col.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
                let err = j.column(k).iter().zip(&col).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
                assert!(err <= tol * scale, "column {k}: max error {err:e} vs scale {scale:e}");
            }
        };
        let floor = [1e-15, 1e-6];
        check(&jacobian(&f, &theta, 1e-6, &floor), 1e-6);
        check(&jacobian_with(&f, &theta, 1e-8, &floor, FdScheme::Forward, None), 1e-6);
        // At the upper bound of tau, the stencil must stay inside [lower, upper] and still be accurate.
        let lo = [0.0, 1e-3];
        let hi = [1e-9, theta[1]];
        let guarded = |th: &[f64]| -> Vec<f64> {
            assert!(th[1] <= hi[1] && th[0] >= lo[0], "evaluated outside the bounds: {th:?}");
            f(th)
        };
        check(&jacobian_with(&guarded, &theta, 1e-8, &floor, FdScheme::Central, Some((&lo, &hi))), 1e-6);
        // A parameter with lower == upper gets a zero column.
        let pinned = jacobian_with(&f, &theta, 1e-6, &floor, FdScheme::Central, Some((&[0.0, 5e-3], &[1e-9, 5e-3])));
        assert!(pinned.column(1).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn only_product_identifiable() {
        // y = (a b) x + c: only the product a b is determined; c is fine.
        let sigma = 0.1;
        let l = line(25, 0.5, 6.0, sigma, 11);
        let (a, b, c) = (2.0, l.b_hat / 2.0, l.a_hat);
        let f = |th: &[f64]| l.residuals(th[2], th[0] * th[1]);
        let theta = [a, b, c];
        let r = f(&theta);
        let jac = jacobian(&f, &theta, 1e-6, &[1e-3; 3]);
        let inf = f64::INFINITY;
        let s = fit_statistics(
            &r,
            &jac,
            &strings(&["a", "b", "c"]),
            &strings(&["", "", "V"]),
            &theta,
            &[-inf; 3],
            &[inf; 3],
        );
        assert_no_nan(&s);
        for (k, other) in [(0, "b"), (1, "a")] {
            let ps = &s.params[k];
            assert!(!ps.identifiable, "{ps:?}");
            assert!(ps.stderr.is_none() && ps.rel_stderr.is_none(), "{ps:?}");
            assert!(ps.note.contains("not identifiable") && ps.note.contains(other), "{}", ps.note);
            assert!(s.correlation[k].iter().all(Option::is_none));
            assert!((0..3).all(|j| s.correlation[j][k].is_none()));
        }
        // c keeps the closed-form intercept error of the (slope, intercept) model, with lmfit's dof = n - 3.
        let pc = &s.params[2];
        assert!(pc.identifiable && pc.note.is_empty(), "{pc:?}");
        let nf = l.x.len() as f64;
        let ssr: f64 = r.iter().map(|x| (x * sigma).powi(2)).sum();
        let var_c = ssr / (nf - 3.0) * (1.0 / nf + l.xbar * l.xbar / l.sxx);
        assert!(rel_close(pc.stderr.unwrap(), var_c.sqrt(), 1e-6), "{pc:?} vs {}", var_c.sqrt());
        assert_eq!(s.correlation[2][2], Some(1.0));
        assert!(s.condition_number.is_infinite() || s.condition_number > 1e10, "{}", s.condition_number);
    }

    #[test]
    fn parameter_at_bound_is_flagged_and_excluded() {
        let (n, sigma) = (40, 0.2);
        let l = line(n, 1.5, -0.7, sigma, 7);
        let nf = n as f64;
        let sxx0: f64 = l.x.iter().map(|x| x * x).sum();
        // Upper bound of a at 1.0 below the unconstrained optimum (~1.5): a sits there, b is refitted.
        for (bound_a, hit, want) in [(1.0, BoundHit::Upper, "want more"), (2.0, BoundHit::Lower, "want less")] {
            let b_fix = l.x.iter().zip(&l.y).map(|(x, y)| x * (y - bound_a)).sum::<f64>() / sxx0;
            let r = l.residuals(bound_a, b_fix);
            let (lo, hi) = match hit {
                BoundHit::Upper => ([-10.0, -10.0], [bound_a, 10.0]),
                BoundHit::Lower => ([bound_a, -10.0], [10.0, 10.0]),
            };
            let s = fit_statistics(
                &r,
                &l.jac(),
                &strings(&["a", "b"]),
                &strings(&["V", "V/s"]),
                &[bound_a, b_fix],
                &lo,
                &hi,
            );
            assert_no_nan(&s);
            let pa = &s.params[0];
            assert_eq!(pa.at_bound, Some(hit));
            assert!(pa.stderr.is_none() && !pa.identifiable, "{pa:?}");
            let side = if hit == BoundHit::Upper { "upper bound" } else { "lower bound" };
            assert!(pa.note.contains(side) && pa.note.contains(want), "{}", pa.note);
            assert!((0..2).all(|j| s.correlation[0][j].is_none() && s.correlation[j][0].is_none()));
            // b still gets its error, computed as if a were fixed: var(b) = s^2 sigma^2 / sum x^2, s^2 = chi2 / (n - 2).
            let pb = &s.params[1];
            let chi2: f64 = r.iter().map(|x| x * x).sum();
            let var_b = chi2 / (nf - 2.0) * sigma * sigma / sxx0;
            assert!(pb.identifiable && pb.at_bound.is_none(), "{pb:?}");
            assert!(rel_close(pb.stderr.unwrap(), var_b.sqrt(), 1e-6), "{pb:?} vs {}", var_b.sqrt());
            assert_eq!(s.correlation[1][1], Some(1.0));
            assert_eq!((s.n_params, s.dof), (2, n - 2));
        }
    }

    #[test]
    fn bound_detection_rules() {
        // Within 1e-3 of the span.
        assert_eq!(bound_hit(9.9995, 0.0, 10.0, 1e-3), Some(BoundHit::Upper));
        assert_eq!(bound_hit(9.98, 0.0, 10.0, 1e-3), None);
        assert_eq!(bound_hit(0.005, 0.0, 10.0, 1e-3), Some(BoundHit::Lower));
        assert_eq!(bound_hit(-1.0, 0.0, 10.0, 1e-3), Some(BoundHit::Lower));
        assert_eq!(bound_hit(11.0, 0.0, 10.0, 1e-3), Some(BoundHit::Upper));
        // Half-open ranges: relative to |bound|; a bound at 0 needs equality.
        assert_eq!(bound_hit(1e-15, 0.0, f64::INFINITY, 1e-3), None);
        assert_eq!(bound_hit(0.0, 0.0, f64::INFINITY, 1e-3), Some(BoundHit::Lower));
        assert_eq!(bound_hit(5.004e-3, 5e-3, f64::INFINITY, 1e-3), Some(BoundHit::Lower));
        assert_eq!(bound_hit(5.01e-3, 5e-3, f64::INFINITY, 1e-3), None);
        assert_eq!(bound_hit(1e300, f64::NEG_INFINITY, f64::INFINITY, 1e-3), None);
        assert_eq!(bound_hit(f64::NAN, 0.0, 1.0, 1e-3), None);
        assert_eq!(fmt_value(5e-3, "A"), "5e-3 A");
        assert_eq!(fmt_value(0.25, ""), "0.25");
    }

    #[test]
    fn degenerate_inputs_never_give_nan() {
        let names = strings(&["a", "b", "d"]);
        let units = strings(&["", "", ""]);
        let inf = f64::INFINITY;
        let l = line(20, 1.0, 2.0, 0.1, 3);
        // A third parameter the residuals do not depend on (zero column) and one with a NaN column.
        let j = l.jac();
        let with_col = |c: f64| Matrix::from_fn(20, 3, |i, k| if k < 2 { j.get(i, k) } else { c });
        let r = l.residuals(l.a_hat, l.b_hat);
        for col in [0.0, f64::NAN] {
            let s = fit_statistics(&r, &with_col(col), &names, &units, &[l.a_hat, l.b_hat, 1.0], &[-inf; 3], &[inf; 3]);
            assert_no_nan(&s);
            assert!(!s.params[2].identifiable && s.params[2].note.contains("not identifiable"), "{:?}", s.params[2]);
            assert!(s.params[0].identifiable && s.params[1].identifiable);
            assert!(s.condition_number.is_infinite());
        }
        // Perfect fit: chi2 = 0, errors 0, correlations still given, AIC finite.
        let s = fit_statistics(&[0.0; 20], &j, &names[..2], &units[..2], &[1.0, 2.0], &[-inf; 2], &[inf; 2]);
        assert_no_nan(&s);
        assert_eq!(s.params[0].stderr, Some(0.0));
        assert!(s.aic.is_finite() && s.correlation[0][1].is_some());
        // No degrees of freedom.
        let j2 = Matrix::from_rows(&[vec![1.0, 0.0], vec![1.0, 1.0]]);
        let s = fit_statistics(&[0.1, -0.1], &j2, &names[..2], &units[..2], &[1.0, 2.0], &[-inf; 2], &[inf; 2]);
        assert_no_nan(&s);
        assert_eq!(s.dof, 0);
        assert!(s.params.iter().all(|ps| ps.stderr.is_none() && ps.note.contains("degrees of freedom")));
        // Non-finite residuals.
        let mut rn = r.clone();
        rn[3] = f64::NAN;
        let s = fit_statistics(&rn, &j, &names[..2], &units[..2], &[1.0, 2.0], &[-inf; 2], &[inf; 2]);
        assert_no_nan(&s);
        assert!(s.chi2.is_infinite() && s.params.iter().all(|ps| ps.stderr.is_none()));
        // No data at all, and no parameters.
        let s = fit_statistics(&[], &Matrix::zeros(0, 1), &names[..1], &units[..1], &[1.0], &[-inf], &[inf]);
        assert_no_nan(&s);
        let s = fit_statistics(&r, &Matrix::zeros(20, 0), &[], &[], &[], &[], &[]);
        assert_no_nan(&s);
        assert_eq!(s.condition_number, 1.0);
    }

    #[test]
    fn poorly_determined_parameter_is_flagged() {
        // b is evaluated at 0.01 while its standard error is ~0.2: relative error > 100 %.
        let l = line(40, 1.0, 0.0, 1.0, 17);
        let r = l.residuals(l.a_hat, 0.01);
        let inf = f64::INFINITY;
        let s = fit_statistics(
            &r,
            &l.jac(),
            &strings(&["a", "b"]),
            &strings(&["", ""]),
            &[l.a_hat, 0.01],
            &[-inf; 2],
            &[inf; 2],
        );
        assert_no_nan(&s);
        let pb = &s.params[1];
        assert!(pb.rel_stderr.unwrap() > 1.0 && pb.stderr.is_some() && !pb.identifiable, "{pb:?}");
        assert!(pb.note.contains("relative standard error"), "{}", pb.note);
        assert!(s.params[0].identifiable);
    }

    #[test]
    fn strong_correlation_is_noted() {
        // x far from 0: intercept and slope strongly anti-correlated.
        let mut l = line(30, 1.0, 0.5, 0.01, 23);
        for x in &mut l.x {
            *x += 100.0;
        }
        let r = l.residuals(l.a_hat - 0.5 * 100.0, l.b_hat);
        let inf = f64::INFINITY;
        let s = fit_statistics(
            &r,
            &l.jac(),
            &strings(&["a", "b"]),
            &strings(&["", ""]),
            &[-49.0, 0.5],
            &[-inf; 2],
            &[inf; 2],
        );
        assert!(s.correlation[0][1].unwrap() < -0.95);
        assert!(s.params[0].note.contains("strongly correlated with b"), "{}", s.params[0].note);
    }

    #[test]
    fn nrmse_and_r_squared_by_hand() {
        let data = [1.0, 2.0, 3.0, 4.0];
        let model = [1.5, 2.0, 2.5, 4.0];
        // residuals -0.5, 0, 0.5, 0: RMS = sqrt(0.5 / 4), range 3; mean 2.5, SS_tot = 5, SS_res = 0.5.
        assert!((nrmse(&data, &model) - (0.125_f64).sqrt() / 3.0).abs() < 1e-15);
        assert!((r_squared(&data, &model) - 0.9).abs() < 1e-15);
        // A constant model at the mean explains nothing.
        assert!(r_squared(&data, &[2.5; 4]).abs() < 1e-15);
        // Perfect fit.
        assert_eq!(nrmse(&data, &data), 0.0);
        assert_eq!(r_squared(&data, &data), 1.0);
        // Degenerate data, no NaN.
        assert_eq!(nrmse(&[2.0; 3], &[2.0; 3]), 0.0);
        assert_eq!(r_squared(&[2.0; 3], &[2.0; 3]), 1.0);
        assert_eq!(nrmse(&[2.0; 3], &[2.0, 2.0, 3.0]), f64::INFINITY);
        assert_eq!(r_squared(&[2.0; 3], &[2.0, 2.0, 3.0]), f64::NEG_INFINITY);
        // Constant data whose scaled mean is inexact (0.9 / 0.91 three times): still constant, not -2.5e26.
        for k in 1..200 {
            let c = 0.9 * (1.0 + k as f64 * 1e-3);
            assert_eq!(r_squared(&[c; 3], &[c, c, 0.91]), f64::NEG_INFINITY, "{c}");
            assert_eq!(nrmse(&[c; 7], &[c, c, c, c, c, c, 0.91]), f64::INFINITY, "{c}");
        }
        assert_eq!((nrmse(&[], &[]), r_squared(&[], &[])), (0.0, 1.0));
    }

    #[test]
    fn nrmse_and_r_squared_do_not_overflow_and_flag_non_finite_input() {
        let data = [1.0, 2.0, 3.0, 4.0];
        let model = [1.5, 2.0, 2.5, 4.0];
        // Near the f64 limit the squares overflow unless scaled: same values as at unit scale.
        for k in [1e300, 4e307, 1e-300] {
            let (d, m): (Vec<f64>, Vec<f64>) = data.iter().zip(&model).map(|(d, m)| (d * k, m * k)).unzip();
            assert!((nrmse(&d, &m) - (0.125_f64).sqrt() / 3.0).abs() < 1e-14, "{k}: {}", nrmse(&d, &m));
            assert!((r_squared(&d, &m) - 0.9).abs() < 1e-14, "{k}: {}", r_squared(&d, &m));
        }
        // A swing wider than f64 can hold (-1.5e308 .. 1.5e308) still has a finite NRMSE.
        let wide = [-1.5e308, 1.5e308];
        assert!((nrmse(&wide, &[-1.5e308, 0.0]) - (0.5_f64).sqrt() / 2.0).abs() < 1e-14);
        // Non-finite values are NaN, which the report spells out instead of printing it.
        for bad in [f64::NAN, f64::INFINITY] {
            assert!(nrmse(&[1.0, bad], &[1.0, 2.0]).is_nan() && r_squared(&[1.0, 2.0], &[bad, 2.0]).is_nan());
        }
        use crate::fit::report::{fmt_nrmse, fmt_r2};
        assert_eq!(fmt_nrmse(f64::NAN), "undefined (non-finite values)");
        assert_eq!(fmt_nrmse(f64::INFINITY), "undefined (constant data)");
        assert_eq!(fmt_r2(f64::NAN), "undefined (non-finite values)");
        assert_eq!(fmt_r2(f64::NEG_INFINITY), "undefined (constant data)");
        assert_eq!(fmt_nrmse(nrmse(&[1e300, 2e300], &[1e300, 2e300])), "0.0 %");
    }
}
