//! Sweep plots (plotters): each requested statistic against L/n, one series per width with error
//! bars (± 1 stderr), and the theory curve per width (thin, same colour) where theory has a value.
//! PNG or SVG by the file extension. The font is bundled (assets/fonts, DejaVu Sans) so plots
//! render the same on a machine without fonts.

use crate::sweep::SweepResult;
use anyhow::{bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// One series: width → [(L/n, estimate, stderr, theory)].
type Series = Vec<(usize, Vec<(f64, f64, f64, Option<f64>)>)>;

fn series(result: &SweepResult, obs: &str, stat: &str) -> Series {
    let mut out: Series = Vec::new();
    for p in &result.points {
        let Some(e) = p.report.observables.get(obs).and_then(|s| s.get(stat)) else {
            continue;
        };
        if !e.estimate.is_finite() {
            continue;
        }
        let row = (p.depth_over_width, e.estimate, e.stderr, e.theory);
        match out.iter_mut().find(|(w, _)| *w == p.width) {
            Some((_, v)) => v.push(row),
            None => out.push((p.width, vec![row])),
        }
    }
    for (_, v) in &mut out {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

/// Plots `stats` ("observable:statistic", default `output[0]:excess_kurtosis`) of a sweep.
pub fn plot_sweep(result: &SweepResult, stats: &[String], path: &Path) -> Result<()> {
    register_font();
    let stats: Vec<String> = if stats.is_empty() {
        vec!["output[0]:excess_kurtosis".to_string()]
    } else {
        stats.to_vec()
    };
    let mut panels = Vec::new();
    for s in &stats {
        let (obs, stat) = s
            .rsplit_once(':')
            .with_context(|| format!("--plot-stat '{s}': expected OBSERVABLE:STATISTIC"))?;
        let data = series(result, obs, stat);
        if data.is_empty() {
            bail!("--plot-stat '{s}': the sweep has no finite estimates of it");
        }
        panels.push((obs.to_string(), stat.to_string(), data));
    }
    let size = (900u32, 420 * panels.len() as u32);
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let tmp = crate::output::temp_path(path);
    let tmp = tmp.with_extension(&ext);
    let drawn = match ext.as_str() {
        "png" => draw(BitMapBackend::new(&tmp, size).into_drawing_area(), &panels),
        "svg" => draw(SVGBackend::new(&tmp, size).into_drawing_area(), &panels),
        _ => bail!("--plot {}: expected a .png or .svg file", path.display()),
    };
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[(String, String, Series)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, (obs, stat, data)) in areas.iter().zip(panels) {
        let mut xs = (f64::INFINITY, f64::NEG_INFINITY);
        let mut ys = (f64::INFINITY, f64::NEG_INFINITY);
        for (_, v) in data {
            for &(x, y, e, t) in v {
                xs = (xs.0.min(x), xs.1.max(x));
                let e = if e.is_finite() { e } else { 0.0 };
                ys = (ys.0.min(y - e), ys.1.max(y + e));
                if let Some(t) = t.filter(|t| t.is_finite()) {
                    ys = (ys.0.min(t), ys.1.max(t));
                }
            }
        }
        let xpad = ((xs.1 - xs.0) * 0.05).max(1e-3);
        let ypad = ((ys.1 - ys.0) * 0.08).max(1e-9 + ys.1.abs() * 0.01);
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{stat} of {obs} against L/n"), ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(72)
            .build_cartesian_2d((xs.0 - xpad)..(xs.1 + xpad), (ys.0 - ypad)..(ys.1 + ypad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("L/n (depth / width)")
            .y_desc(stat.as_str())
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(err)?;
        let mut theory_labelled = false;
        for (i, (width, v)) in data.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let theory: Vec<(f64, f64)> = v
                .iter()
                .filter_map(|&(x, _, _, t)| t.filter(|t| t.is_finite()).map(|t| (x, t)))
                .collect();
            if theory.len() >= 2 {
                let s = chart
                    .draw_series(DashedLineSeries::new(theory, 6, 4, color.stroke_width(1)))
                    .map_err(err)?;
                if !theory_labelled {
                    s.label("theory (dashed)").legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1))
                    });
                    theory_labelled = true;
                }
            }
            chart
                .draw_series(LineSeries::new(
                    v.iter().map(|&(x, y, _, _)| (x, y)),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("n = {width}"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(v.iter().filter(|p| p.2.is_finite()).map(|&(x, y, e, _)| {
                    ErrorBar::new_vertical(x, y - e, y, y + e, color.filled(), 8)
                }))
                .map_err(err)?;
            chart
                .draw_series(
                    v.iter()
                        .map(|&(x, y, _, _)| Circle::new((x, y), 3, color.filled())),
                )
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}
