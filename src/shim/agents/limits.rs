//! Limits an agent reports in a turn (a used-up quota, a transient rate limit, compaction),
//! told apart by the wording the CLIs share. Drivers pick the lines that can carry such a
//! message (error and notice lines, never the answer's text) and hand them here.

use super::LimitNotice;

/// Phrases of a used-up usage quota (Claude subscription and API-key modes, Codex, Gemini).
/// Checked first: some also carry a 429.
const QUOTA: &[&str] = &[
    "hit your session limit",
    "hit your weekly limit",
    "hit your usage limit",
    "hit your limit",
    "credit balance is too low",
    "exceeded your current quota",
    "usage limit reached",
    "monthly usage limit",
];

/// Phrases of a transient rate limit.
const RATE_LIMIT: &[&str] = &[
    "429",
    "rate limit",
    "temporarily limiting requests",
    "too many requests",
];

/// Phrases of compaction or context pressure.
const PRESSURE: &[&str] = &[
    "conversation compacted",
    "context compacted",
    "chat history compressed",
];

/// What kind of limit `message` reports, if any. Curly and straight apostrophes are alike.
pub(super) fn classify_limit(message: &str) -> Option<LimitNotice> {
    let text = message.replace('’', "'").to_lowercase();
    let says = |phrases: &[&str]| phrases.iter().any(|phrase| text.contains(phrase));
    let message = message.to_owned();
    if says(QUOTA) {
        Some(LimitNotice::Quota { message })
    } else if says(RATE_LIMIT) {
        Some(LimitNotice::RateLimited { message })
    } else if says(PRESSURE) {
        Some(LimitNotice::ContextPressure { message })
    } else {
        None
    }
}

/// The notices among `lines`: each line `head` accepts (returning its text without its mark),
/// joined with the indented rows that continue it.
pub(super) fn notices<'a>(
    lines: &'a [String],
    head: impl Fn(&'a str) -> Option<&'a str>,
) -> Vec<LimitNotice> {
    let mut found = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let Some(text) = head(line) else {
            continue;
        };
        let continued = lines[at + 1..]
            .iter()
            .take_while(|l| l.starts_with(' ') && !l.trim().is_empty() && head(l).is_none())
            .map(|l| l.trim());
        let message = std::iter::once(text.trim())
            .chain(continued)
            .collect::<Vec<_>>()
            .join(" ");
        found.extend(classify_limit(&message));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_wins_over_the_429_it_carries() {
        let credit = "API Error: Request rejected (429) · Your credit balance is too low";
        assert!(matches!(
            classify_limit(credit),
            Some(LimitNotice::Quota { .. })
        ));
        let codex = "You’ve hit your usage limit. Upgrade to Pro or try again at 6:52 AM.";
        assert!(matches!(
            classify_limit(codex),
            Some(LimitNotice::Quota { .. })
        ));
        let rate = "exceeded retry limit, last status: 429 Too Many Requests";
        assert!(matches!(
            classify_limit(rate),
            Some(LimitNotice::RateLimited { .. })
        ));
        assert!(matches!(
            classify_limit("Conversation compacted (ctrl+o for history)"),
            Some(LimitNotice::ContextPressure { .. })
        ));
        assert_eq!(classify_limit("all good"), None);
    }

    #[test]
    fn a_notice_is_joined_with_its_continuation_rows() {
        let lines: Vec<String> = [
            "■ You’ve hit your usage limit. Upgrade to Pro",
            "  (https://chatgpt.com/explore/pro) or try again at 6:52 AM.",
            "",
            "  ignored after a blank row",
        ]
        .map(String::from)
        .to_vec();
        let found = notices(&lines, |l| l.strip_prefix("■ "));
        assert_eq!(
            found,
            [LimitNotice::Quota {
                message: "You’ve hit your usage limit. Upgrade to Pro \
                          (https://chatgpt.com/explore/pro) or try again at 6:52 AM."
                    .into()
            }]
        );
    }
}
