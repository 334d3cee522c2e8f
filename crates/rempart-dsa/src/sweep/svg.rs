//! Bar charts as inline SVG for the reports.
//!
//! Written by hand rather than with a plotting crate: `plotters` lays out
//! text with font metrics, so even its SVG backend needs a TrueType font
//! loaded at run time, while a report must render offline from one
//! self-contained file. Here the browser lays out the text with its own
//! fonts; the charts are horizontal bars (long labels stay readable),
//! stacked by series, with a legend, gridlines and a tooltip per segment.

use super::html::escape;

/// One series of a stacked chart: its name and colour.
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
}

/// One bar: a label and a value per series.
#[derive(Clone, Debug)]
pub struct Bar {
    pub label: String,
    pub values: Vec<u64>,
}

const WIDTH: f64 = 800.0;
const LABEL_WIDTH: f64 = 270.0;
const VALUE_WIDTH: f64 = 70.0;
const ROW: f64 = 24.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 26.0;

/// A horizontal stacked bar chart. `title` becomes the SVG's accessible
/// name; labels longer than 34 characters are shortened (the full label
/// is in the tooltip).
pub fn horizontal_bars(title: &str, series: &[Series], bars: &[Bar]) -> String {
    let plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let height = TOP + BOTTOM + ROW * bars.len().max(1) as f64;
    let max = bars.iter().map(|b| b.values.iter().sum::<u64>()).max().unwrap_or(0).max(1);
    let step = nice_step(max);
    let axis_max = (max.div_ceil(step) * step).max(1) as f64;
    let x = |v: f64| LABEL_WIDTH + plot * v / axis_max;
    let mut s = String::new();
    s.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        escape(title)
    ));
    // Legend.
    let mut lx = LABEL_WIDTH;
    if series.len() > 1 {
        for se in series {
            s.push_str(&format!(
                "<rect x=\"{lx}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"18\" class=\"legend\">{}</text>",
                se.colour,
                lx + 16.0,
                escape(se.name)
            ));
            lx += 24.0 + 7.5 * se.name.chars().count() as f64;
        }
    }
    // Gridlines and axis values.
    let mut tick = 0u64;
    while tick as f64 <= axis_max {
        let gx = x(tick as f64);
        s.push_str(&format!(
            "<line x1=\"{gx:.1}\" y1=\"{TOP}\" x2=\"{gx:.1}\" y2=\"{:.1}\" class=\"grid\"/>\
             <text x=\"{gx:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
            height - BOTTOM,
            height - BOTTOM + 16.0,
            thousands(tick)
        ));
        tick += step;
    }
    if bars.is_empty() {
        s.push_str(&format!("<text x=\"{LABEL_WIDTH}\" y=\"{}\" class=\"label\">nothing to show</text>", TOP + 16.0));
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let short = shorten(&bar.label, 34);
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\"><title>{}</title>{}</text>",
            LABEL_WIDTH - 8.0,
            y + ROW * 0.68,
            escape(&bar.label),
            escape(&short)
        ));
        let mut at = 0u64;
        for (value, se) in bar.values.iter().zip(series) {
            if *value == 0 {
                continue;
            }
            let (x0, x1) = (x(at as f64), x((at + value) as f64));
            s.push_str(&format!(
                "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                y + 4.0,
                (x1 - x0).max(1.0),
                ROW - 8.0,
                se.colour,
                escape(&bar.label),
                thousands(*value),
                escape(se.name)
            ));
            at += value;
        }
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{}</text>",
            x(at as f64) + 6.0,
            y + ROW * 0.68,
            thousands(at)
        ));
    }
    s.push_str("</svg>");
    s
}

/// A round step giving about five gridlines up to `max`.
fn nice_step(max: u64) -> u64 {
    let raw = (max as f64 / 5.0).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw);
    (step.round() as u64).max(1)
}

/// `1234567` → `1 234 567` (thin spaces read well in every locale).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let cut: String = label.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_scale_bars() {
        let series = [Series { name: "block", colour: "#c0392b" }, Series { name: "review", colour: "#e67e22" }];
        let bars = vec![
            Bar { label: "<script>alert(1)</script>".into(), values: vec![10, 5] },
            Bar { label: "S-2".into(), values: vec![0, 3] },
        ];
        let svg = horizontal_bars("t", &series, &bars);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // 15 is the longest bar: gridlines every 5, up to 15.
        assert_eq!(nice_step(15), 5);
        assert!(svg.contains(">15<") && svg.contains(">3<"));
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(1), 1);
        assert_eq!(nice_step(7), 2);
        assert_eq!(nice_step(100), 20);
        assert_eq!(nice_step(12_345), 2500);
        assert_eq!(thousands(1_234_567), "1\u{202f}234\u{202f}567");
    }
}
