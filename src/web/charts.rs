//! Pictures drawn on the server as SVG: this module computes the geometry (pure arithmetic,
//! no markup), and askama templates (`templates/web/_stacked_bars.html`) emit the SVG. Each
//! chart comes with a table alternative and a text summary on its page; colours come from the
//! stylesheet (`.series-N`), so no inline style is needed.

/// One series of a stacked bar chart: its label and one value per category.
pub struct Series {
    pub label: String,
    pub values: Vec<i64>,
}

/// One drawn rectangle.
pub struct Segment {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub class: String,
    /// What a pointer hover shows (`<title>`).
    pub title: String,
}

/// A category's bar and its label under the axis.
pub struct Bar {
    pub label: String,
    pub label_x: i64,
    pub total: i64,
    /// Where the bar's total is written, above its top.
    pub total_y: i64,
    pub segments: Vec<Segment>,
}

/// A value mark on the vertical axis.
pub struct Tick {
    pub y: i64,
    pub value: i64,
}

pub struct LegendItem {
    pub label: String,
    pub class: String,
    pub x: i64,
    pub y: i64,
}

/// A stacked bar chart, laid out.
pub struct StackedBars {
    pub id: String,
    pub title: String,
    pub description: String,
    pub width: i64,
    pub height: i64,
    pub plot_left: i64,
    pub plot_right: i64,
    pub baseline: i64,
    pub label_y: i64,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub legend: Vec<LegendItem>,
}

const WIDTH: i64 = 720;
const PLOT_TOP: i64 = 16;
const PLOT_HEIGHT: i64 = 220;
const LEFT: i64 = 48;
const RIGHT: i64 = 16;
const LEGEND_ROW: i64 = 22;
const LEGEND_COLUMNS: i64 = 3;

/// A "nice" step for about five ticks up to `max`.
fn tick_step(max: i64) -> i64 {
    let rough = (max.max(1) + 4) / 5;
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            if step * factor >= rough {
                return step * factor;
            }
        }
        step *= 10;
    }
}

impl StackedBars {
    /// Lays out `series` stacked over `categories`; negative values are not drawn (the table
    /// beside the chart lists them).
    pub fn new(
        id: &str,
        title: &str,
        description: String,
        categories: &[String],
        series: &[Series],
    ) -> Self {
        let totals: Vec<i64> = (0..categories.len())
            .map(|index| {
                series
                    .iter()
                    .map(|s| s.values.get(index).copied().unwrap_or(0).max(0))
                    .sum()
            })
            .collect();
        let step = tick_step(totals.iter().copied().max().unwrap_or(0));
        let top = step * 5;
        let baseline = PLOT_TOP + PLOT_HEIGHT;
        let scale = |value: i64| value * PLOT_HEIGHT / top.max(1);
        let plot_width = WIDTH - LEFT - RIGHT;
        let slots = i64::try_from(categories.len().max(1)).unwrap_or(1);
        let slot = plot_width / slots;
        let bar_width = (slot * 6 / 10).clamp(4, 64);
        let bars = categories
            .iter()
            .enumerate()
            .map(|(index, label)| {
                let slot_left = LEFT + slot * i64::try_from(index).unwrap_or(0);
                let x = slot_left + (slot - bar_width) / 2;
                let mut y = baseline;
                let segments = series
                    .iter()
                    .enumerate()
                    .filter_map(|(number, s)| {
                        let value = s.values.get(index).copied().unwrap_or(0);
                        (value > 0).then(|| {
                            let height = scale(value).max(1);
                            y -= height;
                            Segment {
                                x,
                                y,
                                width: bar_width,
                                height,
                                class: format!("series-{}", number % 8),
                                title: format!("{label}, {}: {value}", s.label),
                            }
                        })
                    })
                    .collect();
                Bar {
                    label: label.clone(),
                    label_x: slot_left + slot / 2,
                    total: totals.get(index).copied().unwrap_or(0),
                    total_y: y - 4,
                    segments,
                }
            })
            .collect();
        let ticks = (0..=5)
            .map(|n| Tick {
                y: baseline - scale(step * n),
                value: step * n,
            })
            .collect();
        let legend_top = baseline + 40;
        let column = plot_width / LEGEND_COLUMNS;
        let legend: Vec<LegendItem> = series
            .iter()
            .enumerate()
            .map(|(number, s)| {
                let n = i64::try_from(number).unwrap_or(0);
                LegendItem {
                    label: s.label.clone(),
                    class: format!("series-{}", number % 8),
                    x: LEFT + (n % LEGEND_COLUMNS) * column,
                    y: legend_top + (n / LEGEND_COLUMNS) * LEGEND_ROW,
                }
            })
            .collect();
        let rows = (i64::try_from(series.len()).unwrap_or(0) + LEGEND_COLUMNS - 1) / LEGEND_COLUMNS;
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            description,
            width: WIDTH,
            height: legend_top + rows * LEGEND_ROW + 8,
            plot_left: LEFT,
            plot_right: WIDTH - RIGHT,
            baseline,
            label_y: baseline + 18,
            bars,
            ticks,
            legend,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_that_cover_the_largest_bar() {
        assert_eq!(tick_step(0), 1);
        assert_eq!(tick_step(7), 2);
        assert_eq!(tick_step(23), 5);
        assert_eq!(tick_step(240), 50);
    }

    #[test]
    fn segments_stack_from_the_baseline_and_negative_values_are_not_drawn() {
        let chart = StackedBars::new(
            "c",
            "t",
            String::new(),
            &["2026-01".into(), "2026-02".into()],
            &[
                Series {
                    label: "a".into(),
                    values: vec![4, -2],
                },
                Series {
                    label: "b".into(),
                    values: vec![6, 3],
                },
            ],
        );
        let first = &chart.bars[0];
        assert_eq!(first.total, 10);
        assert_eq!(first.segments.len(), 2);
        assert_eq!(
            first.segments[0].y + first.segments[0].height,
            chart.baseline
        );
        assert_eq!(
            first.segments[1].y + first.segments[1].height,
            first.segments[0].y
        );
        assert_eq!(chart.bars[1].segments.len(), 1);
    }
}
