//! `rempart hash`: PDQ hashes of image files, in the reference tool's
//! output format so the two can be diffed.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use rayon::prelude::*;
use rempart_hash::{decode::DecodeOptions, pdq::Dihedral};

#[derive(clap::Args)]
#[command(after_help = "Output (stdout), one line per image in argument order, as Meta's pdq-photo-hasher \
prints them: `<64 hex>,<quality>,<path>`; with --dihedral, the eight hashes (original, rot90, rot180, \
rot270, flipx, flipy, flipp, flipm) then quality and path, as `pdq-photo-hasher --pdqdih-across`; with \
--json, one JSON object per image. An image that cannot be hashed is reported on stderr as \
`<path>: <code>: <reason>` (or as a JSON object with `error` on stdout with --json), and the others are \
still hashed. Images the reference refuses (alpha channel, CMYK) are hashed with alpha dropped / CMYK \
converted, and reported on stderr as a deviation; --reference-strict refuses them instead.\n\n\
Exit status: 0 every image was hashed; 2 some images could not be hashed; 1 nothing could be done.")]
pub struct Args {
    /// Image files (JPEG, PNG, GIF, WebP, BMP, TIFF; the format is sniffed from the content).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print the eight dihedral hashes (rotations and flips) of each image.
    #[arg(long)]
    dihedral: bool,
    /// One JSON object per image instead of CSV lines.
    #[arg(long)]
    json: bool,
    /// Refuse images the C++ reference refuses instead of hashing them with a deviation.
    #[arg(long)]
    reference_strict: bool,
    /// Refuse images with more pixels than this (decompression bombs).
    #[arg(long, default_value_t = DecodeOptions::default().max_pixels, value_name = "N")]
    max_pixels: u64,
}

pub fn run(args: Args) -> Result<u8> {
    let options = DecodeOptions {
        max_pixels: args.max_pixels,
        reference_strict: args.reference_strict,
        ..DecodeOptions::default()
    };
    let bar = crate::progress::items(args.files.len() as u64, "hash");
    let results: Vec<_> = args
        .files
        .par_iter()
        .map(|path| {
            let result = std::fs::read(path).map_err(|e| ("unreadable", e.to_string())).and_then(|bytes| {
                let outcome = if args.dihedral {
                    rempart_hash::dihedral_image(&bytes, &options).map(|(d, dec)| (d.hashes.to_vec(), d.quality, dec))
                } else {
                    rempart_hash::hash_image(&bytes, &options).map(|(h, dec)| (vec![h.hash], h.quality, dec))
                };
                outcome.map_err(|e| (e.code(), e.to_string()))
            });
            bar.inc(1);
            result
        })
        .collect();
    bar.finish_and_clear();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut failed = 0usize;
    for (path, result) in args.files.iter().zip(results) {
        let shown = path.display();
        match result {
            Ok((hashes, quality, decoded)) => {
                if let Some(deviation) = decoded.deviation {
                    eprintln!("{shown}: deviation: {deviation}");
                }
                let hashes: Vec<String> = hashes.iter().map(|h| h.to_string()).collect();
                if args.json {
                    let mut object = serde_json::json!({
                        "path": path.to_string_lossy(), "quality": quality,
                        "format": decoded.format, "width": decoded.width, "height": decoded.height,
                    });
                    if args.dihedral {
                        object["dihedral"] = Dihedral::NAMES
                            .iter()
                            .zip(&hashes)
                            .map(|(n, h)| (n.to_string(), h.clone().into()))
                            .collect::<serde_json::Map<_, _>>()
                            .into();
                    } else {
                        object["pdq"] = hashes[0].clone().into();
                    }
                    if let Some(deviation) = decoded.deviation {
                        object["deviation"] = deviation.into();
                    }
                    writeln!(out, "{object}")?;
                } else {
                    writeln!(out, "{},{quality},{shown}", hashes.join(","))?;
                }
            }
            Err((code, message)) => {
                failed += 1;
                if args.json {
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({"path": path.to_string_lossy(), "error": code, "message": message})
                    )?;
                } else {
                    eprintln!("{shown}: {code}: {message}");
                }
            }
        }
    }
    out.flush().context("writing output")?;
    Ok(if failed > 0 { crate::EXIT_INVALID_RECORDS } else { crate::EXIT_OK })
}
