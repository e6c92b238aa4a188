//! Small dense linear algebra for the fit statistics: a row-major [`Matrix`], the Gram matrix `J^T J`, the symmetric
//! eigen-decomposition by the cyclic Jacobi method ([`sym_eigen`]), the eigen-based pseudo-inverse of a symmetric
//! matrix ([`pseudo_inverse_sym`]) and a Cholesky factorisation and solve ([`cholesky`], [`cholesky_solve`]).
//!
//! The sizes are those of a calibration: at most ~20 parameters and ~10^4 residuals, so the O(p^3) algorithms are
//! chosen for accuracy and simplicity, not speed. Jacobi is used for the eigenproblem because it is short, robust
//! and computes the small eigenvalues of a well-scaled symmetric positive semi-definite matrix to high relative
//! accuracy, which is what rank and identifiability decisions need.

use serde::{Deserialize, Serialize};

/// A dense `rows x cols` matrix of `f64`, stored row-major (`data[i * cols + j]` is row `i`, column `j`).
///
/// The fields are private so that `data.len() == rows * cols` always holds; build a matrix with [`Matrix::zeros`],
/// [`Matrix::identity`], [`Matrix::from_row_major`], [`Matrix::from_rows`], [`Matrix::from_fn`] or
/// [`Matrix::from_diag`], and read it with [`Matrix::get`], [`Matrix::row`], [`Matrix::column`] or [`Matrix::data`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// The `rows x cols` zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// The `n x n` identity matrix.
    pub fn identity(n: usize) -> Self {
        let mut m = Matrix::zeros(n, n);
        for i in 0..n {
            m.data[i * n + i] = 1.0;
        }
        m
    }

    /// A square matrix with `diag` on its diagonal and zeros elsewhere.
    pub fn from_diag(diag: &[f64]) -> Self {
        let n = diag.len();
        let mut m = Matrix::zeros(n, n);
        for (i, &d) in diag.iter().enumerate() {
            m.data[i * n + i] = d;
        }
        m
    }

    /// A matrix from its row-major storage.
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    pub fn from_row_major(rows: usize, cols: usize, data: Vec<f64>) -> Self {
        assert_eq!(data.len(), rows * cols, "Matrix::from_row_major: {rows}x{cols} needs {} values", rows * cols);
        Matrix { rows, cols, data }
    }

    /// A matrix from a slice of rows (an empty slice gives the 0x0 matrix).
    ///
    /// # Panics
    /// If the rows do not all have the same length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Self {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.len(), cols, "Matrix::from_rows: row {i} has {} values, expected {cols}", r.len());
            data.extend_from_slice(r);
        }
        Matrix { rows: rows.len(), cols, data }
    }

    /// The `rows x cols` matrix whose entry `(i, j)` is `f(i, j)`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f64) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(f(i, j));
            }
        }
        Matrix { rows, cols, data }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Whether the matrix is square.
    pub fn is_square(&self) -> bool {
        self.rows == self.cols
    }

    /// The row-major storage.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// Consumes the matrix and returns its row-major storage.
    pub fn into_data(self) -> Vec<f64> {
        self.data
    }

    /// Entry `(i, j)`.
    ///
    /// # Panics
    /// If `i >= rows` or `j >= cols`.
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(i < self.rows && j < self.cols, "Matrix::get({i}, {j}) out of {}x{}", self.rows, self.cols);
        self.data[i * self.cols + j]
    }

    /// Sets entry `(i, j)` to `v`.
    ///
    /// # Panics
    /// If `i >= rows` or `j >= cols`.
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        assert!(i < self.rows && j < self.cols, "Matrix::set({i}, {j}) out of {}x{}", self.rows, self.cols);
        self.data[i * self.cols + j] = v;
    }

    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f64] {
        assert!(i < self.rows, "Matrix::row({i}) out of {} rows", self.rows);
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Column `j` as a vector.
    pub fn column(&self, j: usize) -> Vec<f64> {
        assert!(j < self.cols, "Matrix::column({j}) out of {} columns", self.cols);
        (0..self.rows).map(|i| self.data[i * self.cols + j]).collect()
    }

    /// The diagonal (of length `min(rows, cols)`).
    pub fn diag(&self) -> Vec<f64> {
        (0..self.rows.min(self.cols)).map(|i| self.data[i * self.cols + i]).collect()
    }

    /// The transpose.
    pub fn transpose(&self) -> Matrix {
        Matrix::from_fn(self.cols, self.rows, |i, j| self.data[j * self.cols + i])
    }

    /// The matrix product `self * other`.
    ///
    /// # Panics
    /// If `self.cols() != other.rows()`.
    pub fn mul(&self, other: &Matrix) -> Matrix {
        assert_eq!(
            self.cols, other.rows,
            "Matrix::mul: {}x{} times {}x{}",
            self.rows, self.cols, other.rows, other.cols
        );
        let mut out = Matrix::zeros(self.rows, other.cols);
        for i in 0..self.rows {
            let out_row = &mut out.data[i * other.cols..(i + 1) * other.cols];
            for k in 0..self.cols {
                let a = self.data[i * self.cols + k];
                if a == 0.0 {
                    continue;
                }
                let b_row = &other.data[k * other.cols..(k + 1) * other.cols];
                for (o, &b) in out_row.iter_mut().zip(b_row) {
                    *o += a * b;
                }
            }
        }
        out
    }

    /// The matrix-vector product `self * v`.
    ///
    /// # Panics
    /// If `v.len() != self.cols()`.
    pub fn mul_vec(&self, v: &[f64]) -> Vec<f64> {
        assert_eq!(self.cols, v.len(), "Matrix::mul_vec: {}x{} times vector of {}", self.rows, self.cols, v.len());
        (0..self.rows).map(|i| self.row(i).iter().zip(v).map(|(a, b)| a * b).sum()).collect()
    }

    /// `self^T * v` without forming the transpose (for a Jacobian `J` and residuals `r`, `J^T r` is half the gradient
    /// of `chi2 = r^T r`).
    ///
    /// # Panics
    /// If `v.len() != self.rows()`.
    pub fn tr_mul_vec(&self, v: &[f64]) -> Vec<f64> {
        assert_eq!(
            self.rows,
            v.len(),
            "Matrix::tr_mul_vec: ({}x{})^T times vector of {}",
            self.rows,
            self.cols,
            v.len()
        );
        let mut out = vec![0.0; self.cols];
        for (i, &vi) in v.iter().enumerate() {
            for (o, &a) in out.iter_mut().zip(self.row(i)) {
                *o += a * vi;
            }
        }
        out
    }

    /// The Gram matrix `self^T * self` (`J^T J` for a Jacobian `J`): `cols x cols`, symmetric by construction (the
    /// upper triangle is computed and mirrored).
    pub fn gram(&self) -> Matrix {
        let p = self.cols;
        let mut g = Matrix::zeros(p, p);
        for i in 0..self.rows {
            let r = self.row(i);
            for (a, &ra) in r.iter().enumerate() {
                if ra == 0.0 {
                    continue;
                }
                for (g_ab, &rb) in g.data[a * p + a..(a + 1) * p].iter_mut().zip(&r[a..]) {
                    *g_ab += ra * rb;
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                g.data[a * p + b] = g.data[b * p + a];
            }
        }
        g
    }

    /// `self * s` entry-wise.
    pub fn scale(&self, s: f64) -> Matrix {
        Matrix { rows: self.rows, cols: self.cols, data: self.data.iter().map(|x| x * s).collect() }
    }

    /// The largest absolute entry (0 for an empty matrix).
    pub fn max_abs(&self) -> f64 {
        self.data.iter().fold(0.0, |m, x| m.max(x.abs()))
    }

    /// The largest absolute entry-wise difference to `other`.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn max_abs_diff(&self, other: &Matrix) -> f64 {
        assert_eq!((self.rows, self.cols), (other.rows, other.cols), "Matrix::max_abs_diff: shapes differ");
        self.data.iter().zip(&other.data).fold(0.0, |m, (a, b)| m.max((a - b).abs()))
    }

    /// Whether the matrix is square and `|a_ij - a_ji| <= tol * max|a|` for all entries.
    pub fn is_symmetric(&self, tol: f64) -> bool {
        if !self.is_square() {
            return false;
        }
        let bound = tol * self.max_abs();
        (0..self.rows).all(|i| (0..i).all(|j| (self.get(i, j) - self.get(j, i)).abs() <= bound))
    }

    /// The sub-matrix with the given rows and columns (in the given order).
    pub fn select(&self, rows: &[usize], cols: &[usize]) -> Matrix {
        Matrix::from_fn(rows.len(), cols.len(), |i, j| self.get(rows[i], cols[j]))
    }
}

/// Maximum number of Jacobi sweeps. Cyclic Jacobi converges quadratically; for p <= 20 a handful of sweeps suffice,
/// so this bound is only reached on non-finite input.
const MAX_SWEEPS: usize = 100;

/// Symmetric eigen-decomposition `A = V diag(lambda) V^T` by the cyclic Jacobi method.
///
/// Returns the eigenvalues in ascending order and the orthonormal eigenvectors as the columns of `V` (column `k`
/// belongs to `lambda[k]`). Only the upper triangle of `a` is read; the matrix is assumed symmetric.
///
/// Each sweep visits every off-diagonal pair `(p, q)` and applies the plane rotation that annihilates `a_pq`
/// (Golub & Van Loan, Alg. 8.5.3, with the smaller rotation angle). A pair is skipped once
/// `|a_pq| <= eps * sqrt(|a_pp a_qq|)` (the Demmel-Veselic criterion), which gives small eigenvalues of a
/// well-scaled positive semi-definite matrix to high *relative* accuracy; iteration stops after a sweep with no
/// rotation. Non-finite input yields non-finite output after a bounded number of sweeps rather than an endless loop.
///
/// # Panics
/// If `a` is not square.
pub fn sym_eigen(a: &Matrix) -> (Vec<f64>, Matrix) {
    assert!(a.is_square(), "sym_eigen: matrix is {}x{}, not square", a.rows, a.cols);
    let n = a.rows;
    // Work on a symmetrised copy built from the upper triangle.
    let mut m = Matrix::from_fn(n, n, |i, j| if i <= j { a.get(i, j) } else { a.get(j, i) });
    let mut v = Matrix::identity(n);
    let eps = f64::EPSILON;
    for _sweep in 0..MAX_SWEEPS {
        let mut rotated = false;
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = m.data[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let app = m.data[p * n + p];
                let aqq = m.data[q * n + q];
                if apq.abs() <= eps * (app * aqq).abs().sqrt() {
                    continue;
                }
                rotated = true;
                // tan of the rotation angle: the smaller root of t^2 + 2 theta t - 1 = 0.
                let theta = (aqq - app) / (2.0 * apq);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    let t = 1.0 / (theta.abs() + (theta * theta + 1.0).sqrt());
                    if theta < 0.0 {
                        -t
                    } else {
                        t
                    }
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A <- A J (columns p, q), then A <- J^T A (rows p, q).
                for k in 0..n {
                    let akp = m.data[k * n + p];
                    let akq = m.data[k * n + q];
                    m.data[k * n + p] = c * akp - s * akq;
                    m.data[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let apk = m.data[p * n + k];
                    let aqk = m.data[q * n + k];
                    m.data[p * n + k] = c * apk - s * aqk;
                    m.data[q * n + k] = s * apk + c * aqk;
                }
                // The annihilated pair is exactly zero in exact arithmetic; make it so.
                m.data[p * n + q] = 0.0;
                m.data[q * n + p] = 0.0;
                // V <- V J.
                for k in 0..n {
                    let vkp = v.data[k * n + p];
                    let vkq = v.data[k * n + q];
                    v.data[k * n + p] = c * vkp - s * vkq;
                    v.data[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    let lambda: Vec<f64> = (0..n).map(|i| m.data[i * n + i]).collect();
    order.sort_by(|&i, &j| lambda[i].total_cmp(&lambda[j]));
    let values = order.iter().map(|&i| lambda[i]).collect();
    let vectors = Matrix::from_fn(n, n, |r, c| v.data[r * n + order[c]]);
    (values, vectors)
}

/// Moore-Penrose pseudo-inverse of a symmetric matrix via [`sym_eigen`]: `A^+ = sum_k v_k v_k^T / lambda_k` over the
/// eigenvalues with `|lambda_k| > rcond * max_k |lambda_k|`; the others are treated as exact zeros (their
/// directions form the numerical null space). Returns `A^+` and the numerical rank (number of kept eigenvalues).
///
/// This is what `numpy.linalg.pinv(A, rcond, hermitian=True)` computes and what lmfit falls back to in spirit when
/// `J^T J` is singular; for full rank it is the ordinary inverse. The zero matrix (and the 0x0 matrix) has rank 0
/// and pseudo-inverse zero.
///
/// # Panics
/// If `a` is not square.
pub fn pseudo_inverse_sym(a: &Matrix, rcond: f64) -> (Matrix, usize) {
    let (lambda, v) = sym_eigen(a);
    let n = lambda.len();
    let lmax = lambda.iter().fold(0.0_f64, |m, l| m.max(l.abs()));
    let mut pinv = Matrix::zeros(n, n);
    let mut rank = 0;
    if lmax > 0.0 {
        let cutoff = rcond.max(0.0) * lmax;
        for (k, &l) in lambda.iter().enumerate() {
            if l.abs() <= cutoff {
                continue;
            }
            rank += 1;
            let inv = 1.0 / l;
            for i in 0..n {
                let vik = v.data[i * n + k] * inv;
                for j in 0..n {
                    pinv.data[i * n + j] += vik * v.data[j * n + k];
                }
            }
        }
    }
    (pinv, rank)
}

/// Cholesky factor of a symmetric positive-definite matrix: the lower-triangular `L` with `A = L L^T`, or `None`
/// when `A` is not (numerically) positive definite, i.e. a pivot is not strictly positive and finite. Only the lower
/// triangle of `a` is read.
///
/// # Panics
/// If `a` is not square.
pub fn cholesky(a: &Matrix) -> Option<Matrix> {
    assert!(a.is_square(), "cholesky: matrix is {}x{}, not square", a.rows, a.cols);
    let n = a.rows;
    let mut l = Matrix::zeros(n, n);
    for j in 0..n {
        let mut d = a.get(j, j);
        for k in 0..j {
            d -= l.data[j * n + k] * l.data[j * n + k];
        }
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        let ljj = d.sqrt();
        l.data[j * n + j] = ljj;
        for i in (j + 1)..n {
            let mut s = a.get(i, j);
            for k in 0..j {
                s -= l.data[i * n + k] * l.data[j * n + k];
            }
            l.data[i * n + j] = s / ljj;
        }
    }
    Some(l)
}

/// Solves `L L^T x = b` given the Cholesky factor `L` from [`cholesky`] (forward then back substitution).
///
/// # Panics
/// If `l` is not square or `b.len() != l.rows()`.
pub fn cholesky_solve_factored(l: &Matrix, b: &[f64]) -> Vec<f64> {
    assert!(l.is_square(), "cholesky_solve_factored: factor is {}x{}, not square", l.rows, l.cols);
    let n = l.rows;
    assert_eq!(b.len(), n, "cholesky_solve_factored: right-hand side has {} values, expected {n}", b.len());
    let mut y = b.to_vec();
    // L y = b.
    for i in 0..n {
        let s: f64 = l.data[i * n..i * n + i].iter().zip(&y[..i]).map(|(a, b)| a * b).sum();
        y[i] = (y[i] - s) / l.data[i * n + i];
    }
    // L^T x = y.
    for i in (0..n).rev() {
        let s: f64 = ((i + 1)..n).map(|k| l.data[k * n + i] * y[k]).sum();
        y[i] = (y[i] - s) / l.data[i * n + i];
    }
    y
}

/// Solves `A x = b` for a symmetric positive-definite `A` (e.g. the normal equations `J^T J dx = -J^T r`) by
/// Cholesky factorisation; `None` when `A` is not positive definite (use [`pseudo_inverse_sym`] then).
///
/// # Panics
/// If `a` is not square or `b.len() != a.rows()`.
pub fn cholesky_solve(a: &Matrix, b: &[f64]) -> Option<Vec<f64>> {
    assert_eq!(b.len(), a.rows, "cholesky_solve: right-hand side has {} values, expected {}", b.len(), a.rows);
    cholesky(a).map(|l| cholesky_solve_factored(&l, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Deterministic pseudo-random numbers in [-1, 1) (64-bit LCG, Knuth's MMIX constants).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        }
        fn matrix(&mut self, r: usize, c: usize) -> Matrix {
            Matrix::from_fn(r, c, |_, _| self.next())
        }
    }

    fn reconstruct(values: &[f64], v: &Matrix) -> Matrix {
        v.mul(&Matrix::from_diag(values)).mul(&v.transpose())
    }

    /// Asserts that the columns of `v` match the expected unit vectors up to sign.
    fn assert_vectors_match(v: &Matrix, expected: &[Vec<f64>], tol: f64) {
        for (k, e) in expected.iter().enumerate() {
            let col = v.column(k);
            let dot: f64 = col.iter().zip(e).map(|(a, b)| a * b).sum();
            assert!((dot.abs() - 1.0).abs() <= tol, "eigenvector {k}: {col:?} vs {e:?}");
        }
    }

    #[test]
    fn basic_ops() {
        let a = Matrix::from_rows(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
        assert_eq!((a.rows(), a.cols()), (2, 3));
        assert_eq!(a.get(1, 2), 6.0);
        assert_eq!(a.transpose().get(2, 1), 6.0);
        assert_eq!(a.column(1), vec![2.0, 5.0]);
        assert_eq!(a.row(0), &[1.0, 2.0, 3.0]);
        let b = Matrix::from_rows(&[vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]]);
        assert_eq!(a.mul(&b), Matrix::from_rows(&[vec![4.0, 5.0], vec![10.0, 11.0]]));
        assert_eq!(a.mul_vec(&[1.0, 1.0, 1.0]), vec![6.0, 15.0]);
        assert_eq!(a.tr_mul_vec(&[1.0, 1.0]), vec![5.0, 7.0, 9.0]);
        assert_eq!(a.gram(), a.transpose().mul(&a));
        let mut c = Matrix::zeros(2, 2);
        c.set(0, 1, 3.5);
        assert_eq!(c.data(), &[0.0, 3.5, 0.0, 0.0]);
        assert!(!c.is_symmetric(1e-12));
        assert!(a.gram().is_symmetric(0.0));
        assert_eq!(Matrix::identity(3).mul(&a.transpose()), a.transpose());
    }

    #[test]
    #[should_panic(expected = "Matrix::mul")]
    fn mul_shape_mismatch_panics() {
        let _ = Matrix::zeros(2, 3).mul(&Matrix::zeros(2, 3));
    }

    #[test]
    fn eigen_2x2_closed_form() {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1)/sqrt2 and (1, 1)/sqrt2.
        let a = Matrix::from_rows(&[vec![2.0, 1.0], vec![1.0, 2.0]]);
        let (l, v) = sym_eigen(&a);
        assert!((l[0] - 1.0).abs() < 1e-14 && (l[1] - 3.0).abs() < 1e-14, "{l:?}");
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert_vectors_match(&v, &[vec![h, -h], vec![h, h]], 1e-14);
        // General 2x2 [[a, b], [b, d]]: lambda = (a+d)/2 -+ sqrt(((a-d)/2)^2 + b^2).
        let (a11, b, d) = (3.0e-3, -7.0e-4, 1.0e-4);
        let m = Matrix::from_rows(&[vec![a11, b], vec![b, d]]);
        let (l, v) = sym_eigen(&m);
        let r = (((a11 - d) / 2.0).powi(2) + b * b).sqrt();
        assert!((l[0] - ((a11 + d) / 2.0 - r)).abs() < 1e-16, "{l:?}");
        assert!((l[1] - ((a11 + d) / 2.0 + r)).abs() < 1e-16, "{l:?}");
        // Eigenvector equation A v = lambda v.
        for (k, &lk) in l.iter().enumerate() {
            let vk = v.column(k);
            for (avi, vki) in m.mul_vec(&vk).iter().zip(&vk) {
                assert!((avi - lk * vki).abs() < 1e-16);
            }
        }
    }

    #[test]
    fn eigen_3x3_closed_form() {
        // The 1-D Laplacian tridiag(-1, 2, -1): eigenvalues 2 - sqrt2, 2, 2 + sqrt2.
        let a = Matrix::from_rows(&[vec![2.0, -1.0, 0.0], vec![-1.0, 2.0, -1.0], vec![0.0, -1.0, 2.0]]);
        let (l, v) = sym_eigen(&a);
        let s2 = std::f64::consts::SQRT_2;
        let expected = [2.0 - s2, 2.0, 2.0 + s2];
        for k in 0..3 {
            assert!((l[k] - expected[k]).abs() < 1e-14, "{l:?}");
        }
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert_vectors_match(&v, &[vec![0.5, h, 0.5], vec![h, 0.0, -h], vec![0.5, -h, 0.5]], 1e-14);
    }

    #[test]
    fn eigen_diagonal_and_degenerate() {
        let (l, v) = sym_eigen(&Matrix::from_diag(&[3.0, -1.0, 2.0]));
        assert_eq!(l, vec![-1.0, 2.0, 3.0]);
        assert_vectors_match(&v, &[vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0], vec![1.0, 0.0, 0.0]], 0.0);
        // Rank one: all ones 3x3 -> eigenvalues 0, 0, 3.
        let ones = Matrix::from_fn(3, 3, |_, _| 1.0);
        let (l, v) = sym_eigen(&ones);
        assert!(l[0].abs() < 1e-15 && l[1].abs() < 1e-15 && (l[2] - 3.0).abs() < 1e-14, "{l:?}");
        assert!(reconstruct(&l, &v).max_abs_diff(&ones) < 1e-14);
        let (l, v) = sym_eigen(&Matrix::zeros(0, 0));
        assert!(l.is_empty() && v.rows() == 0);
    }

    #[test]
    fn eigen_badly_scaled_keeps_small_eigenvalue() {
        // Graded matrix: the small eigenvalue (~1e-20) must come out with relative accuracy.
        let a = Matrix::from_rows(&[vec![1.0, 1e-10], vec![1e-10, 2e-20]]);
        let (l, _) = sym_eigen(&a);
        // det = 2e-20 - 1e-20 = 1e-20, trace ~ 1 -> lambda_min ~ 1e-20.
        assert!((l[0] - 1e-20).abs() < 1e-30, "{l:?}");
    }

    #[test]
    fn random_spd_reconstructs() {
        let mut rng = Lcg(42);
        for p in [1, 2, 5, 12, 20] {
            let b = rng.matrix(p + 3, p);
            let a = b.gram();
            let (l, v) = sym_eigen(&a);
            assert!(l.windows(2).all(|w| w[0] <= w[1]));
            assert!(reconstruct(&l, &v).max_abs_diff(&a) <= 1e-10 * a.max_abs(), "p = {p}");
            assert!(v.transpose().mul(&v).max_abs_diff(&Matrix::identity(p)) < 1e-12, "p = {p}");
        }
    }

    #[test]
    fn pseudo_inverse_of_rank_deficient() {
        let mut rng = Lcg(7);
        for (p, k) in [(3, 1), (5, 3), (8, 5), (20, 17)] {
            // A = B^T B with B k x p has rank k.
            let a = rng.matrix(k, p).gram();
            let (ap, rank) = pseudo_inverse_sym(&a, 1e-12);
            assert_eq!(rank, k, "p = {p}");
            let tol = 1e-10 * a.max_abs();
            assert!(a.mul(&ap).mul(&a).max_abs_diff(&a) < tol, "A A+ A != A for p = {p}");
            assert!(ap.mul(&a).mul(&ap).max_abs_diff(&ap) < 1e-8 * ap.max_abs(), "A+ A A+ != A+ for p = {p}");
            assert!(ap.is_symmetric(1e-10));
        }
        // Full rank: the ordinary inverse.
        let a = Matrix::from_rows(&[vec![4.0, 1.0], vec![1.0, 3.0]]);
        let (ai, rank) = pseudo_inverse_sym(&a, 1e-12);
        assert_eq!(rank, 2);
        assert!(a.mul(&ai).max_abs_diff(&Matrix::identity(2)) < 1e-15);
        // Indefinite: negative eigenvalues are inverted with their sign.
        let a = Matrix::from_rows(&[vec![1.0, 2.0], vec![2.0, 1.0]]);
        let (ai, rank) = pseudo_inverse_sym(&a, 1e-12);
        assert_eq!(rank, 2);
        assert!(a.mul(&ai).max_abs_diff(&Matrix::identity(2)) < 1e-15, "{ai:?}");
        let (di, rank) = pseudo_inverse_sym(&Matrix::from_diag(&[2.0, -4.0, 0.0]), 1e-12);
        assert_eq!(rank, 2);
        assert!(di.max_abs_diff(&Matrix::from_diag(&[0.5, -0.25, 0.0])) < 1e-16, "{di:?}");
        let (z, rank) = pseudo_inverse_sym(&Matrix::zeros(3, 3), 1e-12);
        assert_eq!((rank, z), (0, Matrix::zeros(3, 3)));
    }

    #[test]
    fn cholesky_solves_and_rejects() {
        let mut rng = Lcg(3);
        let b = rng.matrix(9, 6);
        let a = b.gram();
        let l = cholesky(&a).expect("SPD");
        assert!(l.mul(&l.transpose()).max_abs_diff(&a) < 1e-13 * a.max_abs());
        for i in 0..6 {
            for j in (i + 1)..6 {
                assert_eq!(l.get(i, j), 0.0);
            }
        }
        let x_true: Vec<f64> = (0..6).map(|i| i as f64 - 2.5).collect();
        let rhs = a.mul_vec(&x_true);
        let x = cholesky_solve(&a, &rhs).unwrap();
        for (xi, ti) in x.iter().zip(&x_true) {
            assert!((xi - ti).abs() < 1e-9, "{x:?}");
        }
        // Indefinite and singular matrices are rejected.
        assert!(cholesky(&Matrix::from_rows(&[vec![1.0, 2.0], vec![2.0, 1.0]])).is_none());
        assert!(cholesky_solve(&Matrix::from_fn(2, 2, |_, _| 1.0), &[1.0, 1.0]).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn prop_random_spd_eigen(seed in any::<u64>(), p in 1usize..=20, extra in 0usize..5) {
            let mut rng = Lcg(seed);
            let a = rng.matrix(p + extra, p).gram();
            let (l, v) = sym_eigen(&a);
            prop_assert!(reconstruct(&l, &v).max_abs_diff(&a) <= 1e-10 * a.max_abs().max(1e-300));
            prop_assert!(v.transpose().mul(&v).max_abs_diff(&Matrix::identity(p)) < 1e-12);
            prop_assert!(l.windows(2).all(|w| w[0] <= w[1]));
            // Positive semi-definite: no eigenvalue below rounding.
            prop_assert!(l[0] >= -1e-12 * l[p - 1].abs());
            let (ap, _) = pseudo_inverse_sym(&a, 1e-10);
            prop_assert!(a.mul(&ap).mul(&a).max_abs_diff(&a) <= 1e-8 * a.max_abs().max(1e-300));
        }
    }
}
