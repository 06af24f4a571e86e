//! Rate-limit arithmetic of the HTTP client: the rate a system announces in its headers, the
//! pacing of request starts (GCRA), and how long `Retry-After` and `X-RateLimit-Reset` say to wait.

use std::time::{Duration, Instant};

pub(super) struct Limiter {
    /// Permits currently withheld from the semaphore (concurrency = max - withheld).
    pub(super) withheld: usize,
    pub(super) successes: u32,
    /// No request starts before this instant (set by Retry-After).
    pub(super) not_before: Option<Instant>,
    /// The rate the system last announced in a successful answer.
    pub(super) announced: Option<Rate>,
    /// When the next request may start (the "theoretical arrival time" of GCRA).
    pub(super) next_slot: Option<Instant>,
}

/// A request rate and the bucket it refills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rate {
    pub(super) per_sec: f64,
    /// Requests the system lets through at once (its bucket's size).
    pub(super) burst: f64,
}

impl Rate {
    /// The rate a system announces in an answer's headers: Data Center's token bucket
    /// (`X-RateLimit-FillRate` tokens every `X-RateLimit-Interval-Seconds`, `X-RateLimit-Limit`
    /// the bucket's size), else Cloud's `X-RateLimit-Limit`, a rate per second.
    pub(super) fn announced(headers: &reqwest::header::HeaderMap) -> Option<Rate> {
        let number = |name: &str| {
            headers
                .get(name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0)
        };
        let limit = number("x-ratelimit-limit");
        if let Some(fill) = number("x-ratelimit-fillrate") {
            let per_sec = fill / number("x-ratelimit-interval-seconds").unwrap_or(1.0);
            return Some(Rate {
                per_sec,
                burst: limit.unwrap_or(fill),
            });
        }
        limit.map(|per_sec| Rate {
            per_sec,
            burst: per_sec,
        })
    }
}

impl Limiter {
    /// Reserves the next start slot at `rate` (GCRA): one every `1/rate`, and slots missed by
    /// up to half the bucket's worth may be caught up at once, so a pause of the caller (a
    /// database commit between batches) is not lost budget, while the system's bucket, which
    /// refills as fast as slots pass, never empties.
    pub(super) fn reserve(&mut self, rate: Rate, now: Instant) -> Instant {
        let interval = Duration::from_secs_f64(1.0 / rate.per_sec);
        let catch_up = Duration::from_secs_f64((rate.burst / 2.0 - 1.0).max(0.0) / rate.per_sec);
        let earliest = now.checked_sub(catch_up).unwrap_or(now);
        let slot = self.next_slot.map_or(now, |t| t.max(earliest));
        self.next_slot = Some(slot + interval);
        slot
    }
}

/// `Retry-After`: seconds (what Atlassian sends) or an HTTP date (BambooHR may send either,
/// ref hris-idp §1.6).
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(text)
        .ok()?;
    Some(until(at))
}

/// `X-RateLimit-Reset` as a wait: Unix seconds (HiBob, ref hris-idp §3.5), seconds to wait
/// (small numbers), or an RFC 3339 instant.
pub(super) fn rate_limit_reset(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers.get("x-ratelimit-reset")?.to_str().ok()?.trim();
    if let Ok(n) = text.parse::<i64>() {
        // Nobody waits 30 years: a number this large is an instant, not a delay.
        if n >= 1_000_000_000 {
            return Some(until(jiff::Timestamp::from_second(n).ok()?));
        }
        return u64::try_from(n).ok().map(Duration::from_secs);
    }
    text.parse::<jiff::Timestamp>().ok().map(until)
}

fn until(at: jiff::Timestamp) -> Duration {
    Duration::try_from(at.duration_since(jiff::Timestamp::now())).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        assert_eq!(
            retry_after(&headers("retry-after", "2")),
            Some(Duration::from_secs(2))
        );
        let in_a_minute = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60);
        let date =
            jiff::fmt::rfc2822::to_string(&in_a_minute.to_zoned_datetime(jiff::tz::TimeZone::UTC))
                .unwrap();
        let wait = retry_after(&headers("retry-after", &date)).unwrap();
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert_eq!(
            retry_after(&headers("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(Duration::ZERO),
            "a date past is no wait"
        );
        assert_eq!(retry_after(&headers("retry-after", "soon")), None);
    }

    #[test]
    fn rate_limit_reset_as_epoch_seconds_or_delay() {
        let reset = (jiff::Timestamp::now().as_second() + 30).to_string();
        let wait = rate_limit_reset(&headers("x-ratelimit-reset", &reset)).unwrap();
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(
            rate_limit_reset(&headers("x-ratelimit-reset", "5")),
            Some(Duration::from_secs(5))
        );
    }
}
