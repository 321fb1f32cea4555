//! The geometry of a small line chart that a template draws as inline SVG: positions only,
//! computed here; the elements themselves are in the template.

/// A labelled position on an axis.
pub struct Tick {
    pub at: f64,
    pub label: String,
}

/// One point of the line.
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// A line chart of values over evenly spaced labels, with an optional target line.
pub struct LineChart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub points: Vec<Point>,
    /// `x,y x,y …` for a `<polyline>`.
    pub polyline: String,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    /// The target's height and label.
    pub target: Option<Tick>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;
/// At most this many labels under the horizontal axis.
const MAX_X_LABELS: usize = 8;

/// A round step for about four grid lines up to `max`.
fn step_for(max: i64) -> i64 {
    let rough = (max.max(1) + 3) / 4;
    let mut step = 1;
    for candidate in [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000] {
        step = candidate;
        if candidate >= rough {
            return step;
        }
    }
    ((rough + step - 1) / step) * step
}

/// The chart of `values` (label, value), with `target` (label, value) as a horizontal line.
pub fn line_chart(values: &[(String, i64)], target: Option<(String, i64)>) -> LineChart {
    let highest = values
        .iter()
        .map(|(_, value)| *value)
        .chain(target.iter().map(|(_, value)| *value))
        .max()
        .unwrap_or(0)
        .max(1);
    let lowest = values
        .iter()
        .map(|(_, value)| *value)
        .min()
        .unwrap_or(0)
        .min(0);
    let step = step_for(highest - lowest);
    let top_value = ((highest + step - 1) / step) * step;
    let bottom_value = -(((-lowest) + step - 1) / step) * step;
    let span = (top_value - bottom_value).max(1) as f64;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let plot_width = WIDTH - LEFT - RIGHT;
    let y_of = |value: i64| TOP + plot_height * (top_value - value) as f64 / span;
    let count = values.len();
    let x_of = |index: usize| {
        if count <= 1 {
            LEFT + plot_width / 2.0
        } else {
            LEFT + plot_width * index as f64 / (count - 1) as f64
        }
    };
    let points: Vec<Point> = values
        .iter()
        .enumerate()
        .map(|(index, (_, value))| Point {
            x: x_of(index),
            y: y_of(*value),
        })
        .collect();
    let polyline = points
        .iter()
        .map(|point| format!("{:.1},{:.1}", point.x, point.y))
        .collect::<Vec<_>>()
        .join(" ");
    let every = count.div_ceil(MAX_X_LABELS).max(1);
    let x_ticks = values
        .iter()
        .enumerate()
        .filter(|(index, _)| index % every == 0 || *index + 1 == count)
        .map(|(index, (label, _))| Tick {
            at: x_of(index),
            label: label.clone(),
        })
        .collect();
    let y_ticks = (0..)
        .map(|n| bottom_value + n * step)
        .take_while(|value| *value <= top_value)
        .map(|value| Tick {
            at: y_of(value),
            label: value.to_string(),
        })
        .collect();
    LineChart {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: WIDTH - RIGHT,
        top: TOP,
        bottom: HEIGHT - BOTTOM,
        points,
        polyline,
        x_ticks,
        y_ticks,
        target: target.map(|(label, value)| Tick {
            at: y_of(value),
            label,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_and_the_target_stay_inside_the_plot() {
        let values: Vec<(String, i64)> = (0..30).map(|n| (format!("m{n}"), n * 7)).collect();
        let chart = line_chart(&values, Some(("target".into(), 120)));
        for point in &chart.points {
            assert!(point.x >= chart.left && point.x <= chart.right);
            assert!(point.y >= chart.top && point.y <= chart.bottom);
        }
        let target = chart.target.expect("a target line");
        assert!(target.at >= chart.top && target.at <= chart.bottom);
        assert!(chart.x_ticks.len() <= MAX_X_LABELS + 1);
    }

    #[test]
    fn a_single_month_and_negative_totals_are_drawn() {
        let chart = line_chart(&[("Jan".into(), -5)], None);
        assert_eq!(chart.points.len(), 1);
        assert!(chart.points[0].y <= chart.bottom);
        assert!(chart.y_ticks.iter().any(|tick| tick.label == "0"));
    }
}
