//! `latency.svg`, written by hand: throughput over time and latency by percentile,
//! one line per actor kind.

use std::fmt::Write;

use super::report::GroupSummary;
use super::stats::BUCKET;

const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 300.0;
const MARGIN_LEFT: f64 = 70.0;
const MARGIN_RIGHT: f64 = 40.0;
const MARGIN_TOP: f64 = 40.0;
const MARGIN_BOTTOM: f64 = 45.0;
const COLORS: [(&str, &str); 2] = [("producers", "#1f77b4"), ("consumers", "#ff7f0e")];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A rounded axis maximum above `value` (1, 2, 5 × 10^k).
fn nice_max(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * magnitude)
        .find(|max| *max >= value)
        .unwrap_or(10.0 * magnitude)
}

/// One panel: a frame, y ticks, x ticks (given), a title and lines.
struct Panel {
    top: f64,
    x_max: f64,
    y_max: f64,
}

impl Panel {
    fn x(&self, value: f64) -> f64 {
        MARGIN_LEFT + value / self.x_max * (WIDTH - MARGIN_LEFT - MARGIN_RIGHT)
    }

    fn y(&self, value: f64) -> f64 {
        let height = PANEL_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
        self.top + MARGIN_TOP + height - value.min(self.y_max) / self.y_max * height
    }

    fn frame(
        &self,
        out: &mut String,
        title: &str,
        y_label: &str,
        x_label: &str,
        x_ticks: &[(f64, String)],
    ) {
        let (left, right) = (self.x(0.0), self.x(self.x_max));
        let (bottom, top) = (self.y(0.0), self.y(self.y_max));
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" font-size="15" font-weight="bold">{}</text>"#,
            MARGIN_LEFT,
            self.top + 22.0,
            escape(title)
        );
        let _ = writeln!(
            out,
            r##"<rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
            right - left,
            bottom - top
        );
        for step in 0..=5 {
            let value = self.y_max * f64::from(step) / 5.0;
            let y = self.y(value);
            let _ = writeln!(
                out,
                r##"<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"##,
                left - 6.0,
                y + 4.0,
                format_value(value)
            );
        }
        for (value, label) in x_ticks {
            let x = self.x(*value);
            let _ = writeln!(
                out,
                r##"<line x1="{x}" y1="{bottom}" x2="{x}" y2="{}" stroke="#444"/><text x="{x}" y="{}" font-size="11" text-anchor="middle">{}</text>"##,
                bottom + 5.0,
                bottom + 18.0,
                escape(label)
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text>"#,
            (left + right) / 2.0,
            bottom + 36.0,
            escape(x_label)
        );
        let _ = writeln!(
            out,
            r#"<text x="16" y="{}" font-size="12" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>"#,
            (top + bottom) / 2.0,
            (top + bottom) / 2.0,
            escape(y_label)
        );
    }

    fn line(&self, out: &mut String, points: &[(f64, f64)], color: &str) {
        if points.is_empty() {
            return;
        }
        let mut path = String::new();
        for (x, y) in points {
            let _ = write!(path, "{:.1},{:.1} ", self.x(*x), self.y(*y));
        }
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="1.8"/>"#,
            path.trim_end()
        );
    }
}

fn format_value(value: f64) -> String {
    if value >= 100.0 || value == 0.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// Renders the chart for the measured groups (`None` = not measured).
#[must_use]
pub fn render(
    title: &str,
    producers: Option<&GroupSummary>,
    consumers: Option<&GroupSummary>,
) -> String {
    let groups: Vec<(&str, &str, &GroupSummary)> = [producers, consumers]
        .into_iter()
        .zip(COLORS)
        .filter_map(|(group, (name, color))| group.map(|group| (name, color, group)))
        .collect();
    let height = 2.0 * PANEL_HEIGHT + 30.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);

    // Throughput over time.
    let bucket_s = BUCKET.as_secs_f64();
    let duration = groups
        .iter()
        .map(|(_, _, g)| g.series_mb_per_s.len() as f64 * bucket_s)
        .fold(bucket_s, f64::max);
    let peak =
        groups.iter().flat_map(|(_, _, g)| g.series_mb_per_s.iter().copied()).fold(0.0, f64::max);
    let panel = Panel { top: 0.0, x_max: duration, y_max: nice_max(peak) };
    let ticks: Vec<(f64, String)> = (0..=5)
        .map(|i| {
            let value = duration * f64::from(i) / 5.0;
            (value, format!("{value:.1}"))
        })
        .collect();
    panel.frame(&mut out, &format!("{title}: throughput"), "MB/s", "seconds", &ticks);
    for (_, color, group) in &groups {
        let points: Vec<(f64, f64)> = group
            .series_mb_per_s
            .iter()
            .enumerate()
            .map(|(i, mb)| ((i as f64 + 0.5) * bucket_s, *mb))
            .collect();
        panel.line(&mut out, &points, color);
    }

    // Latency by percentile, on a "nines" axis.
    let nines = |quantile: f64| -(1.0 - quantile).max(1e-5).log10();
    let slowest = groups
        .iter()
        .flat_map(|(_, _, g)| g.quantile_curve.iter().map(|(_, ms)| *ms))
        .fold(0.0, f64::max);
    let panel = Panel { top: PANEL_HEIGHT, x_max: 5.0, y_max: nice_max(slowest) };
    let ticks: Vec<(f64, String)> = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
        .iter()
        .enumerate()
        .map(|(i, label)| (i as f64, (*label).to_owned()))
        .collect();
    panel.frame(
        &mut out,
        &format!("{title}: request latency by percentile"),
        "ms",
        "percentile",
        &ticks,
    );
    for (_, color, group) in &groups {
        let points: Vec<(f64, f64)> =
            group.quantile_curve.iter().map(|(q, ms)| (nines(*q), *ms)).collect();
        panel.line(&mut out, &points, color);
    }

    for (index, (name, color, _)) in groups.iter().enumerate() {
        let x = MARGIN_LEFT + 120.0 * index as f64;
        let y = 2.0 * PANEL_HEIGHT + 12.0;
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="{}" width="14" height="4" fill="{color}"/><text x="{}" y="{}" font-size="12">{name}</text>"#,
            y - 4.0,
            x + 20.0,
            y + 1.0
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::Percentiles;

    fn group() -> GroupSummary {
        GroupSummary {
            actors: 1,
            messages: 10,
            payload_bytes: 10,
            requests: 1,
            duration_s: 1.0,
            mb_per_s: 1.0,
            msg_per_s: 1.0,
            latency_ms: Percentiles::default(),
            failed_actors: 0,
            empty_polls: 0,
            series_mb_per_s: vec![1.0, 3.0, 2.0],
            quantile_curve: vec![(0.0, 0.5), (0.9, 1.0), (0.999, 7.0)],
        }
    }

    #[test]
    fn renders_one_line_per_group_and_panel() {
        let svg = render("pp <tcp>", Some(&group()), Some(&group()));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("pp &lt;tcp&gt;"));
        assert!(svg.contains("producers") && svg.contains("consumers"));
        let only = render("pc", None, Some(&group()));
        assert_eq!(only.matches("<polyline").count(), 2);
        assert!(!only.contains(">producers<"));
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.2), 5.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert_eq!(nice_max(1000.0), 1000.0);
    }
}
