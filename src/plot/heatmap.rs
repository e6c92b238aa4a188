//! A grid of heat maps on one colour scale ([`plot_heatmaps`]), and the colour bar shared with the
//! confusion matrix.

use super::chart::{draw_title, fit_text, TITLE_H, WIDTH};
use super::render::{draw_err, render, Figure};
use super::ticks::{self, DIVERGING, VIRIDIS};
use super::{font::FAMILY, PlotError};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

const MARGIN: u32 = 20;
const COLORBAR_COL: u32 = 170;
const MAP_TITLE_H: u32 = 24;
const GAP: u32 = 16;
const MAX_TILE: f64 = 420.0;

/// Grid of heat maps (e.g. the 28x28 synaptic weights of each output neuron, thesis Fig. 15), with one
/// colour bar and a common scale, and a title above each map.
///
/// Each map is `width * height` values in row-major order, row 0 at the top (the MNIST pixel order); its
/// title is the `String` of the pair. The maps are laid out `columns` per row (0: a near-square grid) in a
/// figure 1200 px wide whose height follows from the number of rows. The colour scale spans the finite
/// values of all maps: viridis, or a blue-white-red map symmetric about 0 when the values have both signs.
/// Non-finite values are drawn light grey. A map of the wrong length is an error.
pub fn plot_heatmaps(
    stem: &Path,
    title: &str,
    maps: &[(String, Vec<f64>)],
    width: usize,
    height: usize,
    value_label: &str,
    columns: usize,
) -> Result<Vec<PathBuf>, PlotError> {
    let fig = HeatmapFigure::new(title, maps, width, height, value_label, columns)?;
    render(stem, &fig)
}

/// A colour scale: value range and colour stops.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ColorScale {
    /// Value at the bottom of the bar.
    pub lo: f64,
    /// Value at the top of the bar.
    pub hi: f64,
    /// Colour stops from `lo` to `hi`.
    pub stops: &'static [(u8, u8, u8)],
}

impl ColorScale {
    /// Colour of `v`, quantised to 256 levels (light grey for a non-finite value).
    pub(crate) fn color(&self, v: f64) -> RGBColor {
        if !v.is_finite() {
            return RGBColor(215, 215, 215);
        }
        let t = ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        let t = (t * 255.0).round() / 255.0;
        let (r, g, b) = ticks::lerp_stops(self.stops, t);
        RGBColor(r, g, b)
    }
}

/// Draw a vertical colour bar with its ticks and a rotated label, in pixel coordinates of `area`:
/// the bar occupies `(x, y)` to `(x + w, y + h)`, tick labels and `label` are to its right.
pub(crate) fn draw_colorbar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y, w, h): (i32, i32, i32, i32),
    scale: &ColorScale,
    label: &str,
) -> Result<(), PlotError> {
    let h = h.max(10);
    for r in 0..h {
        let t = 1.0 - (r as f64 + 0.5) / h as f64;
        let c = scale.color(scale.lo + t * (scale.hi - scale.lo));
        area.draw(&Rectangle::new([(x, y + r), (x + w, y + r + 1)], c.filled())).map_err(draw_err)?;
    }
    area.draw(&Rectangle::new([(x, y), (x + w, y + h)], BLACK.stroke_width(1))).map_err(draw_err)?;
    let style = TextStyle::from((FAMILY, 17).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let mut max_w = 0u32;
    for v in ticks::nice_ticks(scale.lo, scale.hi, 5) {
        let ty = y + h - ((v - scale.lo) / (scale.hi - scale.lo) * h as f64).round() as i32;
        area.draw(&PathElement::new(vec![(x + w, ty), (x + w + 5, ty)], BLACK.stroke_width(1))).map_err(draw_err)?;
        let text = ticks::short_label(v);
        max_w = max_w.max(area.estimate_text_size(&text, &style).map_err(draw_err)?.0);
        area.draw_text(&text, &style, (x + w + 8, ty)).map_err(draw_err)?;
    }
    if !label.is_empty() {
        let style = TextStyle::from((FAMILY, 18).into_font())
            .pos(Pos::new(HPos::Center, VPos::Center))
            .transform(FontTransform::Rotate90);
        let text = fit_text(area, label, &TextStyle::from((FAMILY, 18).into_font()), (h as u32).max(40))?;
        area.draw_text(&text, &style, (x + w + 8 + max_w as i32 + 16, y + h / 2)).map_err(draw_err)?;
    }
    Ok(())
}

/// The colour scale for values spanning `range`: viridis over the range, or a symmetric diverging map when
/// the values have both signs.
pub(crate) fn scale_for(range: Option<(f64, f64)>) -> ColorScale {
    match range {
        Some((lo, hi)) if lo < 0.0 && hi > 0.0 => {
            let m = lo.abs().max(hi.abs());
            ColorScale { lo: -m, hi: m, stops: &DIVERGING }
        }
        r => {
            let (lo, hi) = ticks::axis_range(r, 0.0);
            ColorScale { lo, hi, stops: &VIRIDIS }
        }
    }
}

struct HeatmapFigure {
    title: String,
    maps: Vec<(String, Vec<f64>)>,
    width: usize,
    height: usize,
    value_label: String,
    columns: usize,
    rows: usize,
    /// Size of one map pixel on screen.
    cell: f64,
    scale: ColorScale,
    size: (u32, u32),
}

impl HeatmapFigure {
    fn new(
        title: &str,
        maps: &[(String, Vec<f64>)],
        width: usize,
        height: usize,
        value_label: &str,
        columns: usize,
    ) -> Result<Self, PlotError> {
        if !maps.is_empty() && (width == 0 || height == 0) {
            return Err(PlotError::Shape(format!("{title}: heat maps of {width}x{height} values are empty")));
        }
        for (name, v) in maps {
            if Some(v.len()) != width.checked_mul(height) {
                return Err(PlotError::Shape(format!(
                    "{title}: map `{name}` has {} values, expected {width}x{height}",
                    v.len()
                )));
            }
        }
        let n = maps.len();
        let columns = if n == 0 {
            1
        } else if columns == 0 {
            ((n as f64).sqrt().ceil() as usize).max(1)
        } else {
            columns.min(n)
        };
        let rows = n.div_ceil(columns).max(1);
        let avail = (WIDTH - 2 * MARGIN - COLORBAR_COL) as f64;
        let tile_w = avail / columns as f64 - GAP as f64;
        let (w, h) = (width.max(1) as f64, height.max(1) as f64);
        let cell = (tile_w / w).min(MAX_TILE / h).max(0.05);
        let tile_h = (cell * h).ceil() as u32;
        let grid_h = rows as u32 * (MAP_TITLE_H + tile_h + GAP);
        let fig_h = TITLE_H + MARGIN + grid_h.max(260) + MARGIN;
        let scale = scale_for(ticks::finite_range(maps.iter().flat_map(|m| m.1.iter().copied())));
        Ok(HeatmapFigure {
            title: title.into(),
            maps: maps.to_vec(),
            width,
            height,
            value_label: value_label.into(),
            columns,
            rows,
            cell,
            scale,
            size: (WIDTH, fig_h),
        })
    }

    fn draw_map<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        x0: f64,
        y0: f64,
        values: &[f64],
    ) -> Result<(), PlotError> {
        let c = self.cell;
        let px = |k: usize, o: f64| (o + k as f64 * c).round() as i32;
        for r in 0..self.height {
            let (ya, yb) = (px(r, y0), px(r + 1, y0));
            if yb <= ya {
                continue;
            }
            let row = &values[r * self.width..(r + 1) * self.width];
            // Merge runs of equal colour into one rectangle (smaller SVG).
            let mut start = 0;
            while start < self.width {
                let color = self.scale.color(row[start]);
                let mut end = start + 1;
                while end < self.width && self.scale.color(row[end]) == color {
                    end += 1;
                }
                let (xa, xb) = (px(start, x0), px(end, x0));
                if xb > xa {
                    root.draw(&Rectangle::new([(xa, ya), (xb, yb)], color.filled())).map_err(draw_err)?;
                }
                start = end;
            }
        }
        let (xb, yb) = (px(self.width, x0), px(self.height, y0));
        root.draw(&Rectangle::new(
            [(x0.round() as i32 - 1, y0.round() as i32 - 1), (xb, yb)],
            RGBColor(120, 120, 120).stroke_width(1),
        ))
        .map_err(draw_err)?;
        Ok(())
    }
}

impl Figure for HeatmapFigure {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (title_area, _) = root.split_vertically(TITLE_H);
        draw_title(&title_area, &self.title)?;
        let top = (TITLE_H + MARGIN) as f64;
        if self.maps.is_empty() {
            let style = TextStyle::from((FAMILY, 16).into_font())
                .color(&RGBColor(120, 120, 120))
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw_text("no data", &style, (WIDTH as i32 / 2, (self.size.1 as i32 + TITLE_H as i32) / 2))
                .map_err(draw_err)?;
            return Ok(());
        }
        let tile_w = self.cell * self.width as f64;
        let tile_h = self.cell * self.height as f64;
        let pitch_x = tile_w + GAP as f64;
        let pitch_y = MAP_TITLE_H as f64 + tile_h.ceil() + GAP as f64;
        let avail = (WIDTH - 2 * MARGIN - COLORBAR_COL) as f64;
        let grid_w = self.columns as f64 * pitch_x - GAP as f64;
        let left = MARGIN as f64 + ((avail - grid_w) / 2.0).max(0.0);
        let title_style = TextStyle::from((FAMILY, 17).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (k, (name, values)) in self.maps.iter().enumerate() {
            let (row, col) = (k / self.columns, k % self.columns);
            let x0 = left + col as f64 * pitch_x;
            let y0 = top + row as f64 * pitch_y + MAP_TITLE_H as f64;
            let text = fit_text(root, name, &title_style, (tile_w as u32 + GAP).max(20))?;
            root.draw_text(&text, &title_style, ((x0 + tile_w / 2.0).round() as i32, y0 as i32 - 5))
                .map_err(draw_err)?;
            self.draw_map(root, x0, y0, values)?;
        }
        let grid_h = self.rows as f64 * pitch_y - GAP as f64 - MAP_TITLE_H as f64;
        let bar_h = grid_h.clamp(160.0, 420.0) as i32;
        let bar_x = (WIDTH - MARGIN - COLORBAR_COL) as i32 + 30;
        draw_colorbar(root, (bar_x, (top + MAP_TITLE_H as f64) as i32, 24, bar_h), &self.scale, &self.value_label)?;
        Ok(())
    }
}
