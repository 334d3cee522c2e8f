//! PDQ, Meta's 256-bit perceptual image hash, computed from a luminance
//! buffer.
//!
//! This is a from-scratch Rust rendering of the algorithm described in
//! Meta's `hashing.pdf` and implemented by its C++ reference
//! (`ThreatExchange/pdq/cpp`): a two-pass Jarosz (tent-like box) filter,
//! decimation to 64×64, the quality metric on that grid, a 16×16 corner of
//! the 2-D DCT-II (without the DC row and column), and one bit per
//! coefficient: above the median or not.
//!
//! **Why every float operation is spelled out in the reference's order.**
//! Hash banks are shared between platforms; a bit that flips because we
//! summed in a different order is a bit of distance we steal from every
//! match threshold. So the arithmetic below is `f32` where the reference
//! uses `float`, `f64` where it uses `double`, accumulates in the same
//! order, and never fuses multiply-adds. The conformance test
//! (`tests/conformance.rs`) holds it to the reference's outputs.

// Index loops mirror the matrix formulas and the reference's summation order.
#![allow(clippy::needless_range_loop)]

use crate::Hash256;

/// Images smaller than this on either side hash to all zeroes with quality
/// 0, as in the reference.
pub const MIN_HASHABLE_DIM: usize = 5;
const JAROSZ_PASSES: usize = 2;

/// A hash and its quality (0–100): how much gradient the 64×64 image had.
/// Hash-sharing practice ignores hashes of quality below 50, which come
/// from near-uniform images and match too much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdqHash {
    pub hash: Hash256,
    pub quality: u8,
}

/// The hash of the image and of its seven other orientations, so a
/// rotated or mirrored copy can be matched by hashing it once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dihedral {
    /// In the reference's order: original, rotate 90, rotate 180,
    /// rotate 270, flip x, flip y, flip about the main diagonal (+1),
    /// flip about the anti-diagonal (−1).
    pub hashes: [Hash256; 8],
    pub quality: u8,
}

impl Dihedral {
    pub const NAMES: [&'static str; 8] = ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipp", "flipm"];
}

/// Luminance of an image, row-major, as `f32` (0–255).
#[derive(Clone, Debug)]
pub struct Luma {
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<f32>,
}

/// The PDQ hash of a luminance image. The 64×64 case skips the filter, as
/// the reference's plain hasher does.
pub fn hash(luma: &Luma) -> PdqHash {
    if luma.rows < MIN_HASHABLE_DIM || luma.cols < MIN_HASHABLE_DIM {
        return PdqHash { hash: Hash256::default(), quality: 0 };
    }
    let grid = if luma.rows == 64 && luma.cols == 64 { grid_from_64(&luma.pixels) } else { downsample(luma) };
    let quality = quality(&grid);
    let dct = dct64_to_16(&grid);
    PdqHash { hash: bits(&dct), quality }
}

/// The eight dihedral hashes. Unlike [`hash`], the reference always
/// filters here, even at 64×64, so the two can differ on such images.
pub fn dihedral(luma: &Luma) -> Dihedral {
    if luma.rows < MIN_HASHABLE_DIM || luma.cols < MIN_HASHABLE_DIM {
        return Dihedral { hashes: [Hash256::default(); 8], quality: 0 };
    }
    let grid = downsample(luma);
    let quality = quality(&grid);
    let dct = dct64_to_16(&grid);
    // Each orientation of the image permutes and negates DCT coefficients,
    // so the seven others come from the same 16×16 block for free.
    let hashes = [
        bits(&dct),
        bits(&transform(&dct, true, |_, j| j & 1 == 0)),
        bits(&transform(&dct, false, |i, j| (i + j) & 1 == 1)),
        bits(&transform(&dct, true, |i, _| i & 1 == 0)),
        bits(&transform(&dct, false, |i, _| i & 1 == 0)),
        bits(&transform(&dct, false, |_, j| j & 1 == 0)),
        bits(&transform(&dct, true, |_, _| false)),
        bits(&transform(&dct, true, |i, j| (i + j) & 1 == 1)),
    ];
    Dihedral { hashes, quality }
}

type Grid64 = [[f32; 64]; 64];
type Block16 = [[f32; 16]; 16];

fn grid_from_64(pixels: &[f32]) -> Box<Grid64> {
    let mut grid = Box::new([[0f32; 64]; 64]);
    for (row, chunk) in grid.iter_mut().zip(pixels.chunks_exact(64)) {
        row.copy_from_slice(chunk);
    }
    grid
}

fn downsample(luma: &Luma) -> Box<Grid64> {
    let (rows, cols) = (luma.rows, luma.cols);
    let mut a = luma.pixels.clone();
    let mut b = vec![0f32; a.len()];
    let window_along_rows = jarosz_window(cols, 64);
    let window_along_cols = jarosz_window(rows, 64);
    for _ in 0..JAROSZ_PASSES {
        for r in 0..rows {
            box_1d(&a[r * cols..], &mut b[r * cols..], cols, 1, window_along_rows);
        }
        box_columns(&b, &mut a, rows, cols, window_along_cols);
    }
    let mut grid = Box::new([[0f32; 64]; 64]);
    for (out_i, row) in grid.iter_mut().enumerate() {
        let in_i = ((out_i as f64 + 0.5) * rows as f64 / 64.0) as usize;
        for (out_j, cell) in row.iter_mut().enumerate() {
            let in_j = ((out_j as f64 + 0.5) * cols as f64 / 64.0) as usize;
            *cell = a[in_i * cols + in_j];
        }
    }
    grid
}

fn jarosz_window(old: usize, new: usize) -> usize {
    old.div_ceil(2 * new)
}

/// A box filter of width `window` centred on each sample, with the window
/// shrinking at the edges (the reference's four phases). `stride` walks a
/// column of a row-major matrix.
fn box_1d(input: &[f32], output: &mut [f32], len: usize, stride: usize, window: usize) {
    let window = window.max(1);
    let half = (window + 2) / 2;
    let phase1 = half - 1;
    let phase2 = window - half + 1;
    // The reference computes this as a signed int; a window wider than the
    // vector (impossible at PDQ's sizes) makes it a no-op.
    let phase3 = len.saturating_sub(window);
    let phase4 = half - 1;
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);
    let mut sum = 0f32;
    let mut count = 0usize;
    for _ in 0..phase1 {
        sum += input[right];
        count += 1;
        right += stride;
    }
    for _ in 0..phase2 {
        sum += input[right];
        count += 1;
        output[out] = sum / count as f32;
        right += stride;
        out += stride;
    }
    for _ in 0..phase3 {
        sum += input[right];
        sum -= input[left];
        output[out] = sum / count as f32;
        left += stride;
        right += stride;
        out += stride;
    }
    for _ in 0..phase4 {
        sum -= input[left];
        count -= 1;
        output[out] = sum / count as f32;
        left += stride;
        out += stride;
    }
}

/// [`box_1d`] down every column at once, row by row: the same additions
/// in the same order for each column (so the same bits), but reading
/// memory in rows instead of striding across it column by column.
fn box_columns(input: &[f32], output: &mut [f32], rows: usize, cols: usize, window: usize) {
    let window = window.max(1);
    let half = (window + 2) / 2;
    let (phase1, phase2, phase3, phase4) = (half - 1, window - half + 1, rows.saturating_sub(window), half - 1);
    let mut sums = vec![0f32; cols];
    let row = |r: usize| &input[r * cols..(r + 1) * cols];
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);
    let mut count = 0usize;
    for _ in 0..phase1 {
        sums.iter_mut().zip(row(right)).for_each(|(s, &v)| *s += v);
        count += 1;
        right += 1;
    }
    for _ in 0..phase2 {
        sums.iter_mut().zip(row(right)).for_each(|(s, &v)| *s += v);
        count += 1;
        let n = count as f32;
        output[out * cols..(out + 1) * cols].iter_mut().zip(&sums).for_each(|(o, &s)| *o = s / n);
        right += 1;
        out += 1;
    }
    for _ in 0..phase3 {
        sums.iter_mut().zip(row(right).iter().zip(row(left))).for_each(|(s, (&add, &sub))| {
            *s += add;
            *s -= sub;
        });
        let n = count as f32;
        output[out * cols..(out + 1) * cols].iter_mut().zip(&sums).for_each(|(o, &s)| *o = s / n);
        left += 1;
        right += 1;
        out += 1;
    }
    for _ in 0..phase4 {
        sums.iter_mut().zip(row(left)).for_each(|(s, &v)| *s -= v);
        count -= 1;
        let n = count as f32;
        output[out * cols..(out + 1) * cols].iter_mut().zip(&sums).for_each(|(o, &s)| *o = s / n);
        left += 1;
        out += 1;
    }
}

fn quality(grid: &Grid64) -> u8 {
    let step = |u: f32, v: f32| (((u - v) * 100.0) / 255.0) as i32;
    let mut gradient_sum: i32 = 0;
    for i in 0..63 {
        for j in 0..64 {
            gradient_sum += step(grid[i][j], grid[i + 1][j]).abs();
        }
    }
    for row in grid.iter() {
        for j in 0..63 {
            gradient_sum += step(row[j], row[j + 1]).abs();
        }
    }
    (gradient_sum / 90).min(100) as u8
}

/// Rows 1..=16 of the 64-point DCT-II matrix (row 0, the DC term, carries
/// only brightness and is skipped), scaled by sqrt(2/64).
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static MATRIX: std::sync::OnceLock<[[f32; 64]; 16]> = std::sync::OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut m = [[0f32; 64]; 16];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                let angle = (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                *cell = (scale as f64 * angle.cos()) as f32;
            }
        }
        m
    })
}

fn dct64_to_16(grid: &Grid64) -> Block16 {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for i in 0..16 {
        for j in 0..64 {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += d[i][k] * grid[k][j];
            }
            t[i][j] = sum;
        }
    }
    let mut out = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += t[i][k] * d[j][k];
            }
            out[i][j] = sum;
        }
    }
    out
}

/// One orientation's coefficients: optionally transposed, with the sign of
/// `negate(i, j)` coefficients flipped (indices of the source block).
fn transform(a: &Block16, transpose: bool, negate: impl Fn(usize, usize) -> bool) -> Block16 {
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let v = if negate(i, j) { -a[i][j] } else { a[i][j] };
            if transpose {
                b[j][i] = v;
            } else {
                b[i][j] = v;
            }
        }
    }
    b
}

fn bits(block: &Block16) -> Hash256 {
    // The reference's Torben median of 256 values is the 128th smallest.
    let mut values: Vec<f32> = block.iter().flatten().copied().collect();
    let (_, median, _) = values.select_nth_unstable_by(127, f32::total_cmp);
    let median = *median;
    let mut hash = Hash256::default();
    for (i, row) in block.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                hash.set_bit(i * 16 + j);
            }
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_images_hash_to_zero_with_quality_zero() {
        let luma = Luma { rows: 4, cols: 100, pixels: vec![10.0; 400] };
        assert_eq!(hash(&luma), PdqHash { hash: Hash256::default(), quality: 0 });
    }

    #[test]
    fn flat_image_has_quality_zero() {
        let luma = Luma { rows: 100, cols: 80, pixels: vec![128.0; 8000] };
        assert_eq!(hash(&luma).quality, 0);
    }

    /// The column-at-once filter computes exactly what the per-column
    /// reference loop computes, bit for bit.
    #[test]
    fn column_filter_matches_the_per_column_loop() {
        let (rows, cols) = (37, 23);
        let input: Vec<f32> = (0..rows * cols).map(|i| ((i * 7919) % 255) as f32 * 0.37).collect();
        for window in 1..9 {
            let mut reference = vec![0f32; rows * cols];
            for c in 0..cols {
                box_1d(&input[c..], &mut reference[c..], rows, cols, window);
            }
            let mut ours = vec![0f32; rows * cols];
            box_columns(&input, &mut ours, rows, cols, window);
            assert!(reference.iter().zip(&ours).all(|(a, b)| a.to_bits() == b.to_bits()), "window {window}");
        }
    }

    #[test]
    fn box_filter_averages_with_shrinking_edges() {
        let input = [0.0, 3.0, 6.0, 9.0, 12.0];
        let mut out = [0f32; 5];
        box_1d(&input, &mut out, 5, 1, 3);
        assert_eq!(out, [1.5, 3.0, 6.0, 9.0, 10.5]);
    }
}
