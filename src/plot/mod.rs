//! Figures as PNG and SVG (plotters, with an embedded font so no system font library is needed).
//!
//! Every figure function takes plain data in SI units (no model types), draws the figure once on a bitmap
//! and once on an SVG backend, and writes `STEM.png` and `STEM.svg` atomically (temporary sibling, then
//! rename). It returns the written paths, PNG first.
//!
//! - [`plot_panels`]: stacked time-series panels sharing the x axis (the traces of `stc simulate`).
//! - [`plot_overlay`]: a fit overlay (data points, uncalibrated and fitted model) with a residual panel.
//! - [`plot_confusion`]: a confusion matrix with counts, coloured by row-normalised fraction.
//! - [`plot_heatmaps`]: a grid of heat maps (e.g. the 28x28 weights of each output neuron) on one colour scale.
//! - [`plot_xy`]: a plain x-y chart with several series, optionally with a logarithmic x axis.
//!
//! Degenerate input never panics: non-finite values are skipped (a line is broken there), empty series draw
//! empty axes, a constant signal gets a small axis span. Only inconsistent shapes (x and y of different
//! lengths, a map of the wrong size, a non-square confusion matrix) are errors.

mod chart;
mod confusion;
mod font;
mod heatmap;
mod render;
mod ticks;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use confusion::plot_confusion;
pub use heatmap::plot_heatmaps;

/// How a [`Series`] is drawn.
#[derive(Clone, Debug)]
pub enum Style {
    /// A solid line through the points (broken at non-finite values).
    Line,
    /// A dashed line through the points.
    Dashed,
    /// A marker at each point, no line.
    Points,
    /// A staircase: each value is held until the next x (sample-and-hold, e.g. spike counts).
    Steps,
}

/// One data series: `x` and `y` must have the same length. Values are in SI units; the figure applies
/// the axis scales. Non-finite points are skipped.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text (empty: not listed in the legend).
    pub label: String,
    /// Abscissae (SI units, e.g. time in s).
    pub x: Vec<f64>,
    /// Ordinates (SI units, e.g. current in A).
    pub y: Vec<f64>,
    /// Line, dashes, markers or steps.
    pub style: Style,
    /// RGB colour; `None` picks the next colour of a ten-colour palette.
    pub color: Option<(u8, u8, u8)>,
}

/// A horizontal reference line (e.g. a comparator threshold), drawn dashed across the panel and listed
/// in the legend. `y` is in the same SI units as the panel's series.
#[derive(Clone, Debug)]
pub struct HLine {
    /// Legend text.
    pub label: String,
    /// Level in SI units (the panel's `y_scale` is applied).
    pub y: f64,
}

/// One panel of a [`plot_panels`] figure.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Title above the panel.
    pub title: String,
    /// y-axis label with its display unit, e.g. `"i_ca [pA]"`.
    pub y_label: String,
    /// Factor applied to y values (series and reference lines) for display, e.g. `1e12` for pA.
    pub y_scale: f64,
    /// Series drawn in this panel.
    pub series: Vec<Series>,
    /// Horizontal reference lines (always inside the y range).
    pub hlines: Vec<HLine>,
}

/// Why a figure could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A series whose x and y have different lengths.
    #[error("{what}: x has {x} values but y has {y}")]
    LengthMismatch {
        /// Which series (figure, panel and label).
        what: String,
        /// Number of x values.
        x: usize,
        /// Number of y values.
        y: usize,
    },
    /// Input of an inconsistent shape (wrong map size, non-square confusion matrix, ...).
    #[error("{0}")]
    Shape(String),
    /// The drawing backend failed (font, text layout, ...).
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The figure could not be written.
    #[error(transparent)]
    Output(#[from] crate::io::atomic::OutputError),
}

/// Stacked panels sharing the x axis (e.g. the traces of `stc simulate`: calcium with both thresholds,
/// i_hp and i_hd, v_h, z, w).
///
/// `x` of every series is time in s (or any SI abscissa), displayed multiplied by `x_scale` and labelled
/// `x_label` (e.g. `1e3` and `"t [ms]"`). Each panel is 300 px high, the figure 1200 px wide; legends sit
/// in a column to the right of the plots so they never hide data. Returns the paths of `STEM.png` and
/// `STEM.svg`.
pub fn plot_panels(
    stem: &Path,
    title: &str,
    x_label: &str,
    x_scale: f64,
    panels: &[Panel],
) -> Result<Vec<PathBuf>, PlotError> {
    let fig = chart::PanelFigure::from_panels(title, x_label, x_scale, panels)?;
    render::render(stem, &fig)
}

/// Fit overlay for one signal: the data as points, the uncalibrated model (`before`, dashed) and the fitted
/// model (`after`, solid), and below it a residual panel (data - fitted, and data - uncalibrated) on the
/// data's own time points `t_s` (s).
///
/// Values are SI, displayed multiplied by `y_scale` and labelled `y_label` (e.g. `1e12`, `"i_ca [pA]"`). The
/// time axis unit (s, ms, µs, ns) is chosen from the span of `t_s`. The legend gives the RMS of each
/// residual. `data`, `before` and `after` must have the length of `t_s`.
#[allow(clippy::too_many_arguments)]
pub fn plot_overlay(
    stem: &Path,
    title: &str,
    y_label: &str,
    y_scale: f64,
    t_s: &[f64],
    data: &[f64],
    before: Option<&[f64]>,
    after: &[f64],
) -> Result<Vec<PathBuf>, PlotError> {
    let fig = chart::PanelFigure::overlay(title, y_label, y_scale, t_s, data, before, after)?;
    render::render(stem, &fig)
}

/// Simple x-y line chart with several series (e.g. accuracy vs number of training samples, a speed
/// comparison), 1200x700 px, legend to the right. With `log_x` the x axis is logarithmic and points with
/// x <= 0 are skipped.
pub fn plot_xy(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_x: bool,
) -> Result<Vec<PathBuf>, PlotError> {
    let fig = chart::PanelFigure::xy(title, x_label, y_label, series, log_x)?;
    render::render(stem, &fig)
}
