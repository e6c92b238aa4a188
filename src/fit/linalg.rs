//! The row-major [`Matrix`] the fit's Jacobian is stored in (serialisable into reports). The decompositions
//! (the SVD behind the standard errors) are nalgebra's, see [`crate::fit::stats`]; [`Matrix::to_nalgebra`]
//! converts.

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
    /// The same matrix as a nalgebra `DMatrix` (for its SVD).
    pub fn to_nalgebra(&self) -> nalgebra::DMatrix<f64> {
        nalgebra::DMatrix::from_row_slice(self.rows, self.cols, &self.data)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(a.to_nalgebra()[(1, 2)], 6.0);
    }

    #[test]
    #[should_panic(expected = "Matrix::mul")]
    fn mul_shape_mismatch_panics() {
        let _ = Matrix::zeros(2, 3).mul(&Matrix::zeros(2, 3));
    }
}
