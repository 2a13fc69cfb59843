//! Reset times in lines captured from the pinned CLIs.

use super::*;

/// Lines captured from the pinned CLIs (fake server, `TZ` set for the CLI) with the instant the
/// server gave as the reset: the parsed time is at most a minute after it, never before.
#[test]
fn screens_captured_from_the_real_clis() {
    let cases: [(&str, i64, &str, i64); 6] = [
        (
            "  ⎿  You've hit your weekly limit · resets Nov 27, 12:06am (America/Los_Angeles)",
            1_795_505_799,
            "UTC",
            1_795_766_799,
        ),
        (
            "  ⎿  You've hit your weekly limit · resets Nov 27, 7:36am (UTC)",
            1_795_505_804,
            "UTC",
            1_795_765_004,
        ),
        (
            "  ⎿  You've hit your session limit · resets 11:46am (Europe/Berlin)",
            1_795_505_809,
            "UTC",
            1_795_517_209,
        ),
        (CLAUDE_SESSION_CAPTURED, 1_795_505_814, "UTC", 1_795_513_014),
        (
            "■ You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit \
             https://chatgpt.com/settings/usage to purchase more credits or try again at Nov \
             25th, 2026 2:36 PM.",
            1_795_505_818,
            "Europe/Berlin",
            1_795_613_818,
        ),
        (
            "■ You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit \
             https://chatgpt.com/settings/usage to purchase more credits or try again at 7:47 AM.",
            1_795_505_827,
            "UTC",
            1_795_506_427,
        ),
    ];
    for (text, now, zone, real_reset) in cases {
        let zone: Tz = zone.parse().unwrap();
        let now = DateTime::from_timestamp(now, 0).unwrap();
        let found = parse_reset(text, now, &zone).unwrap_or_else(|| panic!("{text}"));
        let late_by = found.epoch_secs as i64 - real_reset;
        assert!((1..=60).contains(&late_by), "{text}: {late_by} s");
    }
}

const CLAUDE_SESSION_CAPTURED: &str = "  ⎿  You've hit your session limit · resets 9:36am (UTC)";
