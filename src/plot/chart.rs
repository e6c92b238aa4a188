//! Line charts: stacked panels sharing an x axis ([`super::plot_panels`]), the fit overlay with its residual
//! panel ([`super::plot_overlay`]) and the plain x-y chart ([`super::plot_xy`]) are all a [`PanelFigure`].
//!
//! Data are scaled, split at non-finite values and checked once ([`PanelFigure`] construction); drawing
//! reduces long lines to at most four points per pixel column (first, min, max, last) and markers to one
//! per pixel, so a million-sample trace gives a small SVG that looks the same.

use super::render::{draw_err, Figure};
use super::ticks::{self, HLINE_PALETTE, PALETTE};
use super::{font::FAMILY, HLine, Panel, PlotError, Series, Style};
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::HashSet;

/// Figure width in pixels.
pub(crate) const WIDTH: u32 = 1200;
/// Height of the figure title band.
pub(crate) const TITLE_H: u32 = 50;
/// Height of one panel of [`super::plot_panels`].
pub(crate) const PANEL_H: u32 = 300;
/// Heights of the overlay's main and residual panels.
pub(crate) const OVERLAY_H: (u32, u32) = (450, 300);
/// Height of the [`super::plot_xy`] chart.
pub(crate) const XY_H: u32 = 650;

/// Font sizes (plotters sizes: the glyphs are about 0.8 of this in pixels).
pub(crate) const LABEL_FONT: u32 = 16;
pub(crate) const DESC_FONT: u32 = 18;
const PANEL_TITLE_FONT: u32 = 20;
pub(crate) const TITLE_FONT: u32 = 28;
const LEGEND_FONT: u32 = 16;
const LEGEND_ROW: i32 = 24;
const LEGEND_MIN_W: u32 = 110;
const LEGEND_MAX_W: u32 = 330;

/// One series, scaled to display units and split into runs of drawable points.
#[derive(Clone, Debug)]
struct Prepared {
    label: String,
    style: Style,
    color: RGBColor,
    segments: Vec<Vec<(f64, f64)>>,
}

#[derive(Clone, Debug)]
struct PreparedPanel {
    title: String,
    y_label: String,
    series: Vec<Prepared>,
    hlines: Vec<(String, f64, RGBColor)>,
    y_range: (f64, f64),
    height: u32,
    show_x_desc: bool,
}

/// A figure of one or more line-chart panels stacked on a shared x axis.
#[derive(Clone, Debug)]
pub(crate) struct PanelFigure {
    title: String,
    x_label: String,
    log_x: bool,
    x_range: (f64, f64),
    panels: Vec<PreparedPanel>,
}

/// Scale a series, check its lengths, split it at non-finite (or, for a log axis, non-positive) points.
fn prepare(
    s: &Series,
    what: &str,
    x_scale: f64,
    y_scale: f64,
    log_x: bool,
    index: usize,
) -> Result<Prepared, PlotError> {
    if s.x.len() != s.y.len() {
        return Err(PlotError::LengthMismatch {
            what: format!("{what}, series `{}`", s.label),
            x: s.x.len(),
            y: s.y.len(),
        });
    }
    let mut segments = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    for (&x, &y) in s.x.iter().zip(&s.y) {
        let (x, y) = (x * x_scale, y * y_scale);
        if x.is_finite() && y.is_finite() && (!log_x || x > 0.0) {
            cur.push((x, y));
        } else if !cur.is_empty() {
            segments.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        segments.push(cur);
    }
    if matches!(s.style, Style::Steps) {
        for seg in &mut segments {
            let mut st = Vec::with_capacity(seg.len() * 2);
            for (i, &(x, y)) in seg.iter().enumerate() {
                if i > 0 {
                    st.push((x, seg[i - 1].1));
                }
                st.push((x, y));
            }
            *seg = st;
        }
    }
    let (r, g, b) = s.color.unwrap_or(PALETTE[index % PALETTE.len()]);
    Ok(Prepared { label: s.label.clone(), style: s.style.clone(), color: RGBColor(r, g, b), segments })
}

fn prepare_panel(p: &Panel, what: &str, x_scale: f64, log_x: bool, height: u32) -> Result<PreparedPanel, PlotError> {
    let series = p
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| prepare(s, what, x_scale, p.y_scale, log_x, i))
        .collect::<Result<Vec<_>, _>>()?;
    let hlines: Vec<(String, f64, RGBColor)> = p
        .hlines
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let y = h.y * p.y_scale;
            let (r, g, b) = if h.label.is_empty() { (110, 110, 110) } else { HLINE_PALETTE[i % HLINE_PALETTE.len()] };
            y.is_finite().then(|| (h.label.clone(), y, RGBColor(r, g, b)))
        })
        .collect();
    let data = ticks::finite_range(series.iter().flat_map(|s| s.segments.iter().flatten().map(|p| p.1)));
    let lines = ticks::finite_range(hlines.iter().map(|h| h.1));
    let y_range = ticks::axis_range(ticks::union(data, lines), 0.06);
    Ok(PreparedPanel {
        title: p.title.clone(),
        y_label: p.y_label.clone(),
        series,
        hlines,
        y_range,
        height,
        show_x_desc: false,
    })
}

/// Display unit for a time axis in s: the largest of s, ms, µs, ns that keeps the span at least 1.
pub(crate) fn time_unit(t_s: &[f64]) -> (f64, &'static str) {
    let span = ticks::finite_range(t_s.iter().copied()).map(|(a, b)| b - a).unwrap_or(1.0);
    if span >= 1.0 || span == 0.0 {
        (1.0, "t [s]")
    } else if span >= 1e-3 {
        (1e3, "t [ms]")
    } else if span >= 1e-6 {
        (1e6, "t [µs]")
    } else {
        (1e9, "t [ns]")
    }
}

/// The unit part of a label such as `"i_ca [pA]"` (`"[pA]"`), or `""`.
fn unit_of(label: &str) -> &str {
    match (label.rfind('['), label.rfind(']')) {
        (Some(a), Some(b)) if b > a => &label[a..=b],
        _ => "",
    }
}

/// Root-mean-square of the finite values, `None` if there are none.
fn rms(v: &[f64]) -> Option<f64> {
    let (n, s) = v.iter().filter(|x| x.is_finite()).fold((0usize, 0.0f64), |(n, s), x| (n + 1, s + x * x));
    (n > 0).then(|| (s / n as f64).sqrt())
}

impl PanelFigure {
    fn new(title: &str, x_label: &str, x_pad: f64, log_x: bool, mut panels: Vec<PreparedPanel>) -> Self {
        if let Some(last) = panels.last_mut() {
            last.show_x_desc = true;
        }
        let xs = ticks::finite_range(
            panels.iter().flat_map(|p| p.series.iter()).flat_map(|s| s.segments.iter().flatten().map(|p| p.0)),
        );
        let x_range = if log_x { ticks::log_axis_range(xs) } else { ticks::axis_range(xs, x_pad) };
        PanelFigure { title: title.to_string(), x_label: x_label.to_string(), log_x, x_range, panels }
    }

    /// Stacked panels, [`PANEL_H`] each.
    pub(crate) fn from_panels(title: &str, x_label: &str, x_scale: f64, panels: &[Panel]) -> Result<Self, PlotError> {
        let mut prepared = panels
            .iter()
            .enumerate()
            .map(|(i, p)| prepare_panel(p, &format!("{title}: panel {} `{}`", i + 1, p.title), x_scale, false, PANEL_H))
            .collect::<Result<Vec<_>, _>>()?;
        if prepared.is_empty() {
            let empty = Panel {
                title: "(no panels)".into(),
                y_label: String::new(),
                y_scale: 1.0,
                series: vec![],
                hlines: vec![],
            };
            prepared.push(prepare_panel(&empty, title, x_scale, false, PANEL_H)?);
        }
        Ok(Self::new(title, x_label, 0.0, false, prepared))
    }

    /// Data points, uncalibrated and fitted model, and the residual panel below.
    pub(crate) fn overlay(
        title: &str,
        y_label: &str,
        y_scale: f64,
        t_s: &[f64],
        data: &[f64],
        before: Option<&[f64]>,
        after: &[f64],
    ) -> Result<Self, PlotError> {
        let check = |what: &str, v: &[f64]| {
            if v.len() == t_s.len() {
                Ok(())
            } else {
                Err(PlotError::LengthMismatch { what: format!("{title}: {what}"), x: t_s.len(), y: v.len() })
            }
        };
        check("data", data)?;
        check("fitted model", after)?;
        if let Some(b) = before {
            check("uncalibrated model", b)?;
        }
        let (x_scale, x_label) = time_unit(t_s);
        let unit = unit_of(y_label);
        let blue = (31, 119, 180);
        let orange = (255, 127, 14);
        let series = |label: &str, y: &[f64], style: Style, color| Series {
            label: label.into(),
            x: t_s.to_vec(),
            y: y.to_vec(),
            style,
            color: Some(color),
        };

        let mut main = vec![series("data", data, Style::Points, (70, 70, 70))];
        if let Some(b) = before {
            main.push(series("uncalibrated model", b, Style::Dashed, orange));
        }
        main.push(series("fitted model", after, Style::Line, blue));

        let res_after: Vec<f64> = data.iter().zip(after).map(|(d, m)| d - m).collect();
        let rms_label = |name: &str, r: &[f64]| match rms(r) {
            Some(v) => format!(
                "{name} (RMS {} {})",
                ticks::short_label(v * y_scale),
                unit.trim_matches(|c| c == '[' || c == ']')
            ),
            None => name.to_string(),
        };
        let mut residual = Vec::new();
        if let Some(b) = before {
            let res_before: Vec<f64> = data.iter().zip(b).map(|(d, m)| d - m).collect();
            residual.push(series(&rms_label("data - uncalibrated", &res_before), &res_before, Style::Dashed, orange));
        }
        residual.push(series(&rms_label("data - fitted", &res_after), &res_after, Style::Line, blue));

        let top =
            Panel { title: "Data and model".into(), y_label: y_label.into(), y_scale, series: main, hlines: vec![] };
        let res_label = if unit.is_empty() { "residual".to_string() } else { format!("residual {unit}") };
        let bottom = Panel {
            title: "Residual".into(),
            y_label: res_label,
            y_scale,
            series: residual,
            hlines: vec![HLine { label: String::new(), y: 0.0 }],
        };
        let panels = vec![
            prepare_panel(&top, &format!("{title}: overlay"), x_scale, false, OVERLAY_H.0)?,
            prepare_panel(&bottom, &format!("{title}: residual"), x_scale, false, OVERLAY_H.1)?,
        ];
        Ok(Self::new(title, x_label, 0.0, false, panels))
    }

    /// One chart, [`XY_H`] high.
    pub(crate) fn xy(
        title: &str,
        x_label: &str,
        y_label: &str,
        series: &[Series],
        log_x: bool,
    ) -> Result<Self, PlotError> {
        let panel = Panel {
            title: String::new(),
            y_label: y_label.into(),
            y_scale: 1.0,
            series: series.to_vec(),
            hlines: vec![],
        };
        let mut p = prepare_panel(&panel, title, 1.0, log_x, XY_H)?;
        // An x-y chart has its own colour sequence only among the series given.
        for (i, (s, orig)) in p.series.iter_mut().zip(series).enumerate() {
            if orig.color.is_none() {
                let (r, g, b) = PALETTE[i % PALETTE.len()];
                s.color = RGBColor(r, g, b);
            }
        }
        Ok(Self::new(title, x_label, 0.03, log_x, vec![p]))
    }

    fn legend_entries(p: &PreparedPanel) -> Vec<LegendEntry> {
        let mut v: Vec<LegendEntry> = p
            .series
            .iter()
            .filter(|s| !s.label.is_empty())
            .map(|s| LegendEntry { label: s.label.clone(), color: s.color, style: s.style.clone() })
            .collect();
        v.extend(p.hlines.iter().filter(|h| !h.0.is_empty()).map(|h| LegendEntry {
            label: h.0.clone(),
            color: h.2,
            style: Style::Dashed,
        }));
        v
    }
}

impl Figure for PanelFigure {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_H + self.panels.iter().map(|p| p.height).sum::<u32>())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (title_area, mut rest) = root.split_vertically(TITLE_H);
        draw_title(&title_area, &self.title)?;

        // One legend column width for all panels, so that the x axes line up.
        let legend_style = TextStyle::from((FAMILY, LEGEND_FONT).into_font());
        let mut legend_w = 16;
        for p in &self.panels {
            for e in Self::legend_entries(p) {
                let (w, _) = root.estimate_text_size(&e.label, &legend_style).map_err(draw_err)?;
                legend_w = legend_w.max((w + 60).clamp(LEGEND_MIN_W, LEGEND_MAX_W));
            }
        }

        // One y-label area width for all panels (tick labels plus the rotated axis description).
        let tick_style = TextStyle::from((FAMILY, LABEL_FONT).into_font());
        let mut tick_w = 0;
        for p in &self.panels {
            let (y0, y1) = p.y_range;
            let fmt = ticks::tick_formatter(y0, y1);
            for n in [4, 7, 12] {
                for v in ticks::nice_ticks(y0, y1, n) {
                    tick_w = tick_w.max(root.estimate_text_size(&fmt(&v), &tick_style).map_err(draw_err)?.0);
                }
            }
        }
        let layout = Layout { legend_w, y_area: tick_w.clamp(20, 160) + 44 };

        let (x0, x1) = self.x_range;
        let fmt_x = ticks::tick_formatter(x0, x1);
        let fmt_log = |v: &f64| ticks::short_label(*v);
        for p in &self.panels {
            let (area, below) = rest.split_vertically(p.height);
            rest = below;
            if self.log_x {
                let coord: LogCoord<f64> = (x0..x1).log_scale().into();
                draw_panel(&area, coord, &fmt_log, p, &self.x_label, layout)?;
            } else {
                let coord: RangedCoordf64 = (x0..x1).into();
                draw_panel(&area, coord, &fmt_x, p, &self.x_label, layout)?;
            }
        }
        Ok(())
    }
}

/// Widths shared by all panels of a figure, so that their x axes line up.
#[derive(Clone, Copy, Debug)]
struct Layout {
    legend_w: u32,
    y_area: u32,
}

/// A legend row: sample of the line or marker, and the label.
struct LegendEntry {
    label: String,
    color: RGBColor,
    style: Style,
}

/// The figure title, centred in its band.
pub(crate) fn draw_title<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, title: &str) -> Result<(), PlotError> {
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FAMILY, TITLE_FONT).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    let text = fit_text(area, title, &style, w.saturating_sub(20))?;
    area.draw_text(&text, &style, (w as i32 / 2, h as i32 / 2)).map_err(draw_err)
}

/// `text`, cut and ended with an ellipsis if wider than `max_w` pixels in `style`.
pub(crate) fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    max_w: u32,
) -> Result<String, PlotError> {
    if text.is_empty() || area.estimate_text_size(text, style).map_err(draw_err)?.0 <= max_w {
        return Ok(text.to_string());
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let s: String = chars.iter().collect::<String>() + "…";
        if area.estimate_text_size(&s, style).map_err(draw_err)?.0 <= max_w {
            return Ok(s);
        }
    }
    Ok(String::new())
}

/// Keep, of each run of consecutive points in the same pixel column, the first, lowest, highest and last.
fn decimate(seg: &[(f64, f64)], col: impl Fn(&(f64, f64)) -> i32) -> Vec<(f64, f64)> {
    if seg.len() <= 2 * WIDTH as usize {
        return seg.to_vec();
    }
    let cols: Vec<i32> = seg.iter().map(col).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < seg.len() {
        let (mut lo, mut hi, mut j) = (i, i, i);
        while j < seg.len() && cols[j] == cols[i] {
            if seg[j].1 < seg[lo].1 {
                lo = j;
            }
            if seg[j].1 > seg[hi].1 {
                hi = j;
            }
            j += 1;
        }
        let mut keep = [i, lo, hi, j - 1];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for k in keep {
            if k != last {
                out.push(seg[k]);
                last = k;
            }
        }
        i = j;
    }
    out
}

/// Cut a polyline into pieces without sharp turns, in pixel space: consecutive points on the same pixel are
/// dropped and a new piece starts wherever the path turns by more than 90 degrees. plotters draws thick
/// lines as polygons whose inner joins shoot far out at near-reversals (a sawtooth, a min/max column); a
/// piece has no such join. A path that collapses to one pixel gives a one-point piece.
fn split_sharp(pts: &[(f64, f64)], px: impl Fn(&(f64, f64)) -> (i32, i32)) -> Vec<Vec<(f64, f64)>> {
    let mut pieces = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let mut cur_px: Vec<(i32, i32)> = Vec::new();
    for p in pts {
        let q = px(p);
        if cur_px.last() == Some(&q) {
            continue;
        }
        if let [.., a, b] = cur_px[..] {
            let v1 = ((b.0 - a.0) as i64, (b.1 - a.1) as i64);
            let v2 = ((q.0 - b.0) as i64, (q.1 - b.1) as i64);
            if v1.0 * v2.0 + v1.1 * v2.1 < 0 {
                let last = *cur.last().unwrap_or(p);
                pieces.push(std::mem::take(&mut cur));
                cur.push(last);
                cur_px.clear();
                cur_px.push(b);
            }
        }
        cur.push(*p);
        cur_px.push(q);
    }
    if !cur.is_empty() {
        pieces.push(cur);
    }
    pieces
}

fn draw_panel<DB, X>(
    area: &DrawingArea<DB, Shift>,
    x_coord: X,
    fmt_x: &dyn Fn(&f64) -> String,
    p: &PreparedPanel,
    x_label: &str,
    layout: Layout,
) -> Result<(), PlotError>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let (w, _) = area.dim_in_pixel();
    let (plot_area, legend_area) = area.split_horizontally(w.saturating_sub(layout.legend_w));
    let (y0, y1) = p.y_range;
    let fmt_y = ticks::tick_formatter(y0, y1);

    let mut builder = ChartBuilder::on(&plot_area);
    builder
        .margin_left(8)
        .margin_right(16)
        .margin_top(6)
        .margin_bottom(4)
        .x_label_area_size(if p.show_x_desc { 56 } else { 32 })
        .y_label_area_size(layout.y_area);
    if !p.title.is_empty() {
        builder.caption(&p.title, (FAMILY, PANEL_TITLE_FONT));
    } else {
        builder.margin_top(16);
    }
    let mut chart = builder.build_cartesian_2d(x_coord, y0..y1).map_err(draw_err)?;

    {
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(12)
            .y_labels(7)
            .x_label_formatter(fmt_x)
            .y_label_formatter(&fmt_y)
            .label_style((FAMILY, LABEL_FONT))
            .axis_desc_style((FAMILY, DESC_FONT))
            .bold_line_style(RGBColor(205, 205, 205))
            .light_line_style(RGBColor(238, 238, 238));
        if !p.y_label.is_empty() {
            mesh.y_desc(p.y_label.as_str());
        }
        if p.show_x_desc && !x_label.is_empty() {
            mesh.x_desc(x_label);
        }
        mesh.draw().map_err(draw_err)?;
    }

    let (xa, xb) = {
        let r = chart.x_range();
        (r.start, r.end)
    };
    for (_, y, color) in &p.hlines {
        let elem = DashedPathElement::new(vec![(xa, *y), (xb, *y)], 9, 6, color.stroke_width(2));
        chart.draw_series(std::iter::once(elem)).map_err(draw_err)?;
    }

    let mut drawn = 0usize;
    for s in &p.series {
        let line = s.color.stroke_width(2);
        match s.style {
            Style::Points => {
                let n: usize = s.segments.iter().map(|g| g.len()).sum();
                let r = if n > 100 { 2 } else { 3 };
                let mut seen = HashSet::new();
                let pts: Vec<(f64, f64)> =
                    s.segments.iter().flatten().copied().filter(|pt| seen.insert(chart.backend_coord(pt))).collect();
                drawn += pts.len();
                chart.draw_series(pts.into_iter().map(|pt| Circle::new(pt, r, s.color.filled()))).map_err(draw_err)?;
            }
            Style::Line | Style::Steps | Style::Dashed => {
                for seg in &s.segments {
                    drawn += seg.len();
                    if seg.len() == 1 {
                        chart
                            .draw_series(std::iter::once(Circle::new(seg[0], 2, s.color.filled())))
                            .map_err(draw_err)?;
                        continue;
                    }
                    let pts = decimate(seg, |pt| chart.backend_coord(pt).0);
                    let pieces = split_sharp(&pts, |pt| chart.backend_coord(pt));
                    if matches!(s.style, Style::Dashed) {
                        chart
                            .draw_series(pieces.into_iter().map(|pc| DashedPathElement::new(pc, 8, 5, line)))
                            .map_err(draw_err)?;
                    } else {
                        chart.draw_series(pieces.into_iter().map(|pc| PathElement::new(pc, line))).map_err(draw_err)?;
                    }
                }
            }
        }
    }

    if drawn == 0 {
        let pa = chart.plotting_area();
        let (cx, cy) = pa.get_pixel_range();
        let centre = ((cx.start + cx.end) / 2, (cy.start + cy.end) / 2);
        let style = TextStyle::from((FAMILY, DESC_FONT).into_font())
            .color(&RGBColor(120, 120, 120))
            .pos(Pos::new(HPos::Center, VPos::Center));
        let (bx, by) = area.get_base_pixel();
        area.draw_text("no data", &style, (centre.0 - bx, centre.1 - by)).map_err(draw_err)?;
    }

    // Legend: aligned with the top of the plotting area.
    let entries = PanelFigure::legend_entries(p);
    if !entries.is_empty() {
        let top = chart.plotting_area().get_pixel_range().1.start - area.get_base_pixel().1;
        draw_legend(&legend_area, top, &entries)?;
    }
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    top: i32,
    entries: &[LegendEntry],
) -> Result<(), PlotError> {
    let (w, h) = area.dim_in_pixel();
    let text_style = TextStyle::from((FAMILY, LEGEND_FONT).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let max_rows = ((h as i32 - top - 8) / LEGEND_ROW).max(1) as usize;
    let (sx0, sx1, tx) = (4, 34, 42);
    for (k, e) in entries.iter().enumerate() {
        let y = top + 10 + k as i32 * LEGEND_ROW;
        if k + 1 == max_rows && entries.len() > max_rows {
            area.draw_text(&format!("… {} more", entries.len() - k), &text_style, (tx, y)).map_err(draw_err)?;
            break;
        }
        match e.style {
            Style::Points => area.draw(&Circle::new(((sx0 + sx1) / 2, y), 4, e.color.filled())).map_err(draw_err)?,
            Style::Dashed => {
                for x in [sx0, sx0 + 12, sx0 + 24] {
                    area.draw(&PathElement::new(vec![(x, y), (x + 7, y)], e.color.stroke_width(2)))
                        .map_err(draw_err)?;
                }
            }
            Style::Line | Style::Steps => {
                area.draw(&PathElement::new(vec![(sx0, y), (sx1, y)], e.color.stroke_width(2))).map_err(draw_err)?
            }
        }
        let label = fit_text(area, &e.label, &text_style, w.saturating_sub(tx as u32 + 6))?;
        area.draw_text(&label, &text_style, (tx, y)).map_err(draw_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharp_turns_split_paths_and_duplicates_are_dropped() {
        let px = |p: &(f64, f64)| (p.0.round() as i32, p.1.round() as i32);
        // Sawtooth: up, down, up: every reversal starts a new piece sharing the turning point.
        let saw = [(0.0, 0.0), (1.0, 10.0), (2.0, 0.0), (3.0, 10.0)];
        let pieces = split_sharp(&saw, px);
        assert_eq!(
            pieces,
            vec![vec![(0.0, 0.0), (1.0, 10.0)], vec![(1.0, 10.0), (2.0, 0.0)], vec![(2.0, 0.0), (3.0, 10.0)]]
        );
        // Gentle curve with repeated pixels: one piece, duplicates gone.
        let curve = [(0.0, 0.0), (0.1, 0.0), (1.0, 1.0), (2.0, 1.5), (3.0, 1.7)];
        assert_eq!(split_sharp(&curve, px), vec![vec![(0.0, 0.0), (1.0, 1.0), (2.0, 1.5), (3.0, 1.7)]]);
        // Collapsed path.
        assert_eq!(split_sharp(&[(0.0, 0.0), (0.2, 0.1)], px), vec![vec![(0.0, 0.0)]]);
    }

    #[test]
    fn decimation_keeps_extremes() {
        let seg: Vec<(f64, f64)> =
            (0..100_000).map(|i| (i as f64 / 100_000.0, if i == 55_555 { 9.0 } else { (i % 7) as f64 })).collect();
        let d = decimate(&seg, |p| (p.0 * 1000.0) as i32);
        assert!(d.len() <= 4 * 1000 && d.len() >= 1000);
        assert!(d.contains(&seg[55_555]) && d.contains(&seg[0]) && d.contains(&seg[99_999]));
        assert!(d.windows(2).all(|w| w[0].0 <= w[1].0), "order kept");
    }

    #[test]
    fn time_units_and_label_units() {
        assert_eq!(time_unit(&[0.0, 2.0]).1, "t [s]");
        assert_eq!(time_unit(&[0.0, 0.5]).1, "t [ms]");
        assert_eq!(time_unit(&[0.0, 5e-4]).1, "t [µs]");
        assert_eq!(time_unit(&[0.0, 5e-8]).1, "t [ns]");
        assert_eq!(time_unit(&[]).1, "t [s]");
        assert_eq!(unit_of("i_ca [pA]"), "[pA]");
        assert_eq!(unit_of("z"), "");
        assert_eq!(rms(&[3.0, f64::NAN, -4.0]), Some((12.5f64).sqrt()));
        assert_eq!(rms(&[f64::NAN]), None);
    }
}
