//! The report's charts: inline SVG drawn by `plotters` (no fonts loaded; labels escaped).

use plotters::prelude::*;

const WIDTH: u32 = 760;
const HEIGHT: u32 = 280;
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type Drawn = Result<(), Box<dyn std::error::Error>>;

/// One line per series over the days (`days` are the x labels), each day's value marked by a dot,
/// so a period of one day (a line of one point draws nothing) still shows its values.
pub fn lines(caption: &str, days: &[String], series: &[(String, Vec<u64>)]) -> String {
    svg(|root| {
        let top = series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .max()
            .unwrap_or(0)
            .max(1);
        let n = days.len().max(1);
        let mut chart = framed(root, caption)
            .build_cartesian_2d((0..n).into_segmented(), 0..top + top / 10 + 1)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(8))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => days
                    .get(*i)
                    .and_then(|d| d.get(5..))
                    .unwrap_or_default()
                    .to_owned(),
                SegmentValue::Last => String::new(),
            })
            .y_desc("sessions")
            .draw()?;
        for (i, (name, values)) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let points: Vec<(SegmentValue<usize>, u64)> = values
                .iter()
                .enumerate()
                .map(|(x, y)| (SegmentValue::CenterOf(x), *y))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// Most labels on a y axis.
const Y_LABELS: usize = 10;

/// One bar per label, drawn in the labels' order; `max` fixes the y axis (e.g. 100 for percentages). Without it the values
/// are counts: the axis reaches a whole number and its ticks are whole numbers (no "0.5
/// recordings").
pub fn bars(
    caption: &str,
    y_desc: &str,
    labels: &[String],
    values: &[f64],
    max: Option<f64>,
) -> String {
    svg(|root| {
        let counts = max.is_none();
        let top = max.unwrap_or_else(|| (values.iter().copied().fold(1.0, f64::max) * 1.1).ceil());
        let n = labels.len().max(1);
        let mut chart =
            framed(root, caption).build_cartesian_2d((0..n).into_segmented(), 0.0..top)?;
        let whole_number = |v: &f64| format!("{v:.0}");
        let mut mesh = chart.configure_mesh();
        if counts {
            // At most one label per whole number up to the top, so every step is a whole number.
            let whole = format!("{top:.0}").parse::<usize>().unwrap_or(Y_LABELS) + 1;
            mesh.y_labels(whole.min(Y_LABELS))
                .y_label_formatter(&whole_number);
        }
        mesh.disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    labels.get(*i).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .y_desc(y_desc)
            .draw()?;
        // One series per bar, in label order: a histogram of several bars gathers them in a
        // `HashMap` and draws them in its (per-process random) order, so the same figures
        // would print their `<rect>`s in another order from one pack to the next.
        for (i, v) in values.iter().enumerate() {
            let bar = Histogram::vertical(&chart).style(COLOURS[0].filled());
            chart.draw_series(bar.margin(12).data([(i, *v)]))?;
        }
        Ok(())
    })
}

/// A chart of the report's size, caption font, margin and label areas on `root`.
fn framed<'a, 'b, 'c>(root: &'a Area<'c>, caption: &str) -> ChartBuilder<'a, 'b, SVGBackend<'c>> {
    let mut chart = ChartBuilder::on(root);
    chart
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50);
    chart
}

/// Draws on a white SVG canvas: the SVG, or nothing when drawing failed (a chart never stops a
/// pack).
fn svg(draw: impl FnOnce(&Area<'_>) -> Drawn) -> String {
    let mut svg = String::new();
    let drawn = (|| -> Drawn {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => {
            tracing::warn!(error = %e, "evidence chart not drawn");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(svg: &str) -> usize {
        svg.matches("<circle").count()
    }

    /// The y axis's tick labels of a chart (the texts right of nothing but the axis: numbers).
    fn y_ticks(svg: &str) -> Vec<String> {
        svg.split("<text")
            .filter(|t| t.contains("text-anchor=\"end\""))
            .filter_map(|t| t.split('>').nth(1)?.split('<').next())
            .map(|t| t.trim().to_owned())
            .collect()
    }

    #[test]
    fn a_count_axis_ticks_whole_numbers_only() {
        let labels = vec!["ops-30d".to_owned(), "legal".to_owned()];
        for values in [[1.0, 3.0], [0.0, 1.0], [2.0, 0.0], [17.0, 40.0]] {
            let chart = bars(
                "Recordings per retention class",
                "recordings",
                &labels,
                &values,
                None,
            );
            let ticks = y_ticks(&chart);
            assert!(ticks.len() >= 2, "{values:?}: {ticks:?}");
            let mut seen: Vec<u64> = Vec::new();
            for t in &ticks {
                let n: u64 = t
                    .parse()
                    .unwrap_or_else(|_| panic!("{values:?}: tick {t:?} of {ticks:?}"));
                assert!(!seen.contains(&n), "{values:?}: {ticks:?}");
                seen.push(n);
            }
        }
        // A percentage axis keeps its own ticks.
        let pct = bars(
            "Recorded coverage (%)",
            "% recorded",
            &labels,
            &[50.0, 100.0],
            Some(100.0),
        );
        assert!(y_ticks(&pct).len() >= 2);
    }

    /// The left edges of a chart's bars, in the order the SVG draws them.
    fn bar_edges(svg: &str) -> Vec<u32> {
        svg.split("<rect")
            .filter(|r| r.contains("fill=\"#1F77B4\""))
            .filter_map(|r| r.split("x=\"").nth(1)?.split('"').next()?.parse().ok())
            .collect()
    }

    #[test]
    fn bars_are_drawn_in_the_labels_order_every_time() {
        let labels: Vec<String> = (0..12)
            .map(|h| format!("{}-{}h", h * 4, h * 4 + 4))
            .collect();
        let values: Vec<f64> = (1..=12).map(f64::from).collect();
        let first = bars("Time to review", "sessions", &labels, &values, None);
        let edges = bar_edges(&first);
        assert_eq!(edges.len(), 12, "{first}");
        assert!(edges.windows(2).all(|w| w[0] < w[1]), "{edges:?}");
        for _ in 0..8 {
            assert_eq!(
                bars("Time to review", "sessions", &labels, &values, None),
                first
            );
        }
    }

    #[test]
    fn sessions_per_day_marks_every_value_also_when_the_period_has_one_day_of_data() {
        let one = lines(
            "Sessions per day",
            &["2025-03-14".to_owned()],
            &[("bas-a".to_owned(), vec![3]), ("total".to_owned(), vec![3])],
        );
        assert!(!one.is_empty(), "drawn");
        assert_eq!(marks(&one), 2, "one dot per series on the one day: {one}");
        let days: Vec<String> = (10..15).map(|d| format!("2025-03-{d}")).collect();
        let five = lines(
            "Sessions per day",
            &days,
            &[("total".to_owned(), vec![1, 0, 4, 2, 3])],
        );
        assert_eq!(marks(&five), 5);
        assert!(five.contains("03-14"), "the days are the labels");
    }
}
