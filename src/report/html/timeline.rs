//! The exposure timeline: one time axis shared by every key of a run, and each key's
//! span on it (introduced → removed from HEAD, or → now while HEAD or a ref still holds
//! it), drawn as CSS-positioned bars. Dates come only from the report's commits, so the
//! page is the same bytes for the same report; the report has no "now", so the axis runs
//! from its first date to its last over [`LAST_AT`] percent, and "now" is the right end.
//! Outside history (`scan`, `url`) there is no axis: a key has no dates there.

use std::io::{self, Write};

use crate::finding::{CommitInfo, KeyHistory, Report};

/// Where the report's last date sits on the axis, in percent; what is still exposed runs
/// on to 100 ("now").
const LAST_AT: f64 = 90.0;

/// Days on the axis: Julian day numbers of the report's commit dates, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Axis {
    first: i32,
    last: i32,
}

/// Where a key sits on the axis.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Span {
    /// Left edge and width in percent of the axis: while it was in HEAD's history.
    pub(super) bar: Option<(f64, f64)>,
    /// The part after its removal from HEAD while a branch, tag or remote ref holds it.
    pub(super) linger: Option<(f64, f64)>,
    /// Still in HEAD: the bar runs on to the axis' end.
    pub(super) open: bool,
}

impl Axis {
    /// The axis over every date of the report's git fields (findings' commits, keys'
    /// introductions and removals); `None` when there is none (not a history scan).
    pub(super) fn of(report: &Report) -> Option<Axis> {
        let commits = report.findings.iter().filter_map(|f| f.commit.as_ref());
        let history = report.keys.iter().filter_map(|k| k.history.as_ref());
        let removed = history.filter_map(|h| h.removed.as_ref());
        let days: Vec<i32> = commits.chain(removed).filter_map(|c| day(&c.date)).collect();
        let (first, last) = (*days.iter().min()?, *days.iter().max()?);
        Some(Axis { first, last })
    }

    pub(super) fn first_date(&self) -> String {
        date_of(self.first)
    }

    pub(super) fn last_date(&self) -> String {
        date_of(self.last)
    }

    /// Percent of the axis at `day`; a one-day axis is drawn as one full day.
    fn at(&self, day: i32) -> f64 {
        let span = (self.last - self.first).max(1) as f64;
        ((day - self.first) as f64 / span * LAST_AT).clamp(0.0, LAST_AT)
    }

    /// Where `history` puts its key on this axis.
    pub(super) fn span(&self, history: &KeyHistory) -> Span {
        let start = history.introduced.as_ref().and_then(|c| day(&c.date));
        let removed = history.removed.as_ref().and_then(|c| day(&c.date));
        let lingers = !history.in_head && !history.refs.is_empty();
        let end = match (history.in_head, removed) {
            (true, _) => Some(100.0),
            (false, Some(removed)) => Some(self.at(removed)),
            (false, None) => None,
        };
        let left = start.map(|s| self.at(s));
        let bar = left.map(|l| (l, end.map_or(0.0, |e| (e - l).max(0.0))));
        let linger_from = end.or(left).filter(|_| lingers);
        Span { bar, linger: linger_from.map(|from| (from, 100.0 - from)), open: history.in_head }
    }

    /// A few dates along the axis: its ends and, over a longer span, three between; then
    /// "now".
    pub(super) fn ticks(&self) -> Vec<(f64, String)> {
        let span = self.last - self.first;
        let steps = if span >= 8 { 4 } else { span.max(0) };
        let mut ticks: Vec<(f64, String)> = (0..=steps)
            .map(|i| {
                let day = self.first + span * i / steps.max(1);
                (self.at(day), date_of(day))
            })
            .collect();
        ticks.dedup_by(|a, b| a.1 == b.1);
        ticks.push((100.0, "now".to_string()));
        ticks
    }
}

/// The `YYYY-MM-DD` of an RFC 3339 date as written (the author's own calendar day).
pub(super) fn date(commit: &CommitInfo) -> &str {
    commit.date.get(..10).filter(|d| day(d).is_some()).unwrap_or(&commit.date)
}

/// The Julian day of the `YYYY-MM-DD` that starts `text`.
fn day(text: &str) -> Option<i32> {
    let part = |range: std::ops::Range<usize>| text.get(range)?.parse::<i32>().ok();
    if text.get(4..5) != Some("-") || text.get(7..8) != Some("-") {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(part(5..7)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(part(0..4)?, month, u8::try_from(part(8..10)?).ok()?);
    Some(date.ok()?.to_julian_day())
}

fn date_of(day: i32) -> String {
    match time::Date::from_julian_day(day) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        Err(_) => String::from("?"),
    }
}

/// Writes the axis' date row.
pub(super) fn write_ticks(axis: &Axis, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<div class=\"ticks\" aria-hidden=\"true\">")?;
    for (at, label) in axis.ticks() {
        writeln!(out, "<span style=\"left:{at:.2}%\">{label}</span>")?;
    }
    writeln!(out, "</div>")
}

/// Writes one key's track: its bar, and the dashed part a ref still holds.
pub(super) fn write_track(span: &Span, out: &mut dyn Write) -> io::Result<()> {
    write!(out, "<div class=\"track\">")?;
    if let Some((left, width)) = span.bar {
        let class = if span.open { "bar open" } else { "bar" };
        write!(out, "<span class=\"{class}\" style=\"left:{left:.2}%;width:{width:.2}%\"></span>")?;
    }
    if let Some((left, width)) = span.linger {
        write!(out, "<span class=\"linger\" style=\"left:{left:.2}%;width:{width:.2}%\"></span>")?;
    }
    writeln!(out, "</div>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(date: &str) -> CommitInfo {
        CommitInfo {
            id: "0".repeat(40),
            author_name: String::new(),
            author_email: String::new(),
            date: date.into(),
            summary: String::new(),
        }
    }

    fn axis(first: &str, last: &str) -> Axis {
        Axis { first: day(first).unwrap(), last: day(last).unwrap() }
    }

    #[test]
    fn dates_are_the_calendar_day_as_written() {
        assert_eq!(date(&commit("2024-02-29T23:30:00-05:00")), "2024-02-29");
        assert_eq!(date(&commit("garbage")), "garbage");
        assert_eq!(day("2024-02-30T00:00:00Z"), None);
        assert_eq!(day("2024-03-01").unwrap() - day("2024-02-28").unwrap(), 2);
        assert_eq!(date_of(day("1999-12-31").unwrap()), "1999-12-31");
    }

    #[test]
    fn spans_place_introduction_removal_and_refs_on_the_shared_axis() {
        let axis = axis("2024-01-01", "2024-01-10");
        let removed = KeyHistory {
            introduced: Some(commit("2024-01-02T10:00:00Z")),
            removed: Some(commit("2024-01-06T10:00:00Z")),
            in_head: false,
            refs: vec!["refs/tags/v1".into()],
        };
        let span = axis.span(&removed);
        assert_eq!(span.bar, Some((10.0, 40.0)));
        assert_eq!(span.linger, Some((50.0, 50.0)), "to now");
        assert!(!span.open);
        let in_head = KeyHistory { removed: None, in_head: true, refs: vec![], ..removed.clone() };
        assert_eq!(axis.span(&in_head), Span { bar: Some((10.0, 90.0)), linger: None, open: true });
        let off_head = KeyHistory { removed: None, ..removed.clone() };
        assert_eq!(axis.span(&off_head).bar, Some((10.0, 0.0)));
        assert_eq!(axis.span(&off_head).linger, Some((10.0, 90.0)));
        let late = KeyHistory { removed: Some(commit("2024-01-10T23:00:00+02:00")), ..removed };
        assert_eq!(axis.span(&late).bar, Some((10.0, 80.0)), "removed on the last date");
    }

    #[test]
    fn ticks_cover_the_axis_once_each() {
        let labels = |a: Axis| a.ticks().into_iter().map(|t| t.1).collect::<Vec<_>>();
        assert_eq!(labels(axis("2024-01-01", "2024-01-01")), ["2024-01-01", "now"]);
        assert_eq!(
            labels(axis("2024-01-01", "2024-01-03")),
            ["2024-01-01", "2024-01-02", "2024-01-03", "now"]
        );
        assert_eq!(
            labels(axis("2024-01-01", "2024-12-31")),
            ["2024-01-01", "2024-04-01", "2024-07-01", "2024-09-30", "2024-12-31", "now"]
        );
    }
}
