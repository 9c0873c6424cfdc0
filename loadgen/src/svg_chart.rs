//! Line charts drawn as inline SVG: axes, grid, tick labels, one polyline per
//! series (broken where a point is not finite, so that a gap in the data is a
//! gap in the line), bands behind them (phases, fault windows) and a legend.
//! [`steps`] turns buckets into the corners of a step line. Pure: data in,
//! markup out, no scripts or links.
//!
//! The x axis is linear, or the *percentile* scale of HdrHistogram's plotter:
//! a percentile `p` is placed at `log10(1 / (1 - p))`, so 0%, 90%, 99%,
//! 99.9%, … are evenly spaced and the tail gets the room.

use std::fmt::Write as _;

/// How x values are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XScale {
    /// x as given.
    Linear,
    /// x is a percentile as a fraction in `[0, 1)`, placed on a log scale of `1 / (1 - p)`.
    Percentile,
}

/// A stretch of the x axis marked behind the lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Where it starts, in data units.
    pub from: f64,
    /// Where it ends.
    pub to: f64,
    /// Written inside the plot at its start.
    pub label: String,
    /// How it is drawn.
    pub kind: BandKind,
}

/// What a band stands for, which decides how it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandKind {
    /// A phase: a dashed line where it starts, its name at the top, grey when `shaded` (a warmup).
    Phase {
        /// Shade it (a phase that is not recorded).
        shaded: bool,
    },
    /// A fault window: red, its label under the phase names, clear of lines near zero.
    Fault,
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// Its stroke colour (CSS).
    pub color: &'static str,
    /// Dashed rather than solid.
    pub dashed: bool,
    /// Its points in data units, in x order; a point that is not finite breaks the line.
    pub points: Vec<(f64, f64)>,
}

/// A chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Shown above the plot.
    pub title: String,
    /// Under the x axis.
    pub x_label: String,
    /// Beside the y axis.
    pub y_label: String,
    /// How x values are placed.
    pub x_scale: XScale,
    /// The lines.
    pub series: Vec<Series>,
    /// Stretches of the x axis marked behind the lines (linear scale only).
    pub bands: Vec<Band>,
}

/// The corners of a step line through `buckets` of `(from, to, value)`: flat
/// over each bucket; a bucket without a value (`None`) is a gap.
pub fn steps(buckets: impl IntoIterator<Item = (f64, f64, Option<f64>)>) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = Vec::new();
    // The end of the bucket drawn last, unless a bucket without a value came after it.
    let mut joined_at: Option<f64> = None;
    for (from, to, value) in buckets {
        match value {
            Some(y) => {
                // Adjacent buckets join with a vertical; anything else starts afresh.
                let adjacent = joined_at.is_some_and(|end| (end - from).abs() <= 1e-9);
                if !points.is_empty() && !adjacent {
                    points.push((f64::NAN, f64::NAN));
                }
                points.push((from, y));
                points.push((to, y));
                joined_at = Some(to);
            }
            None => joined_at = None,
        }
    }
    points
}

const WIDTH: f64 = 860.0;
/// The plot's height; the whole chart adds the title, legend rows and axis labels.
const PLOT_HEIGHT: f64 = 264.0;
const LEFT: f64 = 76.0;
const RIGHT: f64 = 40.0;
/// Above the legend: the title.
const TITLE_HEIGHT: f64 = 36.0;
const LEGEND_ROW: f64 = 18.0;
const BOTTOM: f64 = 56.0;
/// The highest percentile decade drawn: 99.99999%.
const MAX_DECADES: f64 = 7.0;

/// The chart as an `<svg>` element.
pub fn render(chart: &Chart) -> String {
    let legend = legend_layout(&chart.series);
    let rows = legend.iter().map(|item| item.2).max().map_or(0, |r| r + 1);
    const TOP_GAP: f64 = 10.0;
    let top = TITLE_HEIGHT + LEGEND_ROW * rows as f64 + TOP_GAP;
    let height = top + PLOT_HEIGHT + BOTTOM;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(&chart.title));
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        WIDTH / 2.0,
        escape(&chart.title)
    );
    let points: Vec<(f64, f64)> = chart
        .series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .map(|&(x, y)| (place_x(chart.x_scale, x), y))
        })
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, PLOT_HEIGHT);
    if points.is_empty() {
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#666">no data</text>"##,
            LEFT + plot_w / 2.0,
            top + plot_h / 2.0
        );
        svg.push_str("</svg>\n");
        return svg;
    }
    let x_ticks = match chart.x_scale {
        XScale::Linear => {
            let band_ends = chart.bands.iter().flat_map(|b| [b.from, b.to]);
            let (lo, hi) = bounds(points.iter().map(|p| p.0).chain(band_ends));
            // The axis ends with the data (a run of 6.01 s is not drawn to 8 s).
            let mut ticks: Vec<f64> = nice_ticks(lo, hi)
                .into_iter()
                .filter(|&t| t <= hi + 1e-9)
                .collect();
            if ticks.len() < 2 {
                ticks.push(hi);
            }
            ticks
        }
        XScale::Percentile => {
            let hi = points.iter().map(|p| p.0).fold(0.0, f64::max);
            // Float noise must not add a decade: log10(1 / 0.001) is 3.0000000000000004.
            let decades = (hi - 1e-9).ceil().clamp(2.0, MAX_DECADES);
            (0..=decades as u32).map(f64::from).collect()
        }
    };
    let (y_lo, y_hi) = bounds(points.iter().map(|p| p.1));
    let y_ticks = nice_ticks(y_lo.min(0.0), y_hi);
    // On a linear axis the data may end past the last round tick.
    let data_end = match chart.x_scale {
        XScale::Linear => points
            .iter()
            .map(|p| p.0)
            .chain(chart.bands.iter().map(|b| b.to))
            .fold(f64::NEG_INFINITY, f64::max),
        XScale::Percentile => f64::NEG_INFINITY,
    };
    let (x_min, x_max) = (x_ticks[0], x_ticks[x_ticks.len() - 1].max(data_end));
    let (y_min, y_max) = (y_ticks[0], y_ticks[y_ticks.len() - 1]);
    let px = |x: f64| LEFT + (x - x_min) / (x_max - x_min) * plot_w;
    let py = |y: f64| top + plot_h - (y - y_min) / (y_max - y_min) * plot_h;

    if chart.x_scale == XScale::Linear {
        for band in &chart.bands {
            let (from, to) = (band.from.max(x_min), band.to.min(x_max));
            if from.is_nan() || to.is_nan() || from > to {
                continue;
            }
            // A window too short to see is still drawn 2 px wide.
            let (x0, width) = (px(from), (px(to) - px(from)).max(2.0));
            let label = escape(&band.label);
            match band.kind {
                BandKind::Phase { shaded } => {
                    if shaded {
                        let _ = writeln!(
                            svg,
                            r##"<rect x="{x0:.1}" y="{top}" width="{width:.1}" height="{plot_h}" fill="#e8e8e8"><title>{label}</title></rect>"##
                        );
                    }
                    if from > x_min {
                        let _ = writeln!(
                            svg,
                            r##"<line x1="{x0:.1}" y1="{top}" x2="{x0:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="3 3"/>"##,
                            top + plot_h
                        );
                    }
                    let _ = writeln!(
                        svg,
                        r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#555" stroke="#fff" stroke-width="3" paint-order="stroke">{label}</text>"##,
                        x0 + 4.0,
                        top + 14.0
                    );
                }
                BandKind::Fault => {
                    let _ = writeln!(
                        svg,
                        r##"<rect x="{x0:.1}" y="{top}" width="{width:.1}" height="{plot_h}" fill="#e74c3c" fill-opacity="0.16" stroke="#e74c3c" stroke-opacity="0.5"><title>{label}</title></rect>"##
                    );
                    let _ = writeln!(
                        svg,
                        r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#a93226" stroke="#fff" stroke-width="3" paint-order="stroke">{label}</text>"##,
                        x0 + 4.0,
                        top + 30.0
                    );
                }
            }
        }
    }
    svg.push_str(r##"<g stroke="#ddd" stroke-width="1">"##);
    svg.push('\n');
    for &x in &x_ticks {
        let _ = writeln!(
            svg,
            r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1:.1}"/>"#,
            px(x),
            top + plot_h
        );
    }
    for &y in &y_ticks {
        let _ = writeln!(
            svg,
            r#"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}"/>"#,
            py(y),
            LEFT + plot_w
        );
    }
    svg.push_str("</g>\n");
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    for &x in &x_ticks {
        let label = match chart.x_scale {
            XScale::Linear => number(x),
            XScale::Percentile => percentile_label(x),
        };
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            px(x),
            top + plot_h + 18.0,
            escape(&label)
        );
    }
    for &y in &y_ticks {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            py(y) + 4.0,
            number(y)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        height - 12.0,
        escape(&chart.x_label)
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        top + plot_h / 2.0,
        escape(&chart.y_label)
    );
    for series in &chart.series {
        let dash = if series.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        // Each run of finite points is one polyline: a gap in the data stays a gap.
        let placed: Vec<Option<String>> = series
            .points
            .iter()
            .map(|&(x, y)| (place_x(chart.x_scale, x), y))
            .map(|(x, y)| {
                (x.is_finite() && y.is_finite()).then(|| format!("{:.1},{:.1}", px(x), py(y)))
            })
            .collect();
        for run in placed.split(Option::is_none) {
            let coords: Vec<&str> = run.iter().flatten().map(String::as_str).collect();
            if coords.is_empty() {
                continue;
            }
            let _ = writeln!(
                svg,
                r#"<polyline fill="none" stroke="{}" stroke-width="1.8" stroke-linejoin="round"{dash} points="{}"><title>{}</title></polyline>"#,
                series.color,
                coords.join(" "),
                escape(&series.name)
            );
        }
    }
    // The legend sits in rows between the title and the plot, clear of every line.
    for (series, &(x, _, row)) in chart.series.iter().zip(&legend) {
        let y = TITLE_HEIGHT + LEGEND_ROW * row as f64 + 6.0;
        let dash = if series.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2.5"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 24.0,
            series.color,
            x + 30.0,
            y + 4.0,
            escape(&series.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Each legend entry's x, width and row: left to right, wrapping before the right edge.
fn legend_layout(series: &[Series]) -> Vec<(f64, f64, usize)> {
    let mut layout = Vec::with_capacity(series.len());
    let (mut x, mut row) = (LEFT, 0);
    for s in series {
        let width = 48.0 + 7.0 * s.name.chars().count() as f64;
        if x > LEFT && x + width > WIDTH - RIGHT {
            x = LEFT;
            row += 1;
        }
        layout.push((x, width, row));
        x += width;
    }
    layout
}

/// Where `x` goes on `scale`, in axis units (decades for percentiles).
fn place_x(scale: XScale, x: f64) -> f64 {
    match scale {
        XScale::Linear => x,
        XScale::Percentile => (1.0 / (1.0 - x.clamp(0.0, 1.0))).log10().min(MAX_DECADES),
    }
}

/// The percentile at `decades` on the percentile scale: 0 → `0%`, 1 → `90%`, 3 → `99.9%`.
pub fn percentile_label(decades: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-decades));
    let digits = (decades.round() as usize).saturating_sub(2);
    format!("{p:.digits$}%")
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// Round tick values covering `[lo, hi]`: steps of 1, 2 or 5 × 10ⁿ, about 5 to 10 of them.
pub fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = if hi > lo { hi - lo } else { hi.abs().max(1.0) };
    let raw = span / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    let start = (lo / step).floor() * step;
    let mut ticks = vec![start];
    while *ticks.last().expect("not empty") < hi || ticks.len() < 2 {
        let next = start + step * ticks.len() as f64;
        ticks.push(next);
    }
    ticks
}

/// A tick value without needless decimals: `5`, `0.25`, `1200`.
fn number(v: f64) -> String {
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// `text` safe inside an HTML or SVG element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(x_scale: XScale, points: Vec<(f64, f64)>) -> Chart {
        Chart {
            title: "A <b> & c".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_scale,
            series: vec![Series {
                name: "corrected".into(),
                color: "#c00",
                dashed: false,
                points,
            }],
            bands: Vec::new(),
        }
    }

    #[test]
    fn percentile_labels_follow_hdrhistograms_plotter() {
        let labels: Vec<String> = (0..6).map(|d| percentile_label(f64::from(d))).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
    }

    #[test]
    fn nice_ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 9.3), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(
            nice_ticks(0.0, 1.0),
            [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let ticks = nice_ticks(0.0, 0.0);
        assert!(ticks.len() >= 2 && ticks[0] == 0.0, "{ticks:?}");
        assert_eq!(number(0.6000000000000001), "0.6");
        assert_eq!(number(1200.0), "1200");
    }

    #[test]
    fn the_percentile_axis_is_labelled_and_the_tail_placed_by_decade() {
        let svg = render(&chart(
            XScale::Percentile,
            vec![(0.0, 1.0), (0.9, 2.0), (0.999, 5.0)],
        ));
        for label in [">0%<", ">90%<", ">99%<", ">99.9%<"] {
            assert!(svg.contains(label), "{label}: {svg}");
        }
        assert!(
            !svg.contains(">99.99%<"),
            "three decades of data, three on the axis"
        );
        // 0.999 is three decades: the right edge of the plot.
        let right = format!("{:.1},", WIDTH - RIGHT);
        assert!(svg.contains(&right), "{svg}");
        assert!((place_x(XScale::Percentile, 0.99) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_chart_escapes_its_text_and_draws_a_line_and_legend_per_series() {
        let svg = render(&chart(XScale::Linear, vec![(0.0, 1.0), (10.0, 3.0)]));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("A &lt;b&gt; &amp; c"), "{svg}");
        assert!(!svg.contains("<b>"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains(">corrected</text>"), "the legend names it");
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn a_gap_splits_the_line_and_bands_are_drawn_behind_it() {
        let mut c = chart(
            XScale::Linear,
            vec![
                (0.0, 1.0),
                (1.0, 1.0),
                (f64::NAN, f64::NAN),
                (2.0, 3.0),
                (3.0, 3.0),
            ],
        );
        c.bands = vec![
            Band {
                from: 0.0,
                to: 1.0,
                label: "warmup".into(),
                kind: BandKind::Phase { shaded: true },
            },
            Band {
                from: 1.0,
                to: 3.0,
                label: "main".into(),
                kind: BandKind::Phase { shaded: false },
            },
            Band {
                from: 2.0,
                to: 2.0,
                label: "fault: stall".into(),
                kind: BandKind::Fault,
            },
        ];
        let svg = render(&c);
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(
            svg.matches(r##"fill="#e8e8e8""##).count(),
            1,
            "one shaded phase"
        );
        assert_eq!(
            svg.matches(r#"stroke-dasharray="3 3""#).count(),
            1,
            "one phase boundary"
        );
        assert!(
            svg.contains(r##"width="2.0" height="264" fill="#e74c3c""##),
            "a short window stays visible: {svg}"
        );
        assert!(svg.contains(">fault: stall</text>") && svg.contains(">warmup</text>"));
        assert!(
            svg.find("#e8e8e8").unwrap() < svg.find("<polyline").unwrap(),
            "behind the lines"
        );
    }

    #[test]
    fn a_long_legend_wraps_into_rows_and_the_chart_grows() {
        let mut c = chart(XScale::Linear, vec![(0.0, 1.0)]);
        let one_row = render(&c);
        c.series = (0..8)
            .map(|i| Series {
                name: format!("phase number {i} corrected"),
                color: "#000",
                dashed: false,
                points: vec![(0.0, 1.0)],
            })
            .collect();
        let rows = render(&c);
        let height = |svg: &str| -> f64 {
            let h = svg.split("height=\"").nth(1).unwrap();
            h[..h.find('"').unwrap()].parse().unwrap()
        };
        assert!(height(&rows) > height(&one_row), "{rows}");
        for line in rows
            .lines()
            .filter(|l| l.contains("<text x=") && l.contains("phase number"))
        {
            let x: f64 = line
                .split("<text x=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(x < WIDTH - RIGHT, "{line}");
        }
    }

    #[test]
    fn a_chart_without_points_says_so() {
        let svg = render(&chart(XScale::Linear, Vec::new()));
        assert!(svg.contains("no data"));
        assert!(!svg.contains("<polyline"));
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }
}
