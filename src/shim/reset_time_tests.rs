//! Unit tests of reset-time parsing with fixed clocks: each CLI's message forms, zones, dates,
//! midnight and noon, DST gaps and overlaps, and texts without a time.

use chrono::FixedOffset;
use chrono_tz::Tz;

use super::*;

const CLAUDE_SESSION: &str = "  ⎿  You've hit your session limit · resets 6:28am (UTC)";
const CODEX_LIMIT: &str = "■ You’ve hit your usage limit. Upgrade to Pro \
    (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase \
    more credits or try again at 6:52 AM.";

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).unwrap()
}

/// The minute shown (RFC 3339, UTC: the reset instant less the minute it lasts) and the label.
fn reset<Z: TimeZone>(text: &str, now: &str, local: &Z) -> Option<(String, String)> {
    let found = parse_reset(text, at(now), local)?;
    let instant = DateTime::from_timestamp(found.epoch_secs as i64 - 60, 0).unwrap();
    Some((
        instant.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        found.label,
    ))
}

/// Asserts that `text` read at `now` resets at the end of the minute `shown` (UTC), labelled so.
fn expect<Z: TimeZone>(text: &str, now: &str, local: &Z, shown: &str, label: &str) {
    assert_eq!(
        reset(text, now, local),
        Some((shown.to_owned(), label.to_owned())),
        "{text} at {now}"
    );
}

#[test]
fn claude_session_limit_is_the_next_occurrence_in_the_named_zone() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let ahead = "2026-11-24T03:00:00Z";
    expect(
        CLAUDE_SESSION,
        ahead,
        &berlin,
        "2026-11-24T06:28:00Z",
        "6:28am (UTC)",
    );
    let passed = "2026-11-24T07:00:00Z";
    expect(
        CLAUDE_SESSION,
        passed,
        &berlin,
        "2026-11-25T06:28:00Z",
        "6:28am (UTC)",
    );
    // Within the minute shown the reset is still ahead (the CLIs truncate the seconds).
    let within = "2026-11-24T06:28:59Z";
    expect(
        CLAUDE_SESSION,
        within,
        &utc(),
        "2026-11-24T06:28:00Z",
        "6:28am (UTC)",
    );
    let ended = "2026-11-24T06:29:00Z";
    expect(
        CLAUDE_SESSION,
        ended,
        &utc(),
        "2026-11-25T06:28:00Z",
        "6:28am (UTC)",
    );
}

#[test]
fn iana_zones_in_parentheses_and_midnight_crossings() {
    // 07:00 in Berlin already: tomorrow 06:00 Berlin.
    let text = "You've hit your session limit · resets 6am (Europe/Berlin)";
    let label = "6am (Europe/Berlin)";
    expect(
        text,
        "2026-11-24T06:00:00Z",
        &utc(),
        "2026-11-25T05:00:00Z",
        label,
    );
    // 22:00 on Nov 23 in Los Angeles is already Nov 24 in UTC: today there is 23:00 LA.
    let text = "resets 11pm (America/Los_Angeles)";
    let label = "11pm (America/Los_Angeles)";
    expect(
        text,
        "2026-11-24T06:00:00Z",
        &utc(),
        "2026-11-24T07:00:00Z",
        label,
    );
    expect(
        "resets 6am (Etc/UTC)",
        "2026-11-24T07:00:00Z",
        &utc(),
        "2026-11-25T06:00:00Z",
        "6am (Etc/UTC)",
    );
}

#[test]
fn twelve_am_is_midnight_and_twelve_pm_is_noon() {
    let now = "2026-11-24T10:00:00Z";
    expect(
        "resets 12am (UTC)",
        now,
        &utc(),
        "2026-11-25T00:00:00Z",
        "12am (UTC)",
    );
    expect(
        "resets 12:30am (UTC)",
        now,
        &utc(),
        "2026-11-25T00:30:00Z",
        "12:30am (UTC)",
    );
    expect(
        "resets 12pm (UTC)",
        now,
        &utc(),
        "2026-11-24T12:00:00Z",
        "12pm (UTC)",
    );
    expect(
        "try again at 12:05 PM.",
        now,
        &utc(),
        "2026-11-24T12:05:00Z",
        "12:05 PM",
    );
    expect(
        "try again at 11:59 PM.",
        now,
        &utc(),
        "2026-11-24T23:59:00Z",
        "11:59 PM",
    );
}

#[test]
fn claude_weekly_limit_with_a_date_and_with_a_year() {
    let text = "You've hit your weekly limit · resets Nov 28, 6am (UTC)";
    let now = "2026-11-24T10:00:00Z";
    expect(
        text,
        now,
        &utc(),
        "2026-11-28T06:00:00Z",
        "Nov 28, 6am (UTC)",
    );
    let text = "You've hit your weekly limit · resets Jan 2, 2027, 6:30am (America/New_York)";
    let label = "Jan 2, 2027, 6:30am (America/New_York)";
    expect(
        text,
        "2026-12-30T10:00:00Z",
        &utc(),
        "2027-01-02T11:30:00Z",
        label,
    );
    // No year shown: the year nearest to now, across New Year.
    let text = "resets Jan 2, 6am (UTC)";
    expect(
        text,
        "2026-12-30T10:00:00Z",
        &utc(),
        "2027-01-02T06:00:00Z",
        "Jan 2, 6am (UTC)",
    );
    let text = "resets Nov 28 at 6am";
    expect(
        text,
        "2026-11-24T10:00:00Z",
        &utc(),
        "2026-11-28T06:00:00Z",
        "Nov 28 at 6am",
    );
}

#[test]
fn codex_times_are_local() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    expect(
        CODEX_LIMIT,
        "2026-11-24T03:00:00Z",
        &berlin,
        "2026-11-24T05:52:00Z",
        "6:52 AM",
    );
    let plus_two = FixedOffset::east_opt(2 * 3600).unwrap();
    expect(
        CODEX_LIMIT,
        "2026-11-24T05:00:00Z",
        &plus_two,
        "2026-11-25T04:52:00Z",
        "6:52 AM",
    );
    // A reset on another day carries the date with an ordinal and the year.
    let new_york: Tz = "America/New_York".parse().unwrap();
    let text = "■ You’ve hit your usage limit. … or try again at Nov 28th, 2026 6:52 AM.";
    let label = "Nov 28th, 2026 6:52 AM";
    expect(
        text,
        "2026-11-24T10:00:00Z",
        &new_york,
        "2026-11-28T11:52:00Z",
        label,
    );
    let text = "try again at Dec 1st, 2026 12:00 PM.";
    expect(
        text,
        "2026-11-24T10:00:00Z",
        &utc(),
        "2026-12-01T12:00:00Z",
        "Dec 1st, 2026 12:00 PM",
    );
}

#[test]
fn gemini_short_zone_names() {
    let now = "2026-11-24T03:00:00Z";
    let text = "Usage limit reached for gemini-3.8-flash.\nAccess resets at 6:52 AM UTC.";
    expect(text, now, &utc(), "2026-11-24T06:52:00Z", "6:52 AM UTC");
    let text = "Access resets at 6:52 PM PST.";
    expect(text, now, &utc(), "2026-11-25T02:52:00Z", "6:52 PM PST");
    let text = "Access resets at 7:00 AM GMT+2.";
    expect(text, now, &utc(), "2026-11-24T05:00:00Z", "7:00 AM GMT+2");
    let text = "Access resets at 9:30 AM GMT+5:30.";
    expect(
        text,
        now,
        &utc(),
        "2026-11-24T04:00:00Z",
        "9:30 AM GMT+5:30",
    );
    // Captured in the modal (429 with a RetryInfo delay of 7200 s and 5000 s, `TZ` UTC and
    // Europe/Berlin), box borders included.
    let now = "2026-11-24T07:44:30Z";
    let text = "│ Usage limit reached for gemini-3.8-flash.     │\n\
                │ Access resets at 9:44 AM UTC.                 │";
    expect(text, now, &utc(), "2026-11-24T09:44:00Z", "9:44 AM UTC");
    let text = "│ Access resets at 10:07 AM GMT+1.              │";
    expect(text, now, &utc(), "2026-11-24T09:07:00Z", "10:07 AM GMT+1");
}

#[test]
fn spacing_variants_and_24_hour_clocks() {
    let now = "2026-11-24T03:00:00Z";
    // ICU puts a narrow no-break space before AM/PM.
    expect(
        "try again at 6:52\u{202f}AM.",
        now,
        &utc(),
        "2026-11-24T06:52:00Z",
        "6:52\u{202f}AM",
    );
    expect(
        "resets 6:28 a.m. (UTC)",
        now,
        &utc(),
        "2026-11-24T06:28:00Z",
        "6:28 a.m. (UTC)",
    );
    expect(
        "try again at 18:30.",
        now,
        &utc(),
        "2026-11-24T18:30:00Z",
        "18:30",
    );
    // An unknown name in parentheses is not a zone: the local zone applies.
    let plus_one = FixedOffset::east_opt(3600).unwrap();
    expect(
        "resets 6am (Mars/Base)",
        now,
        &plus_one,
        "2026-11-24T05:00:00Z",
        "6am",
    );
}

#[test]
fn the_last_reset_in_the_text_wins() {
    let text = "You've used 90% of your session limit · resets 5am (UTC)\n\
                You've hit your session limit · resets 6am (UTC)";
    expect(
        text,
        "2026-11-24T03:00:00Z",
        &utc(),
        "2026-11-24T06:00:00Z",
        "6am (UTC)",
    );
}

#[test]
fn dst_gaps_move_forward_and_overlaps_take_the_earlier_instant() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    // 2026-03-29 02:30 does not exist in Berlin (02:00 CET -> 03:00 CEST).
    let text = "try again at 2:30 AM.";
    expect(
        text,
        "2026-03-29T00:00:00Z",
        &berlin,
        "2026-03-29T01:00:00Z",
        "2:30 AM",
    );
    // 2026-10-25 02:30 happens twice: first in CEST (00:30 UTC).
    expect(
        text,
        "2026-10-24T23:00:00Z",
        &berlin,
        "2026-10-25T00:30:00Z",
        "2:30 AM",
    );
    let los_angeles: Tz = "America/Los_Angeles".parse().unwrap();
    let text = "resets Mar 8, 2026, 2:15am (America/Los_Angeles)";
    let found = reset(text, "2026-03-01T00:00:00Z", &los_angeles).unwrap();
    assert_eq!(found.0, "2026-03-08T10:00:00Z");
}

#[test]
fn texts_without_a_reset_time() {
    let now = "2026-11-24T03:00:00Z";
    for text in [
        "Usage limit reached for gemini-3.8-flash.\n/stats model for usage details\n\
         /model to switch models.\n● 1. Keep trying\n  2. Stop",
        "Please wait and try again later.",
        "You've hit your fast limit · resets in 3h 20m",
        "resets 13am (UTC)",
        "resets 0am (UTC)",
        "resets 6:75am (UTC)",
        "try again at 6 for sure",
        "resets Nov 31, 6am (UTC)",
        "The capital of France resets nothing.",
        "",
    ] {
        assert_eq!(reset(text, now, &utc()), None, "{text}");
    }
}

#[test]
fn the_system_zone_can_be_passed() {
    let found = parse_reset(CLAUDE_SESSION, at("2026-11-24T03:00:00Z"), &chrono::Local);
    let end_of_minute = at("2026-11-24T06:29:00Z").timestamp();
    assert_eq!(found.unwrap().epoch_secs, end_of_minute as u64);
}

#[path = "reset_time_captured_tests.rs"]
mod captured;
