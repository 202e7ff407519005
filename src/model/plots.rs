//! ROC and calibration plots as PNG (plotters, bitmap backend). Text uses plotters' `ttf`
//! feature (system fonts via fontconfig; build needs libfontconfig1-dev and libfreetype-dev,
//! runtime needs any sans-serif font, e.g. fonts-dejavu-core).

use std::path::Path;

use plotters::prelude::*;

use super::metrics::{auroc, calibration_bins, roc_curve};
use super::ModelError;

fn err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> ModelError {
    move |e| ModelError::Plot(what, e.to_string())
}

/// ROC curves of the model and of the LACE index on the same outcomes.
pub fn roc_png(
    path: &Path,
    model: &[f64],
    lace: &[f64],
    labels: &[bool],
) -> Result<(), ModelError> {
    let e = err("ROC plot");
    let root = BitMapBackend::new(path, (640, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("ROC, test split", ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("false positive rate")
        .y_desc("true positive rate")
        .draw()
        .map_err(&e)?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.3)))
        .map_err(&e)?;
    chart
        .draw_series(LineSeries::new(
            roc_curve(model, labels),
            BLUE.stroke_width(2),
        ))
        .map_err(&e)?
        .label(format!("model AUROC {:.3}", auroc(model, labels)))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            roc_curve(lace, labels),
            RED.stroke_width(2),
        ))
        .map_err(&e)?
        .label(format!("LACE AUROC {:.3}", auroc(lace, labels)))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(&e)?;
    root.present().map_err(&e)?;
    Ok(())
}

/// Calibration plot: mean predicted vs observed rate in 10 quantile bins.
pub fn calibration_png(path: &Path, probs: &[f64], labels: &[bool]) -> Result<(), ModelError> {
    let e = err("calibration plot");
    let bins = calibration_bins(probs, labels, 10);
    let hi = bins
        .iter()
        .map(|b| b.0.max(b.1))
        .fold(0.05f64, f64::max)
        .min(1.0)
        * 1.1;
    let root = BitMapBackend::new(path, (640, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Calibration, test split (deciles)", ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..hi, 0f64..hi)
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("mean predicted probability")
        .y_desc("observed 30-day readmission rate")
        .draw()
        .map_err(&e)?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (hi, hi)], BLACK.mix(0.3)))
        .map_err(&e)?;
    chart
        .draw_series(LineSeries::new(
            bins.iter().map(|b| (b.0, b.1)),
            BLUE.stroke_width(2),
        ))
        .map_err(&e)?;
    chart
        .draw_series(
            bins.iter()
                .map(|b| Circle::new((b.0, b.1), 4, BLUE.filled())),
        )
        .map_err(&e)?;
    root.present().map_err(&e)?;
    Ok(())
}
