//! Line charts drawn as inline SVG: axes, grid, tick labels, one polyline per
//! series and a legend. Pure: data in, markup out, no scripts or links.
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

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// Its stroke colour (CSS).
    pub color: &'static str,
    /// Dashed rather than solid.
    pub dashed: bool,
    /// Its points in data units, in x order.
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
}

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 76.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 56.0;
/// The highest percentile decade drawn: 99.99999%.
const MAX_DECADES: f64 = 7.0;

/// The chart as an `<svg>` element.
pub fn render(chart: &Chart) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" font-family="sans-serif" font-size="12">"#
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
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    if points.is_empty() {
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#666">no data</text>"##,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
        svg.push_str("</svg>\n");
        return svg;
    }
    let x_ticks = match chart.x_scale {
        XScale::Linear => {
            let (lo, hi) = bounds(points.iter().map(|p| p.0));
            nice_ticks(lo, hi)
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
    let (x_min, x_max) = (x_ticks[0], x_ticks[x_ticks.len() - 1]);
    let (y_min, y_max) = (y_ticks[0], y_ticks[y_ticks.len() - 1]);
    let px = |x: f64| LEFT + (x - x_min) / (x_max - x_min) * plot_w;
    let py = |y: f64| TOP + plot_h - (y - y_min) / (y_max - y_min) * plot_h;

    svg.push_str(r##"<g stroke="#ddd" stroke-width="1">"##);
    svg.push('\n');
    for &x in &x_ticks {
        let _ = writeln!(
            svg,
            r#"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}"/>"#,
            px(x),
            TOP + plot_h
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
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
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
            TOP + plot_h + 18.0,
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
        HEIGHT - 12.0,
        escape(&chart.x_label)
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        escape(&chart.y_label)
    );
    for series in &chart.series {
        let coords: Vec<String> = series
            .points
            .iter()
            .map(|&(x, y)| (place_x(chart.x_scale, x), y))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        if coords.is_empty() {
            continue;
        }
        let dash = if series.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.8"{dash} points="{}"><title>{}</title></polyline>"#,
            series.color,
            coords.join(" "),
            escape(&series.name)
        );
    }
    // The legend sits in a row between the title and the plot, clear of every line.
    let mut x = LEFT;
    for series in &chart.series {
        let y = TOP - 12.0;
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
        x += 48.0 + 7.0 * series.name.chars().count() as f64;
    }
    svg.push_str("</svg>\n");
    svg
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
