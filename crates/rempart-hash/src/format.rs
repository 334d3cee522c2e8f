//! Image format detection from magic bytes, shared by the decoder and the
//! fetcher so that "is an image" means "is something we decode".
//!
//! A file name or a `Content-Type` header is chosen by whoever controls the
//! file or server, so it proves nothing; the leading bytes are what a
//! decoder will act on, so those are what we check.

use std::fmt;

/// An image format recognised from its leading bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// JPEG / JFIF / EXIF: `FF D8 FF`.
    Jpeg,
    /// PNG: `89 50 4E 47 0D 0A 1A 0A`.
    Png,
    /// GIF: `GIF87a` or `GIF89a`.
    Gif,
    /// WebP: `RIFF` + 4-byte size + `WEBP`.
    WebP,
    /// Windows bitmap: `BM`, plus a plausible DIB header size at offset 14.
    Bmp,
    /// TIFF: `II*\0` (little-endian) or `MM\0*` (big-endian).
    Tiff,
}

impl ImageFormat {
    /// Every recognised format; the default accepted set.
    pub const ALL: [ImageFormat; 6] =
        [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Gif, ImageFormat::WebP, ImageFormat::Bmp, ImageFormat::Tiff];

    /// Detects the format from the first bytes of `bytes`, or `None` if they
    /// match no supported image format.
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(ImageFormat::Png)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageFormat::Gif)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::WebP)
        } else if is_bmp(bytes) {
            Some(ImageFormat::Bmp)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(ImageFormat::Tiff)
        } else {
            None
        }
    }

    /// Lower-case short name: `"jpeg"`, `"png"`, `"gif"`, `"webp"`, `"bmp"`, `"tiff"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::WebP => "webp",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Tiff => "tiff",
        }
    }

    /// The registered media type.
    pub fn mime_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Gif => "image/gif",
            ImageFormat::WebP => "image/webp",
            ImageFormat::Bmp => "image/bmp",
            ImageFormat::Tiff => "image/tiff",
        }
    }

    /// The `image` crate's name for the format.
    pub(crate) fn decoder(self) -> image::ImageFormat {
        match self {
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Gif => image::ImageFormat::Gif,
            ImageFormat::WebP => image::ImageFormat::WebP,
            ImageFormat::Bmp => image::ImageFormat::Bmp,
            ImageFormat::Tiff => image::ImageFormat::Tiff,
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `BM` alone is two printable letters (any text starting "BM…" has them), so
/// also require one of the DIB header sizes real bitmaps use at offset 14.
fn is_bmp(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"BM") {
        return false;
    }
    match bytes.get(14..18) {
        Some(&[a, b, c, d]) => matches!(u32::from_le_bytes([a, b, c, d]), 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_table() {
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        let cases: &[(&[u8], Option<ImageFormat>)] = &[
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'], Some(ImageFormat::Jpeg)),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some(ImageFormat::Png)),
            (b"GIF87a..", Some(ImageFormat::Gif)),
            (b"GIF89a..", Some(ImageFormat::Gif)),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some(ImageFormat::WebP)),
            (&bmp, Some(ImageFormat::Bmp)),
            (b"II*\0\x08\0\0\0", Some(ImageFormat::Tiff)),
            (b"MM\0*\0\0\0\x08", Some(ImageFormat::Tiff)),
            (b"", None),
            (b"\xFF\xD8", None),
            (b"\x89PNG\r\n", None),
            (b"GIF88a", None),
            (b"RIFF\x24\0\0\0WAVEfmt ", None),
            (b"RIFF", None),
            (b"BMW is a car maker, not a bitmap", None),
            (b"<!doctype html><html><body>hi</body></html>", None),
            (b"%PDF-1.7", None),
            (b"PK\x03\x04", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(ImageFormat::sniff(bytes), *want, "{:?}", String::from_utf8_lossy(bytes));
        }
    }
}
