//! Rendering a figure on both backends and writing `STEM.png` and `STEM.svg` atomically.
//!
//! The bitmap is drawn into an in-memory RGB buffer and encoded here (zlib from flate2, no image crate
//! involved), so both files go through [`crate::io::atomic::write_atomic`]: a temporary sibling, flushed,
//! then renamed.

use super::{font, PlotError};
use crate::io::atomic::write_atomic;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A figure that can draw itself on any backend, at a fixed pixel size.
pub(crate) trait Figure {
    /// Width and height in pixels (the same for PNG and SVG).
    fn size(&self) -> (u32, u32);
    /// Draw on `root`, whose size is [`Figure::size`].
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

/// Turn a plotters drawing error into a [`PlotError`].
pub(crate) fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// `STEM` with `.ext` appended (not replacing any dot already in the stem).
pub(crate) fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Draw `fig` on a bitmap and an SVG and write `STEM.png` and `STEM.svg`; returns both paths.
pub(crate) fn render<F: Figure>(stem: &Path, fig: &F) -> Result<Vec<PathBuf>, PlotError> {
    font::ensure()?;
    let (w, h) = fig.size();
    let (w, h) = (w.max(1), h.max(1));

    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        fig.draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    let png = encode_png(&rgb, w, h)?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        fig.draw(&root)?;
        root.present().map_err(draw_err)?;
    }

    let png_path = with_ext(stem, "png");
    let svg_path = with_ext(stem, "svg");
    write_atomic(&png_path, &png)?;
    write_atomic(&svg_path, svg.as_bytes())?;
    Ok(vec![png_path, svg_path])
}

/// Encode an 8-bit RGB buffer (row-major, `w*h*3` bytes) as a PNG file.
///
/// Each row uses the "Sub" or "None" filter, whichever gives the smaller sum of absolute residuals (the
/// usual heuristic); the image data is one zlib stream in one IDAT chunk.
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, PlotError> {
    let stride = w as usize * 3;
    if rgb.len() != stride * h as usize {
        return Err(PlotError::Draw(format!("bitmap buffer has {} bytes, expected {}x{}x3", rgb.len(), w, h)));
    }
    let mut raw = Vec::with_capacity((stride + 1) * h as usize);
    let mut sub = vec![0u8; stride];
    for row in rgb.chunks_exact(stride) {
        for i in 0..stride {
            sub[i] = if i >= 3 { row[i].wrapping_sub(row[i - 3]) } else { row[i] };
        }
        let cost = |r: &[u8]| r.iter().map(|&b| (b as i8).unsigned_abs() as u64).sum::<u64>();
        if cost(&sub) < cost(row) {
            raw.push(1);
            raw.extend_from_slice(&sub);
        } else {
            raw.push(0);
            raw.extend_from_slice(row);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let idat = z
        .write_all(&raw)
        .and_then(|_| z.finish())
        .map_err(|e| PlotError::Draw(format!("PNG compression failed: {e}")))?;

    let mut out = Vec::with_capacity(idat.len() + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bit, truecolour RGB, deflate, adaptive filtering, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}
