//! Small pieces of terminal output: instants on the command line and progress lines.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use jiff::Timestamp;

/// Parses an instant given on the command line: an RFC 3339 timestamp
/// (`2026-11-23T08:00:00Z`, `2026-11-23T09:00:00+01:00`) or a date (`2026-11-23`, midnight UTC).
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return date
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "\"{text}\" is not an instant: use 2026-11-23T08:00:00Z, 2026-11-23T09:00:00+01:00 or 2026-11-23"
    ))
}

/// A progress line on standard error: rewritten in place on a terminal, otherwise printed
/// at most every few seconds (and at the end) so logs stay short.
pub struct ProgressLine {
    label: String,
    terminal: bool,
    last: Option<Instant>,
    shown: bool,
}

impl ProgressLine {
    pub fn new(label: impl Into<String>) -> Self {
        ProgressLine {
            label: label.into(),
            terminal: std::io::stderr().is_terminal(),
            last: None,
            shown: false,
        }
    }

    pub fn update(&mut self, done: u64, total: Option<u64>) {
        let finished = total.is_some_and(|t| done >= t);
        let due = self.last.is_none_or(|l| {
            l.elapsed()
                >= if self.terminal {
                    Duration::from_millis(100)
                } else {
                    Duration::from_secs(5)
                }
        });
        if !(due || finished) {
            return;
        }
        self.last = Some(Instant::now());
        let text = match total {
            Some(t) if t > 0 => format!("{}: {done}/{t} ({}%)", self.label, done * 100 / t),
            Some(_) => return,
            None => format!("{}: {done}", self.label),
        };
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r{text}\x1b[K");
        } else {
            let _ = writeln!(err, "{text}");
        }
        self.shown = true;
    }

    pub fn finish(&mut self) {
        if self.terminal && self.shown {
            let _ = writeln!(std::io::stderr());
        }
        self.shown = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_dates_parse_and_nonsense_is_explained() {
        assert_eq!(
            parse_time("2026-11-23T09:00:00+01:00").unwrap(),
            "2026-11-23T08:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_time("2026-11-23").unwrap(),
            "2026-11-23T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        let err = parse_time("yesterday").unwrap_err();
        assert!(err.contains("\"yesterday\""), "{err}");
    }
}
