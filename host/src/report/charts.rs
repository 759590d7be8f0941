//! The report's charts, drawn once per backend: SVG (text left to the
//! viewer's sans-serif font) and PNG (text rasterised from the embedded
//! DejaVu Sans through ab_glyph, so no system font library is needed).

use super::RunRecords;
use super::series::{FinalBars, MethodTrajectory, StepCurve, step_curves, trajectories};
use crate::experiment::{Method, ScoreMode};
use anyhow::{Context, anyhow};
use derl_env_api::Split;
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::OnceLock;

/// DejaVu Sans 2.37 (see `host/assets/fonts/LICENSE-DejaVu.txt`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The family every text of the charts uses.
const FAMILY: &str = "sans-serif";

/// Registers the embedded font as plotters' `sans-serif` (once per process).
fn register_font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    anyhow::ensure!(registered, "the embedded chart font cannot be loaded");
    Ok(())
}

/// A chart that can be drawn on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    /// Draws the whole chart on `root`.
    ///
    /// # Errors
    /// When the backend fails.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>;
}

/// `figure` as an SVG document.
///
/// # Errors
/// When the chart cannot be drawn.
pub fn svg(figure: &impl Figure) -> anyhow::Result<String> {
    register_font()?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, figure.size()).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(drawing)?;
    }
    Ok(text)
}

/// Writes `figure` as a PNG image to `path`, atomically (drawn to a
/// temporary file beside it, then renamed).
///
/// # Errors
/// When the chart cannot be drawn or the file cannot be written.
pub fn png(figure: &impl Figure, path: &Path) -> anyhow::Result<()> {
    register_font()?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("chart");
    // The encoder picks the format from the extension: keep `.png` last.
    let tmp = dir.join(format!(".{name}.tmp{}.png", std::process::id()));
    let result = (|| {
        let root = BitMapBackend::new(&tmp, figure.size()).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(drawing)?;
        drop(root);
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot draw {}", path.display()))
}

fn drawing(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing failed: {error}")
}

/// The colour of a method, the same in every chart: the bundled methods'
/// own, and for any other a colour of a spare palette chosen by its stream.
pub fn method_color(method: Method) -> RGBColor {
    const SPARE: [RGBColor; 4] = [
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    match method.name() {
        "derl" => RGBColor(31, 119, 180),
        "derl_pop" => RGBColor(255, 127, 14),
        "outcome_only" => RGBColor(214, 39, 40),
        "heuristic" => RGBColor(148, 103, 189),
        "evolution" => RGBColor(44, 160, 44),
        "untrained" => RGBColor(127, 127, 127),
        _ => SPARE[(method.stream() % SPARE.len() as u64) as usize],
    }
}

fn split_color(split: Split) -> RGBColor {
    match split {
        Split::Train => RGBColor(186, 176, 172),
        Split::Validation => RGBColor(78, 121, 167),
        Split::Test => RGBColor(242, 142, 43),
        Split::Ood => RGBColor(89, 161, 79),
    }
}

fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font())
}

/// `x` without trailing zeros, with `k` or `M` for thousands and millions.
pub fn compact(x: f64) -> String {
    let (value, suffix) = if x.abs() >= 1e6 {
        (x / 1e6, "M")
    } else if x.abs() >= 1e3 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    format!("{text}{suffix}")
}

/// The label of an integer tick (`""` between integers).
fn integer_tick(x: f64) -> String {
    if (x - x.round()).abs() < 1e-6 {
        format!("{}", x.round())
    } else {
        String::new()
    }
}

/// A score axis fitted to the data: from `min(0, data)` to the highest
/// value (at least 0.1), with a margin.
fn score_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.1f64), |(low, high), v| (low.min(v), high.max(v)));
    let pad = (high - low) * 0.08;
    (low - pad)..(high + pad)
}

/// A message in the middle of an area that has nothing to plot.
fn draw_message<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    message: &str,
) -> anyhow::Result<()> {
    let (width, height) = area.dim_in_pixel();
    let center = (width as i32 / 2, height as i32 / 2);
    let centered = Pos::new(HPos::Center, VPos::Center);
    area.draw(&Text::new(
        caption.to_owned(),
        (center.0, 24),
        font(18).pos(centered),
    ))
    .map_err(drawing)?;
    area.draw(&Text::new(
        message.to_owned(),
        center,
        font(15).color(&RGBColor(90, 90, 90)).pos(centered),
    ))
    .map_err(drawing)?;
    Ok(())
}

/// What the search scores are: `sampled validation success`.
fn score_description(records: &RunRecords) -> String {
    let mode = match records.config.outer.score_mode {
        ScoreMode::Greedy => "greedy",
        ScoreMode::Sampled => "sampled",
    };
    format!("{mode} {} success", records.config.outer.score_split.name())
}

fn unfinished_suffix(records: &RunRecords) -> &'static str {
    if records.finished() {
        ""
    } else {
        " (unfinished)"
    }
}

/// `scores.svg`/`.png`: each search method's best and mean score per outer
/// iteration.
#[derive(Clone, Debug)]
pub struct ScoresFigure {
    title: String,
    y_desc: String,
    empty: String,
    trajectories: Vec<MethodTrajectory>,
}

impl ScoresFigure {
    /// The figure of `records`.
    pub fn of(records: &RunRecords) -> ScoresFigure {
        let empty = if records.config.search_methods().is_empty() {
            "no search method in this run: nothing to plot per iteration".to_owned()
        } else {
            "no outer iteration recorded yet".to_owned()
        };
        ScoresFigure {
            title: format!(
                "{}: search score per outer iteration on {}{}",
                records.config.experiment.name,
                records.config.env.component,
                unfinished_suffix(records)
            ),
            y_desc: format!("program score ({})", score_description(records)),
            empty,
            trajectories: trajectories(&records.trajectory, &records.config.experiment.methods),
        }
    }
}

impl Figure for ScoresFigure {
    fn size(&self) -> (u32, u32) {
        (960, 540)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        root.fill(&WHITE).map_err(drawing)?;
        if self.trajectories.is_empty() {
            return draw_message(root, &self.title, &self.empty);
        }
        let last = self
            .trajectories
            .iter()
            .flat_map(|t| t.rows.iter().map(|row| row.iteration + 1))
            .max()
            .unwrap_or(1);
        let y = score_range(
            self.trajectories
                .iter()
                .flat_map(|t| t.rows.iter().flat_map(|row| [row.best, row.mean])),
        );
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(22))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(64)
            .build_cartesian_2d(0.5..f64::from(last) + 0.5, y)
            .map_err(drawing)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc("outer iteration")
            .y_desc(&self.y_desc)
            .x_labels(last.min(12) as usize)
            .x_label_formatter(&|x| integer_tick(*x));
        draw_mesh(&mut mesh)?;
        for trajectory in &self.trajectories {
            let color = method_color(trajectory.method);
            chart
                .draw_series(
                    LineSeries::new(trajectory.best(), color.stroke_width(3)).point_size(4),
                )
                .map_err(drawing)?
                .label(format!("{} best", trajectory.method))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                });
            chart
                .draw_series(DashedLineSeries::new(
                    trajectory.mean(),
                    6,
                    4,
                    color.stroke_width(1),
                ))
                .map_err(drawing)?
                .label(format!("{} mean (dashed)", trajectory.method))
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (8, 0)], color.stroke_width(1))
                        + PathElement::new(vec![(14, 0), (24, 0)], color.stroke_width(1))
                });
            chart
                .draw_series(
                    trajectory
                        .mean()
                        .into_iter()
                        .map(|point| Circle::new(point, 3, color.stroke_width(1))),
                )
                .map_err(drawing)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    }
}

/// `success.svg`/`.png`: the final evaluation per method and split (left),
/// and each search method's best score so far against the environment
/// steps it spent (right).
#[derive(Clone, Debug)]
pub struct SuccessFigure {
    title: String,
    bars: Option<FinalBars>,
    final_seeds: u32,
    curves: Vec<StepCurve>,
    curve_desc: String,
    curves_empty: String,
}

impl SuccessFigure {
    /// The figure of `records`.
    pub fn of(records: &RunRecords) -> SuccessFigure {
        let curves_empty = if records.config.search_methods().is_empty() {
            "no search method in this run"
        } else {
            "no search inner loop recorded yet"
        };
        SuccessFigure {
            title: format!(
                "{}: success per method on {}{}",
                records.config.experiment.name,
                records.config.env.component,
                unfinished_suffix(records)
            ),
            bars: records.summary.as_ref().map(FinalBars::of),
            final_seeds: records
                .summary
                .as_ref()
                .map_or(records.config.final_eval.seeds, |s| s.final_seeds),
            curves: step_curves(&records.metrics, &records.config.experiment.methods),
            curve_desc: format!("best score so far ({})", score_description(records)),
            curves_empty: curves_empty.to_owned(),
        }
    }

    fn draw_bars<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let caption = format!(
            "final evaluation: mean ± std over {} fresh policies",
            self.final_seeds
        );
        let Some(bars) = self.bars.as_ref().filter(|b| !b.methods.is_empty()) else {
            return draw_message(
                area,
                &caption,
                "not run yet: the run is unfinished (derl run --resume finishes it)",
            );
        };
        let methods = bars.methods.len();
        // Headroom above the highest whisker for the legend.
        let high = bars.top().max(0.1) * 1.4;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, font(17))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5..methods as f64 - 0.5, 0.0..high)
            .map_err(drawing)?;
        let names: Vec<&'static str> = bars.methods.iter().map(|(m, _)| m.name()).collect();
        let method_tick = |x: &f64| {
            let index = x.round();
            if (x - index).abs() < 1e-6 && index >= 0.0 {
                names.get(index as usize).copied().unwrap_or("").to_owned()
            } else {
                String::new()
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.disable_x_mesh()
            .x_desc("method")
            .y_desc("success rate")
            .x_labels(methods)
            .x_label_formatter(&method_tick);
        draw_mesh(&mut mesh)?;
        let splits = bars.splits.len().max(1);
        let width = 0.8 / splits as f64;
        for (j, &split) in bars.splits.iter().enumerate() {
            let color = split_color(split);
            let slot = |i: usize| {
                let left = i as f64 - 0.4 + j as f64 * width;
                (left + width * 0.08, left + width * 0.92)
            };
            let valid: Vec<(usize, f64, f64)> = bars
                .methods
                .iter()
                .enumerate()
                .filter_map(|(i, (_, values))| values[j].map(|(mean, std)| (i, mean, std)))
                .collect();
            chart
                .draw_series(valid.iter().map(|&(i, mean, _)| {
                    let (x0, x1) = slot(i);
                    Rectangle::new([(x0, 0.0), (x1, mean)], color.filled())
                }))
                .map_err(drawing)?
                .label(split.name())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
                });
            chart
                .draw_series(valid.iter().flat_map(|&(i, mean, std)| {
                    let (x0, x1) = slot(i);
                    let center = (x0 + x1) / 2.0;
                    let cap = (x1 - x0) / 4.0;
                    let (low, high) = ((mean - std).max(0.0), mean + std);
                    let style = BLACK.stroke_width(1);
                    [
                        PathElement::new(vec![(center, low), (center, high)], style),
                        PathElement::new(vec![(center - cap, low), (center + cap, low)], style),
                        PathElement::new(vec![(center - cap, high), (center + cap, high)], style),
                    ]
                }))
                .map_err(drawing)?;
            chart
                .draw_series(
                    bars.methods
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, values))| values[j].is_none())
                        .map(|(i, _)| {
                            let (x0, x1) = slot(i);
                            Text::new(
                                "×",
                                ((x0 + x1) / 2.0, high * 0.03),
                                font(14)
                                    .color(&RED)
                                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
                            )
                        }),
                )
                .map_err(drawing)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }

    fn draw_curves<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let caption = "search: best score against environment steps spent";
        if self.curves.is_empty() {
            return draw_message(area, caption, &self.curves_empty);
        }
        let steps = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0))
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let y = score_range(
            self.curves
                .iter()
                .flat_map(|c| c.points.iter().map(|p| p.1)),
        );
        let mut chart = ChartBuilder::on(area)
            .caption(caption, font(17))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..steps * 1.04, y)
            .map_err(drawing)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc("environment steps (cumulative, search)")
            .y_desc(&self.curve_desc)
            .x_labels(8)
            .x_label_formatter(&|x| compact(*x));
        draw_mesh(&mut mesh)?;
        for curve in &self.curves {
            let color = method_color(curve.method);
            chart
                .draw_series(LineSeries::new(
                    stairs(&curve.points),
                    color.stroke_width(2),
                ))
                .map_err(drawing)?
                .label(curve.method.name())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    curve
                        .points
                        .iter()
                        .map(|&(x, y)| Circle::new((x as f64, y), 3, color.filled())),
                )
                .map_err(drawing)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    }
}

/// Draws a chart's grid and axes in the look every chart shares: 8 value ticks with two
/// decimals, the report's fonts, light grey grid lines.
fn draw_mesh<DB: DrawingBackend>(
    mesh: &mut MeshStyle<'_, '_, RangedCoordf64, RangedCoordf64, DB>,
) -> anyhow::Result<()> {
    mesh.y_labels(8)
        .y_label_formatter(&|y| format!("{y:.2}"))
        .label_style(font(14))
        .axis_desc_style(font(16))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(WHITE)
        .draw()
        .map_err(drawing)
}

/// Draws the legend of a chart's labelled series at `position`.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font(font(14))
        .draw()
        .map_err(drawing)
}

/// A best-so-far curve as a staircase: flat until the next improvement.
fn stairs(points: &[(u64, f64)]) -> Vec<(f64, f64)> {
    let mut line: Vec<(f64, f64)> = Vec::with_capacity(points.len() * 2);
    for &(x, y) in points {
        let x = x as f64;
        if let Some(&(_, previous)) = line.last()
            && previous != y
        {
            line.push((x, previous));
        }
        line.push((x, y));
    }
    line
}

impl Figure for SuccessFigure {
    fn size(&self) -> (u32, u32) {
        (1280, 540)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        root.fill(&WHITE).map_err(drawing)?;
        let body = root.titled(&self.title, font(22)).map_err(drawing)?;
        let (width, _) = body.dim_in_pixel();
        let (left, right) = body.split_horizontally(width * 9 / 20);
        self.draw_bars(&left)?;
        self.draw_curves(&right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_numbers_drop_trailing_zeros() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(250.0), "250");
        assert_eq!(compact(2500.0), "2.5k");
        assert_eq!(compact(12_000.0), "12k");
        assert_eq!(compact(1_250_000.0), "1.25M");
    }

    #[test]
    fn integer_ticks_only() {
        assert_eq!(integer_tick(3.0), "3");
        assert_eq!(integer_tick(2.5), "");
    }

    #[test]
    fn score_ranges_cover_zero_and_the_data() {
        let range = score_range([0.2, 0.4].into_iter());
        assert!(
            range.start < 0.0 && range.end > 0.4 && range.end < 0.5,
            "{range:?}"
        );
        let range = score_range([-1.0, f64::NAN, 0.5].into_iter());
        assert!(
            range.start < -1.0 && range.end > 0.5 && range.end < 0.7,
            "{range:?}"
        );
        let range = score_range([0.0, 0.0].into_iter());
        assert!(range.start < 0.0 && range.end > 0.1, "{range:?}");
    }

    #[test]
    fn stairs_hold_the_best_until_it_improves() {
        assert_eq!(
            stairs(&[(10, 0.25), (20, 0.25), (30, 0.5)]),
            vec![(10.0, 0.25), (20.0, 0.25), (30.0, 0.25), (30.0, 0.5)]
        );
        assert!(stairs(&[]).is_empty());
    }

    #[test]
    fn the_embedded_font_registers() {
        register_font().unwrap();
        register_font().unwrap();
    }
}
