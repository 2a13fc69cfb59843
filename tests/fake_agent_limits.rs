//! Usage and rate limits under agentshim, against the fake agent in every kind's costume: a
//! usage-limit screen (the reset time chosen by the test, a few minutes ahead) is drawn as the
//! CLI draws it and reported as one `QuotaBlocked` with that reset time, with the follow-up
//! menu of Claude and the modal of Gemini as `InputRequested`; a message sent while blocked is
//! held and delivered by itself once the hold is over (`QuotaResumed`); a 429 that ends a turn
//! is a `Warning` beside its `Completion`. Gemini retries a plain 429 silently, so it has no
//! rate-limit case.

use crate::support::fake_agent;
use crate::support::shim as support;

use std::time::Duration;

use agentshim::protocol::Event;
use agentshim::shim::{ShimHandle, Signals};
use chrono::{Local, Utc};
use fake_agent::FakeAgent;
use serde_json::{Value, json};
use support::{EventReader, ready_shim, send};

/// How long messages are held after a usage-limit message without a reset time.
const SHORT_HOLD: Duration = Duration::from_secs(2);

/// The fake `kind` following `script`, ready, holding messages [`SHORT_HOLD`] on a quota
/// without a reset time.
async fn limited_fake(kind: &str, script: Value) -> (FakeAgent, ShimHandle, EventReader) {
    let fake = FakeAgent::new(kind, script);
    let signals = Signals {
        unknown_reset_hold: SHORT_HOLD,
        ..Signals::default()
    };
    let spec = fake.spec(&format!("{kind}-limits")).signals(signals);
    let (shim, events) = ready_shim(spec).await;
    (fake, shim, events)
}

/// A reset time a few minutes ahead as `kind` shows it, and the Unix time agentshim must read
/// from it: the end of the minute shown.
fn reset_ahead(kind: &str) -> (String, u64) {
    let at = Utc::now() + chrono::Duration::minutes(3);
    let end_of_minute = u64::try_from((at.timestamp() / 60 + 1) * 60).expect("after 1970");
    let label = match kind {
        // Codex shows the reset in the local zone, without naming it.
        "codex" => at.with_timezone(&Local).format("%-I:%M %p").to_string(),
        "gemini" => at.format("%-I:%M %p UTC").to_string(),
        _ => at.format("%-I:%M%P (UTC)").to_string(),
    };
    (label, end_of_minute)
}

/// Text of `kind`'s usage-limit screen showing `label`.
fn quota_screen_text(kind: &str, label: &str) -> Vec<String> {
    match kind {
        "claude" => vec![format!("You've hit your session limit · resets {label}")],
        "codex" => vec![
            "■ You’ve hit your usage limit. Upgrade to Pro".to_owned(),
            format!("try again at {label}."),
        ],
        "gemini" => vec![
            "Usage limit reached for gemini-3.8-flash.".to_owned(),
            format!("Access resets at {label}."),
        ],
        "kiro" => vec![format!(
            "✗ You've reached the monthly usage limit for your Kiro plan. Your limit resets at \
             {label}."
        )],
        other => panic!("no fake usage-limit screen for {other}"),
    }
}

/// The menu a kind opens after its usage-limit message, and the option that stops waiting.
fn quota_menu(kind: &str) -> Option<(Vec<&'static str>, u32)> {
    match kind {
        "claude" => Some((
            vec!["Stop and wait for limit to reset", "Upgrade your plan"],
            1,
        )),
        "gemini" => Some((vec!["Keep trying", "Stop"], 2)),
        _ => None,
    }
}

/// Waits for the kind's usage-limit menu (if it has one), checks it and closes it.
async fn close_quota_menu(kind: &str, shim: &ShimHandle, events: &mut EventReader) {
    let Some((options, stop)) = quota_menu(kind) else {
        return;
    };
    let asked = events
        .wait_for("InputRequested", |e| {
            matches!(e, Event::InputRequested { .. })
        })
        .await;
    let Event::InputRequested { options: shown, .. } = asked else {
        unreachable!()
    };
    assert_eq!(shown, options);
    assert_eq!(shim.answer(stop).await.unwrap(), options[stop as usize - 1]);
}

async fn a_usage_limit_blocks_until_the_reset_shown(kind: &str) {
    let (label, reset_epoch) = reset_ahead(kind);
    let script = json!({"replies": [{"error": "quota", "reset": label, "delay": 0.2}]});
    let (_fake, shim, mut events) = limited_fake(kind, script).await;
    send(&shim, "spend the quota").await;
    let blocked = events
        .wait_for("QuotaBlocked", |e| matches!(e, Event::QuotaBlocked { .. }))
        .await;
    let Event::QuotaBlocked {
        retry_at_epoch_secs,
        retry_at_label,
        ..
    } = blocked
    else {
        unreachable!()
    };
    assert_eq!(retry_at_label.as_deref(), Some(label.as_str()));
    assert_eq!(retry_at_epoch_secs, Some(reset_epoch), "reset {label}");
    let screen = shim.capture(None).await.unwrap().content;
    for text in quota_screen_text(kind, &label) {
        assert!(screen.contains(&text), "{text:?} not on\n{screen}");
    }
    close_quota_menu(kind, &shim, &mut events).await;
    shim.kill().await.unwrap();
}

async fn held_messages_go_in_after_the_hold(kind: &str) {
    let script = json!({
        "replies": [{"error": "quota", "delay": 0.2}],
        "default": {"text": "You said: {message}", "delay": 0.1},
    });
    let (fake, shim, mut events) = limited_fake(kind, script).await;
    send(&shim, "spend the quota").await;
    let blocked = events
        .wait_for("QuotaBlocked", |e| matches!(e, Event::QuotaBlocked { .. }))
        .await;
    assert!(
        matches!(
            blocked,
            Event::QuotaBlocked {
                retry_at_epoch_secs: None,
                ..
            }
        ),
        "no reset time shown: {blocked:?}"
    );
    let held = shim.send_message("test", "held", None).await.unwrap();
    assert!(held.queued, "{held:?}");
    close_quota_menu(kind, &shim, &mut events).await;
    events
        .wait_for("QuotaResumed", |e| {
            matches!(e, Event::QuotaResumed { held_messages: 1 })
        })
        .await;
    assert_eq!(events.completion_of(&held.id).await, "You said: held");
    let held_warning = format!("message {} held", held.id);
    assert_eq!(
        events.count(
            |e| matches!(e, Event::Warning { message, .. } if message.starts_with(&held_warning))
        ),
        1,
        "{:#?}",
        events.seen
    );
    assert_eq!(fake.messages(), ["spend the quota", "held"]);
    shim.kill().await.unwrap();
}

async fn a_rate_limit_is_a_warning_beside_the_completion(kind: &str) {
    let script = json!({"replies": [{"error": "rate_limit", "delay": 0.2}]});
    let (_fake, shim, mut events) = limited_fake(kind, script).await;
    let id = send(&shim, "one more request").await;
    let response = events.completion_of(&id).await;
    let cli_says = match kind {
        "claude" => "Request rejected (429) · This request would exceed the rate limit",
        "codex" => "exceeded retry limit, last status: 429 Too Many Requests",
        _ => "Too many requests: rate limit exceeded.",
    };
    assert!(response.contains(cli_says), "{response}");
    let warned = events.count(|e| {
        matches!(e, Event::Warning { message, .. }
            if message.starts_with("rate limited: ") && message.contains(cli_says))
    });
    assert_eq!(warned, 1, "{:#?}", events.seen);
    assert_eq!(events.count(|e| matches!(e, Event::QuotaBlocked { .. })), 0);
    shim.kill().await.unwrap();
}

per_kind!(claude, codex, gemini, kiro => [held_messages_go_in_after_the_hold]);

mod reset_shown {
    use super::a_usage_limit_blocks_until_the_reset_shown;

    per_kind!(
        claude,
        codex,
        gemini,
        kiro
        => [a_usage_limit_blocks_until_the_reset_shown]
    );
}

mod rate_limits {
    use super::a_rate_limit_is_a_warning_beside_the_completion;

    per_kind!(claude, codex, kiro => [a_rate_limit_is_a_warning_beside_the_completion]);
}
