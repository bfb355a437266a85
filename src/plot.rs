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

/// A statistic of one point: a reported one, or `relative_variance` = variance / mean^2 (the
/// NTK fluctuation ratio E[Θ²]/E[Θ]² − 1 of Hanin & Nica), whose error bar propagates the two
/// standard errors as if independent (a plotting aid, not a reported estimate).
fn point_stat(r: &crate::output::Report, obs: &str, stat: &str) -> Option<(f64, f64, Option<f64>)> {
    let stats = r.observables.get(obs)?;
    if stat == "relative_variance" {
        let (v, m) = (stats.get("variance")?, stats.get("mean")?);
        let rv = v.estimate / (m.estimate * m.estimate);
        let rel = ((v.stderr / v.estimate).powi(2) + (2.0 * m.stderr / m.estimate).powi(2)).sqrt();
        // Only exact predictions combine into a prediction of the ratio (the infinite-width
        // variance 0 is not a useful curve here).
        let exact = |e: &crate::output::Entry| e.theory_kind == Some("exact");
        let theory = match (v.theory, m.theory) {
            (Some(tv), Some(tm)) if tm != 0.0 && exact(v) && exact(m) => Some(tv / (tm * tm)),
            _ => None,
        };
        return Some((rv, rv.abs() * rel, theory));
    }
    let e = stats.get(stat)?;
    Some((e.estimate, e.stderr, e.theory))
}

/// The horizontal axis of a sweep plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    /// L/n (the default: where curves of different widths should collapse).
    Ratio,
    /// L.
    Depth,
    /// N = n L, the number of hidden neurons.
    Neurons,
}

impl XAxis {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "ratio" => Ok(XAxis::Ratio),
            "depth" => Ok(XAxis::Depth),
            "neurons" => Ok(XAxis::Neurons),
            _ => bail!("--plot-x must be ratio, depth or neurons, got '{s}'"),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            XAxis::Ratio => "L/n (depth / width)",
            XAxis::Depth => "L (depth)",
            XAxis::Neurons => "N = n L (hidden neurons)",
        }
    }

    fn short(&self) -> &'static str {
        match self {
            XAxis::Ratio => "L/n",
            XAxis::Depth => "L",
            XAxis::Neurons => "N",
        }
    }
}

fn series(result: &SweepResult, obs: &str, stat: &str, x: XAxis) -> Series {
    let mut out: Series = Vec::new();
    for p in &result.points {
        let Some((estimate, stderr, theory)) = point_stat(&p.report, obs, stat) else {
            continue;
        };
        if !estimate.is_finite() {
            continue;
        }
        let xv = match x {
            XAxis::Ratio => p.depth_over_width,
            XAxis::Depth => p.depth as f64,
            XAxis::Neurons => (p.depth * p.width) as f64,
        };
        let row = (xv, estimate, stderr, theory);
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
pub fn plot_sweep(result: &SweepResult, stats: &[String], x: XAxis, path: &Path) -> Result<()> {
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
        let data = series(result, obs, stat, x);
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
        "png" => draw(
            BitMapBackend::new(&tmp, size).into_drawing_area(),
            &panels,
            x,
        ),
        "svg" => draw(SVGBackend::new(&tmp, size).into_drawing_area(), &panels, x),
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
    x: XAxis,
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
            .caption(
                format!("{stat} of {obs} against {}", x.short()),
                ("sans-serif", 22),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(72)
            .build_cartesian_2d((xs.0 - xpad)..(xs.1 + xpad), (ys.0 - ypad)..(ys.1 + ypad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x.label())
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
        // Keep the legend off the data: upper left for rising curves, upper right otherwise.
        let rising = data
            .iter()
            .all(|(_, v)| v.first().map(|f| f.1) <= v.last().map(|l| l.1));
        chart
            .configure_series_labels()
            .position(if rising {
                SeriesLabelPosition::UpperLeft
            } else {
                SeriesLabelPosition::UpperRight
            })
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}
