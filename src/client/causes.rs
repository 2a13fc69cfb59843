//! Error text with its causes: each cause's message once (tonic's transport errors repeat
//! their cause's message in their own).

use std::error::Error;

/// `text`, then `": cause"` for each cause from `source` on whose message `text` does not
/// already contain.
pub fn with_causes(mut text: String, mut source: Option<&(dyn Error + 'static)>) -> String {
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}
