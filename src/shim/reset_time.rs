//! When a usage limit resets, from the text of an agent CLI's quota message.
//!
//! [`parse_reset`] finds the clock time after `resets`, `reset at` or `try again at` and returns
//! its next occurrence as an instant, with the time text as shown. Forms seen in the pinned
//! CLIs (the formatting code was read in each one's bundle or binary):
//!
//! - Claude Code 2.1.197: `You've hit your session limit · resets 6:28am (UTC)`; minutes are
//!   left out on the hour (`resets 6am (Europe/Berlin)`); a reset more than 24 h away carries
//!   the date (`resets Nov 28, 6am (UTC)`, and the year when it differs:
//!   `resets Jan 2, 2027, 6:30am (UTC)`). The zone is the IANA name the CLI runs in.
//! - Codex 0.169.0: `… or try again at 6:52 AM.` in the CLI's local zone (no zone shown); a
//!   reset on another day: `try again at Nov 28th, 2026 6:52 AM.`
//! - Gemini CLI 0.61.0: `Access resets at 9:44 AM UTC.` (an `Intl` short zone name: `UTC`,
//!   `PST`, `GMT+1`), only when the API's 429 carries a `RetryInfo` delay over 5 minutes; never
//!   with a date, even for a reset days ahead; its daily-quota modal has no time.
//!
//! A time without a zone is read in the `local` zone the caller passes (the system's,
//! `chrono::Local`, in production; any [`TimeZone`] in tests). A time without a date is its
//! next occurrence that has not ended by `now` (the minute shown is still running, or ahead),
//! which for Gemini's dateless times of resets days ahead is too early; a date without a year
//! takes the year that puts it nearest to `now`. Local times that a DST change skips move
//! forward to the first valid time; ambiguous ones take the earlier instant.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{TimeZone, Utc};

/// A reset time found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetTime {
    /// The end of the minute shown, as Unix seconds. The CLIs print the reset instant
    /// truncated to the minute (`2:36 PM` for 14:36:58), so the limit has certainly reset by
    /// the end of that minute, and not always at its start.
    pub epoch_secs: u64,
    /// The time as the message shows it, e.g. `6:28am (UTC)` or `Nov 28th, 2026 6:52 AM`.
    pub label: String,
}

/// How long a shown reset minute lasts.
const MINUTE: Duration = Duration::seconds(60);

/// Words after which a reset clock time follows (matched case-insensitively).
const ANCHORS: &[&str] = &["resets at ", "reset at ", "resets ", "try again at "];

/// US zone abbreviations that `Intl` short zone names use, with their UTC offsets in hours.
const ABBREVIATIONS: &[(&str, i32)] = &[
    ("PST", -8),
    ("PDT", -7),
    ("MST", -7),
    ("MDT", -6),
    ("CST", -6),
    ("CDT", -5),
    ("EST", -5),
    ("EDT", -4),
    ("AKST", -9),
    ("AKDT", -8),
    ("HST", -10),
];

/// The reset time in `text` (the last one when there are several), or `None` when the text has
/// no clock time after a reset phrase.
pub fn parse_reset<Z: TimeZone>(text: &str, now: DateTime<Utc>, local: &Z) -> Option<ResetTime> {
    // ASCII lower-casing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut starts: Vec<usize> = ANCHORS
        .iter()
        .flat_map(|anchor| lower.match_indices(anchor).map(|(at, a)| at + a.len()))
        .collect();
    starts.sort_unstable();
    starts.into_iter().rev().find_map(|start| {
        let clock = ClockText::parse(&text[start..])?;
        let instant = match &clock.zone {
            Some(Zone::Iana(tz)) => clock.resolve(tz, now),
            Some(Zone::Fixed(offset)) => clock.resolve(offset, now),
            None => clock.resolve(local, now),
        }?;
        let end_of_minute = instant + MINUTE;
        Some(ResetTime {
            epoch_secs: u64::try_from(end_of_minute.timestamp()).unwrap_or(0),
            label: text[start..start + clock.len].to_owned(),
        })
    })
}

/// A zone named in the text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Zone {
    Iana(chrono_tz::Tz),
    Fixed(FixedOffset),
}

/// A month and day, with the year when shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MonthDay {
    month: u32,
    day: u32,
    year: Option<i32>,
}

/// A clock time as written, parsed.
#[derive(Debug, Clone, PartialEq)]
struct ClockText {
    date: Option<MonthDay>,
    time: NaiveTime,
    zone: Option<Zone>,
    /// Bytes of the text it was read from (the label).
    len: usize,
}

impl ClockText {
    /// Reads `[Month Day[th][,] [Year][,] [at]] H[:MM][ ]am|pm [(Zone)|ZONE]` from the start
    /// of `s` (or a 24-hour `H:MM`).
    fn parse(s: &str) -> Option<Self> {
        let mut cursor = Cursor::new(s);
        let date = {
            let mut attempt = cursor;
            let date = attempt.month_day();
            if date.is_some() {
                cursor = attempt;
            }
            date
        };
        let time = cursor.time()?;
        let mut len = cursor.pos;
        let mut after = cursor;
        let zone = after.zone();
        if zone.is_some() {
            len = after.pos;
        }
        Some(Self {
            date,
            time,
            zone,
            len,
        })
    }

    /// The start of the minute this clock text stands for in `zone`, as seen at `now`: without
    /// a date, the first one that has not ended by `now`.
    fn resolve<Z: TimeZone>(&self, zone: &Z, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(zone).date_naive();
        match self.date {
            None => (0..=2)
                .filter_map(|days| today.checked_add_signed(Duration::days(days)))
                .filter_map(|day| at_local(zone, day.and_time(self.time)))
                .find(|instant| *instant + MINUTE > now),
            Some(MonthDay {
                month,
                day,
                year: Some(year),
            }) => at_local(
                zone,
                NaiveDate::from_ymd_opt(year, month, day)?.and_time(self.time),
            ),
            Some(MonthDay {
                month,
                day,
                year: None,
            }) => (today.year() - 1..=today.year() + 1)
                .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
                .filter_map(|date| at_local(zone, date.and_time(self.time)))
                .min_by_key(|instant| (*instant - now).num_seconds().abs()),
        }
    }
}

/// `naive` in `zone`: the earlier instant when ambiguous, and past a DST gap the first valid
/// local time after it.
fn at_local<Z: TimeZone>(zone: &Z, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..=8).find_map(|quarters| {
        let shifted = naive.checked_add_signed(Duration::minutes(15 * quarters))?;
        let local = zone.from_local_datetime(&shifted).earliest()?;
        Some(local.with_timezone(&Utc))
    })
}

/// A zone name as written in parentheses: an IANA name (`Europe/Berlin`, `UTC`, `Etc/UTC`) or
/// an [abbreviation](zone_from_abbreviation).
fn zone_from_name(name: &str) -> Option<Zone> {
    zone_from_abbreviation(name).or_else(|| chrono_tz::Tz::from_str(name).ok().map(Zone::Iana))
}

/// A zone as `Intl` short names write it: `UTC`, `GMT`, `GMT±H[:MM]`, `UTC±H[:MM]` or a US
/// abbreviation (`PST`).
fn zone_from_abbreviation(name: &str) -> Option<Zone> {
    if matches!(name, "UTC" | "GMT") {
        return FixedOffset::east_opt(0).map(Zone::Fixed);
    }
    if let Some(&(_, hours)) = ABBREVIATIONS.iter().find(|(abbr, _)| *abbr == name) {
        return FixedOffset::east_opt(hours * 3600).map(Zone::Fixed);
    }
    let offset = name
        .strip_prefix("GMT")
        .or_else(|| name.strip_prefix("UTC"))
        .filter(|rest| rest.starts_with(['+', '-']))?;
    fixed_offset(offset).map(Zone::Fixed)
}

/// `+2`, `-7`, `+5:30`, `+05:30` as an offset.
fn fixed_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = text.split_at(1);
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
        return None;
    }
    let secs = hours * 3600 + minutes * 60;
    FixedOffset::east_opt(if sign == "-" { -secs } else { secs })
}

/// The month numbered by an English name or its three-letter abbreviation (any case).
fn month_from_name(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let word = word.to_ascii_lowercase();
    let word = word.strip_suffix('.').unwrap_or(&word);
    let index = MONTHS
        .iter()
        .position(|m| *m == word || (word.len() == 3 && m.starts_with(word)))?;
    Some(index as u32 + 1)
}

/// A position in the text being read; copied to try something and keep it only on success.
#[derive(Debug, Clone, Copy)]
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    /// Skips whitespace (including no-break spaces); whether there was any.
    fn spaces(&mut self) -> bool {
        let rest = self.rest();
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
        trimmed.len() != rest.len()
    }

    /// Consumes `word` (ASCII, any case) when the text continues with it.
    fn eat(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let matches = rest
            .get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word));
        if matches {
            self.pos += word.len();
        }
        matches
    }

    /// A run of 1..=`max` ASCII digits (no more digits after it).
    fn number(&mut self, max: usize) -> Option<u32> {
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > max {
            return None;
        }
        let value = self.rest()[..digits].parse().ok()?;
        self.pos += digits;
        Some(value)
    }

    /// A run of ASCII letters (and a trailing `.`).
    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let mut len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        if len > 0 && rest[len..].starts_with('.') {
            len += 1;
        }
        self.pos += len;
        &rest[..len]
    }

    fn at_word_end(&self) -> bool {
        !self
            .rest()
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric())
    }

    /// `Nov 28`, `November 28th,`, `Nov 28, 2026,`, `Nov 28 at`; leaves the cursor at the time.
    fn month_day(&mut self) -> Option<MonthDay> {
        let month = month_from_name(self.word())?;
        self.spaces();
        let day = self.number(2).filter(|d| (1..=31).contains(d))?;
        for suffix in ["st", "nd", "rd", "th"] {
            if self.eat(suffix) {
                break;
            }
        }
        self.eat(",");
        self.spaces();
        let mut attempt = *self;
        let year = attempt
            .number(4)
            .filter(|y| *y >= 1000 && attempt.at_word_end() && !attempt.rest().starts_with(':'))
            .and_then(|y| i32::try_from(y).ok());
        if year.is_some() {
            *self = attempt;
            self.eat(",");
            self.spaces();
        }
        let mut at = *self;
        if at.eat("at") && at.spaces() {
            *self = at;
        }
        Some(MonthDay { month, day, year })
    }

    /// `6am`, `6:28am`, `6:52 AM`, `6:52 p.m.`, or a 24-hour `18:30`.
    fn time(&mut self) -> Option<NaiveTime> {
        let hour = self.number(2)?;
        let minute = if self.eat(":") {
            Some(self.number(2).filter(|m| *m < 60)?)
        } else {
            None
        };
        let mut meridiem = *self;
        meridiem.spaces();
        let pm = if meridiem.eat("am") || meridiem.eat("a.m.") {
            Some(false)
        } else if meridiem.eat("pm") || meridiem.eat("p.m.") {
            Some(true)
        } else {
            None
        };
        let hour = match pm {
            Some(pm) if meridiem.at_word_end() && (1..=12).contains(&hour) => {
                *self = meridiem;
                hour % 12 + if pm { 12 } else { 0 }
            }
            _ if minute.is_some() && hour < 24 && self.at_word_end() => hour,
            _ => return None,
        };
        NaiveTime::from_hms_opt(hour, minute.unwrap_or(0), 0)
    }

    /// ` (Europe/Berlin)`, ` (UTC)` or ` UTC`/` PST`/` GMT+2` after the time.
    fn zone(&mut self) -> Option<Zone> {
        self.spaces();
        let rest = self.rest();
        let (zone, len) = if let Some(inner) = rest.strip_prefix('(') {
            let close = inner.find(')')?;
            (zone_from_name(inner[..close].trim())?, close + 2)
        } else {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | ':')))
                .unwrap_or(rest.len());
            (zone_from_abbreviation(&rest[..len])?, len)
        };
        self.pos += len;
        Some(zone)
    }
}

#[cfg(test)]
#[path = "reset_time_tests.rs"]
mod tests;
