//! Row-major f32 matrices on plain slices and their product, for kernels that compute a
//! model's forward and backward passes by hand (see [`crate::action_policy`]'s fused
//! kernel). The product is the `gemm` crate's, the one candle's CPU matmul calls, on one
//! thread: results depend only on the operands, never on other rows of a batch or on
//! thread counts.

/// A matrix read from a row-major slice, as stored or as its transpose.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    values: &'a [f32],
    /// Rows and columns as stored.
    stored: (usize, usize),
    transposed: bool,
}

impl<'a> MatRef<'a> {
    /// The `(rows, columns)` matrix stored row-major in `values`.
    ///
    /// # Panics
    /// When `values` does not hold `rows * columns` entries.
    pub fn new(values: &'a [f32], rows: usize, columns: usize) -> Self {
        assert_eq!(values.len(), rows * columns, "a {rows}x{columns} matrix");
        Self {
            values,
            stored: (rows, columns),
            transposed: false,
        }
    }

    /// The same values read as the transpose.
    pub fn t(self) -> Self {
        Self {
            transposed: !self.transposed,
            ..self
        }
    }

    /// Rows and columns as read.
    pub fn shape(&self) -> (usize, usize) {
        let (rows, columns) = self.stored;
        if self.transposed {
            (columns, rows)
        } else {
            (rows, columns)
        }
    }

    /// Strides (column, row) in elements, as read.
    fn strides(&self) -> (isize, isize) {
        let columns = self.stored.1 as isize;
        if self.transposed {
            (columns, 1)
        } else {
            (1, columns)
        }
    }
}

/// `out = a @ b` (or `out += a @ b` with `accumulate`), `out` row-major `(m, n)`.
///
/// # Panics
/// When the shapes do not chain or `out` has the wrong length.
pub fn matmul(out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>, accumulate: bool) {
    let ((m, k), (k_b, n)) = (a.shape(), b.shape());
    assert_eq!(k, k_b, "inner dimensions of a product");
    assert_eq!(out.len(), m * n, "the product's shape");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return;
    }
    let (a_cs, a_rs) = a.strides();
    let (b_cs, b_rs) = b.strides();
    // SAFETY: the asserts above bound every index the product reads (`a`: m x k, `b`:
    // k x n through their strides) and writes (`out`: m x n, row-major); the slices do
    // not overlap because `out` is borrowed mutably.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.values.as_ptr(),
            a_cs,
            a_rs,
            b.values.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], (m, k): (usize, usize), b: &[f32], n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        out
    }

    fn transpose(values: &[f32], rows: usize, columns: usize) -> Vec<f32> {
        let mut out = vec![0.0; values.len()];
        for i in 0..rows {
            for j in 0..columns {
                out[j * rows + i] = values[i * columns + j];
            }
        }
        out
    }

    #[test]
    fn products_and_transposes_match_the_definition() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 5) as f32 - 2.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 3) as f32 * 0.5).collect();
        let expected = naive(&a, (m, k), &b, n);
        let mut out = vec![9.0; m * n];
        matmul(
            &mut out,
            MatRef::new(&a, m, k),
            MatRef::new(&b, k, n),
            false,
        );
        assert_eq!(out, expected);

        let a_t = transpose(&a, m, k);
        let b_t = transpose(&b, k, n);
        let mut out = vec![1.0; m * n];
        matmul(
            &mut out,
            MatRef::new(&a_t, k, m).t(),
            MatRef::new(&b_t, n, k).t(),
            true,
        );
        let plus_one: Vec<f32> = expected.iter().map(|v| v + 1.0).collect();
        assert_eq!(out, plus_one);
    }

    #[test]
    fn an_empty_inner_dimension_gives_zeros() {
        let mut out = vec![3.0; 4];
        matmul(
            &mut out,
            MatRef::new(&[], 2, 0),
            MatRef::new(&[], 0, 2),
            false,
        );
        assert_eq!(out, [0.0; 4]);
    }
}
