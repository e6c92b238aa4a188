//! Confusion matrix ([`plot_confusion`]).

use super::chart::{draw_title, fit_text, TITLE_H};
use super::heatmap::{draw_colorbar, ColorScale};
use super::render::{draw_err, render, Figure};
use super::ticks::BLUES;
use super::{font::FAMILY, PlotError};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

const SIZE: (u32, u32) = (1100, 1000);

/// Confusion matrix: `counts[true_class][predicted_class]`, one row and one column per entry of
/// `class_labels`. Each cell shows its count; its colour is the count as a fraction of its row (of all
/// samples of that true class), so the diagonal reads as per-class recall. The subtitle gives the number
/// of samples and the accuracy. 1100x1000 px.
pub fn plot_confusion(
    stem: &Path,
    title: &str,
    class_labels: &[String],
    counts: &[Vec<u64>],
) -> Result<Vec<PathBuf>, PlotError> {
    let n = class_labels.len();
    if counts.len() != n {
        return Err(PlotError::Shape(format!("{title}: {} class labels but {} rows of counts", n, counts.len())));
    }
    if let Some((i, row)) = counts.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(PlotError::Shape(format!(
            "{title}: row {i} (true class `{}`) has {} counts, expected {n}",
            class_labels[i],
            row.len()
        )));
    }
    let fig = ConfusionFigure { title: title.into(), labels: class_labels.to_vec(), counts: counts.to_vec() };
    render(stem, &fig)
}

struct ConfusionFigure {
    title: String,
    labels: Vec<String>,
    counts: Vec<Vec<u64>>,
}

impl Figure for ConfusionFigure {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (w, h) = (SIZE.0 as i32, SIZE.1 as i32);
        let (title_area, _) = root.split_vertically(TITLE_H);
        draw_title(&title_area, &self.title)?;
        let n = self.labels.len();
        let total: u128 = self.counts.iter().flatten().map(|&c| c as u128).sum();
        let correct: u128 = (0..n).map(|i| self.counts[i][i] as u128).sum();
        let grey = RGBColor(90, 90, 90);
        let sub_style =
            TextStyle::from((FAMILY, 18).into_font()).color(&grey).pos(Pos::new(HPos::Center, VPos::Center));
        let subtitle = if total > 0 {
            format!(
                "{total} samples, accuracy {:.2} %  (colour: fraction of the true class)",
                100.0 * correct as f64 / total as f64
            )
        } else {
            "no samples".to_string()
        };
        root.draw_text(&subtitle, &sub_style, (w / 2, TITLE_H as i32 + 10)).map_err(draw_err)?;
        if n == 0 {
            return Ok(());
        }

        // Layout: class labels left of and below the grid, colour bar on the right.
        let label_style = TextStyle::from((FAMILY, 22).into_font());
        let mut label_w = 0u32;
        for l in &self.labels {
            label_w = label_w.max(root.estimate_text_size(l, &label_style).map_err(draw_err)?.0);
        }
        let label_w = label_w.min(200) as i32;
        let top = TITLE_H as i32 + 40;
        let left = 50 + label_w + 10;
        let side = (w - left - 180).min(h - top - 80).max(10);
        let cell = side as f64 / n as f64;
        let px = |k: usize| (k as f64 * cell).round() as i32;
        let scale = ColorScale { lo: 0.0, hi: 1.0, stops: &BLUES };

        // Counts: the largest font that lets the widest count fit in a cell.
        let widest = self.counts.iter().flatten().max().copied().unwrap_or(0).to_string();
        let mut font = (cell * 0.36).min(26.0);
        let probe = root.estimate_text_size(&widest, &TextStyle::from((FAMILY, 20).into_font())).map_err(draw_err)?.0
            as f64
            / 20.0;
        if probe > 0.0 {
            font = font.min(cell * 0.85 / probe);
        }
        let annotate = font >= 8.0;

        for (i, row) in self.counts.iter().enumerate() {
            let row_total: u128 = row.iter().map(|&c| c as u128).sum();
            for (j, &c) in row.iter().enumerate() {
                let frac = if row_total > 0 { c as f64 / row_total as f64 } else { 0.0 };
                let (x0, y0, x1, y1) = (left + px(j), top + px(i), left + px(j + 1), top + px(i + 1));
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], scale.color(frac).filled())).map_err(draw_err)?;
                if annotate {
                    let color = if frac > 0.5 { WHITE } else { BLACK };
                    let style = TextStyle::from((FAMILY, font).into_font())
                        .color(&color)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    root.draw_text(&c.to_string(), &style, ((x0 + x1) / 2, (y0 + y1) / 2)).map_err(draw_err)?;
                }
            }
        }
        // Cell borders and frame.
        let line = RGBColor(200, 200, 200).stroke_width(1);
        for k in 1..n {
            root.draw(&PathElement::new(vec![(left + px(k), top), (left + px(k), top + side)], line))
                .map_err(draw_err)?;
            root.draw(&PathElement::new(vec![(left, top + px(k)), (left + side, top + px(k))], line))
                .map_err(draw_err)?;
        }
        root.draw(&Rectangle::new([(left, top), (left + side, top + side)], BLACK.stroke_width(1)))
            .map_err(draw_err)?;

        // Class labels, thinned out when the cells are smaller than the text.
        let y_step = ((26.0 / cell).ceil() as usize).max(1);
        let x_step = (((label_w as f64 + 8.0) / cell).ceil() as usize).max(1);
        let y_style = label_style.pos(Pos::new(HPos::Right, VPos::Center));
        let x_style = label_style.pos(Pos::new(HPos::Center, VPos::Top));
        for (k, l) in self.labels.iter().enumerate() {
            let mid = px(k) + ((cell / 2.0).round() as i32);
            if k % y_step == 0 {
                let text = fit_text(root, l, &label_style, label_w as u32)?;
                root.draw_text(&text, &y_style, (left - 8, top + mid)).map_err(draw_err)?;
            }
            if k % x_step == 0 {
                let text = fit_text(root, l, &label_style, (cell * x_step as f64 - 4.0).max(10.0) as u32)?;
                root.draw_text(&text, &x_style, (left + mid, top + side + 6)).map_err(draw_err)?;
            }
        }
        let desc = TextStyle::from((FAMILY, 20).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw_text("predicted class", &desc, (left + side / 2, top + side + 44)).map_err(draw_err)?;
        root.draw_text("true class", &desc.transform(FontTransform::Rotate270), (22, top + side / 2))
            .map_err(draw_err)?;

        draw_colorbar(root, (left + side + 40, top, 26, side.min(500)), &scale, "fraction of true class")?;
        Ok(())
    }
}
