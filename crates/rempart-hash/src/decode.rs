//! Image bytes → the luminance buffer PDQ hashes, with the reference's
//! conventions and with caps for hostile input.
//!
//! The C++ reference (`pdq-photo-hasher`, CImg with libjpeg/libpng) fixes
//! what "the same image" means for a hash bank, so we follow it:
//! - the format is sniffed from the bytes, never from a name or header;
//! - images wider or taller than 512 are first resized to exactly 512×512
//!   by nearest neighbour (CImg's default `resize`), aspect ratio dropped;
//! - luma is `0.299 R + 0.587 G + 0.114 B` in `f32`, grey taken as is;
//! - 16-bit samples keep their low byte (CImg casts `u16` to `u8`);
//! - EXIF orientation is ignored (a rotated copy is caught by the dihedral
//!   hashes instead);
//! - images with an alpha channel (grey+alpha, RGBA, PNG `tRNS`) and CMYK
//!   JPEGs are refused by the reference. By default we hash them anyway
//!   (alpha dropped, CMYK converted to RGB, as Pillow-based hashers do) and
//!   say so in [`Decoded::deviation`]; [`DecodeOptions::reference_strict`]
//!   refuses them like the reference.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageReader, Limits};

use crate::format::ImageFormat;

use crate::pdq::Luma;

/// The reference resizes anything larger than this, on either side.
pub const REFERENCE_MAX_SIDE: usize = 512;

#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// Width × height above which an image is refused before decoding
    /// (decompression bombs declare their size in the header).
    pub max_pixels: u64,
    /// Refuse what the reference refuses (alpha, CMYK) instead of hashing
    /// it with a noted deviation.
    pub reference_strict: bool,
    /// Pixels that may be decoded at once across every thread sharing the
    /// budget; `None`: no shared limit beyond `max_pixels` per image.
    pub budget: Option<Arc<PixelBudget>>,
    /// How long a decode may wait for room in the budget.
    pub budget_deadline: Option<Instant>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions { max_pixels: 50_000_000, reference_strict: false, budget: None, budget_deadline: None }
    }
}

/// A number of decoded pixels shared by concurrent decodes, so that many
/// large images fetched at once cannot add up to more memory than one
/// operator-chosen amount: a decode takes its width × height from the
/// budget before decoding and gives it back when done, waiting for room
/// if needed.
#[derive(Debug)]
pub struct PixelBudget {
    capacity: u64,
    in_use: Mutex<u64>,
    freed: Condvar,
}

impl PixelBudget {
    pub fn new(capacity: u64) -> Arc<PixelBudget> {
        Arc::new(PixelBudget { capacity, in_use: Mutex::new(0), freed: Condvar::new() })
    }

    /// The budget in pixels.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Pixels taken now (for tests and diagnostics).
    pub fn in_use(&self) -> u64 {
        *self.in_use.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes `pixels` from the budget, waiting until `deadline` for room.
    fn take(&self, pixels: u64, deadline: Option<Instant>) -> Result<BudgetPermit<'_>, ImageError> {
        if pixels > self.capacity {
            return Err(ImageError::OverBudget { pixels, budget: self.capacity });
        }
        let mut in_use = self.in_use.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *in_use + pixels > self.capacity {
            let wait = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if wait.is_zero() {
                return Err(ImageError::BudgetBusy { pixels, budget: self.capacity });
            }
            in_use = self.freed.wait_timeout(in_use, wait).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
        *in_use += pixels;
        Ok(BudgetPermit { budget: self, pixels })
    }
}

/// Pixels taken from a [`PixelBudget`], given back on drop.
struct BudgetPermit<'a> {
    budget: &'a PixelBudget,
    pixels: u64,
}

impl Drop for BudgetPermit<'_> {
    fn drop(&mut self) {
        let mut in_use = self.budget.in_use.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *in_use = in_use.saturating_sub(self.pixels);
        self.budget.freed.notify_all();
    }
}

/// Why an image could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("empty file")]
    Empty,
    #[error("not an image format we decode (JPEG, PNG, GIF, WebP, BMP, TIFF): starts with {0}")]
    UnknownFormat(String),
    #[error("{width}×{height} pixels exceeds the cap of {max} pixels")]
    TooManyPixels { width: u64, height: u64, max: u64 },
    #[error("corrupt or truncated {format}: {message}")]
    Corrupt { format: &'static str, message: String },
    #[error("truncated {format}: the file ends before the end of the image")]
    Truncated { format: &'static str },
    #[error("the PDQ reference refuses this image: {0}")]
    ReferenceRejects(&'static str),
    #[error("{pixels} pixels exceed the decoding budget of {budget} pixels")]
    OverBudget { pixels: u64, budget: u64 },
    #[error("no room to decode {pixels} pixels in time: the {budget}-pixel budget is taken by other images")]
    BudgetBusy { pixels: u64, budget: u64 },
}

impl ImageError {
    /// A stable snake_case code for machine-readable output.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::Empty => "empty",
            ImageError::UnknownFormat(_) => "unknown_format",
            ImageError::TooManyPixels { .. } => "too_many_pixels",
            ImageError::Corrupt { .. } => "corrupt",
            ImageError::Truncated { .. } => "truncated",
            ImageError::ReferenceRejects(_) => "reference_rejects",
            ImageError::OverBudget { .. } => "over_pixel_budget",
            ImageError::BudgetBusy { .. } => "pixel_budget_busy",
        }
    }
}

/// A decoded image ready for hashing.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub format: &'static str,
    pub width: usize,
    pub height: usize,
    pub luma: Luma,
    /// Set when the image is one the reference refuses and we hashed it
    /// anyway; banks built with the reference tool will not contain it.
    pub deviation: Option<&'static str>,
}

/// Decodes `bytes` into the luminance buffer the reference would hash.
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Decoded, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let sniffed = ImageFormat::sniff(bytes).ok_or_else(|| {
        let head: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        ImageError::UnknownFormat(head)
    })?;
    let name = sniffed.as_str();
    let format = sniffed.decoder();
    let corrupt = |e: image::ImageError| ImageError::Corrupt { format: name, message: e.to_string() };
    let reader = || {
        let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
        let mut limits = Limits::default();
        limits.max_alloc = Some(options.max_pixels.saturating_mul(8));
        reader.limits(limits);
        reader
    };
    if sniffed == ImageFormat::Jpeg && jpeg_is_truncated(bytes) {
        return Err(ImageError::Truncated { format: name });
    }
    let (width, height) = match png_declared_size(bytes) {
        // The PNG decoder wants more than the header to report a size;
        // the header alone is enough to refuse a bomb.
        Some(size) if sniffed == ImageFormat::Png => size,
        _ => reader().into_dimensions().map_err(corrupt)?,
    };
    let pixels = u64::from(width) * u64::from(height);
    if pixels > options.max_pixels {
        return Err(ImageError::TooManyPixels { width: width.into(), height: height.into(), max: options.max_pixels });
    }
    // Held until the decoded image is dropped at the end of this function.
    let _permit = match &options.budget {
        Some(budget) => Some(budget.take(pixels, options.budget_deadline)?),
        None => None,
    };
    // Decoders parse hostile bytes; a bug in one must cost this image, not
    // the batch.
    let image = std::panic::catch_unwind(|| reader().decode())
        .map_err(|_| ImageError::Corrupt { format: name, message: "the decoder crashed on this file".into() })?
        .map_err(corrupt)?;
    let deviation = reference_deviation(bytes, sniffed, &image);
    if let (Some(reason), true) = (deviation, options.reference_strict) {
        return Err(ImageError::ReferenceRejects(reason));
    }
    let luma = luma(&image);
    Ok(Decoded { format: name, width: width as usize, height: height as usize, luma, deviation })
}

fn png_declared_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let ihdr = bytes.get(12..24)?;
    (&ihdr[..4] == b"IHDR").then(|| {
        let width = u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]);
        let height = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
        (width, height)
    })
}

/// What the reference would refuse about this image, if anything.
fn reference_deviation(bytes: &[u8], format: ImageFormat, image: &DynamicImage) -> Option<&'static str> {
    if format == ImageFormat::Jpeg && jpeg_components(bytes) == Some(4) {
        return Some("CMYK JPEG (4 components); hashed after conversion to RGB");
    }
    if image.color().has_alpha() {
        return Some("image has an alpha channel; hashed with alpha dropped");
    }
    None
}

/// The header segments of a JPEG, `(marker, offset of its 0xFF)`, up to
/// and including the first start of scan (embedded thumbnails sit inside
/// APPn segments and are skipped with them).
fn jpeg_segments(bytes: &[u8]) -> Vec<(u8, usize)> {
    let mut segments = Vec::new();
    let mut at = 2;
    while at + 4 <= bytes.len() && bytes[at] == 0xFF {
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        segments.push((marker, at));
        if marker == 0xDA {
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
    }
    segments
}

/// Component count from the JPEG frame header (SOFn), which `image` hides
/// once it has converted CMYK to RGB.
fn jpeg_components(bytes: &[u8]) -> Option<u8> {
    let is_frame = |m: u8| matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC);
    let (_, at) = jpeg_segments(bytes).into_iter().find(|(m, _)| is_frame(*m))?;
    bytes.get(at + 9).copied()
}

/// Whether the JPEG stops before its end-of-image marker. Decoders (like
/// libjpeg under the reference) fill the missing rows with grey and carry
/// on; a hash of half a photo would match nothing and say nothing, so we
/// refuse it instead. In entropy-coded data `FF D9` can only be the EOI.
fn jpeg_is_truncated(bytes: &[u8]) -> bool {
    let Some(&(_, scan)) = jpeg_segments(bytes).iter().find(|(m, _)| *m == 0xDA) else {
        return true;
    };
    !bytes[scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Samples per pixel as the reference sees them after its own loading: grey
/// or colour, 8 bits (16-bit samples cast to their low byte).
enum Samples<'a> {
    Grey8 { data: &'a [u8], step: usize },
    Rgb8 { data: &'a [u8], step: usize },
    Grey16 { data: &'a [u16], step: usize },
    Rgb16 { data: &'a [u16], step: usize },
}

fn luma(image: &DynamicImage) -> Luma {
    let converted;
    let samples = match image {
        DynamicImage::ImageLuma8(b) => Samples::Grey8 { data: b.as_raw(), step: 1 },
        DynamicImage::ImageLumaA8(b) => Samples::Grey8 { data: b.as_raw(), step: 2 },
        DynamicImage::ImageRgb8(b) => Samples::Rgb8 { data: b.as_raw(), step: 3 },
        DynamicImage::ImageRgba8(b) => Samples::Rgb8 { data: b.as_raw(), step: 4 },
        DynamicImage::ImageLuma16(b) => Samples::Grey16 { data: b.as_raw(), step: 1 },
        DynamicImage::ImageLumaA16(b) => Samples::Grey16 { data: b.as_raw(), step: 2 },
        DynamicImage::ImageRgb16(b) => Samples::Rgb16 { data: b.as_raw(), step: 3 },
        DynamicImage::ImageRgba16(b) => Samples::Rgb16 { data: b.as_raw(), step: 4 },
        other => {
            converted = other.to_rgb8();
            Samples::Rgb8 { data: converted.as_raw(), step: 3 }
        }
    };
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (cols, rows) = if width > REFERENCE_MAX_SIDE || height > REFERENCE_MAX_SIDE {
        (REFERENCE_MAX_SIDE, REFERENCE_MAX_SIDE)
    } else {
        (width, height)
    };
    // CImg's nearest neighbour: output x reads source floor(x · W / w').
    let source_x: Vec<usize> = (0..cols).map(|x| (x as f64 * width as f64 / cols as f64) as usize).collect();
    let mut pixels = Vec::with_capacity(rows * cols);
    for y in 0..rows {
        let sy = (y as f64 * height as f64 / rows as f64) as usize;
        for &sx in &source_x {
            let at = sy * width + sx;
            pixels.push(match samples {
                Samples::Grey8 { data, step } => f32::from(data[at * step]),
                Samples::Rgb8 { data, step } => rgb_luma(data[at * step], data[at * step + 1], data[at * step + 2]),
                Samples::Grey16 { data, step } => f32::from(data[at * step] as u8),
                Samples::Rgb16 { data, step } => {
                    rgb_luma(data[at * step] as u8, data[at * step + 1] as u8, data[at * step + 2] as u8)
                }
            });
        }
    }
    Luma { rows, cols, pixels }
}

#[inline]
fn rgb_luma(r: u8, g: u8, b: u8) -> f32 {
    0.299f32 * f32::from(r) + 0.587f32 * f32::from(g) + 0.114f32 * f32::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pixel_budget_is_shared_and_given_back() {
        let budget = PixelBudget::new(100);
        let soon = Some(Instant::now() + Duration::from_millis(50));
        let held = budget.take(80, soon).expect("room");
        assert_eq!(budget.in_use(), 80);
        assert!(matches!(budget.take(30, soon), Err(ImageError::BudgetBusy { .. })));
        assert!(matches!(budget.take(101, None), Err(ImageError::OverBudget { .. })));
        // Another thread waits for the first permit to be given back.
        let waiting = std::thread::scope(|s| {
            let waiter = s.spawn(|| budget.take(30, Some(Instant::now() + Duration::from_secs(30))).map(|_| ()));
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
            waiter.join().map_err(|_| "panicked")
        });
        assert!(matches!(waiting, Ok(Ok(()))));
        assert_eq!(budget.in_use(), 0);
    }
}
