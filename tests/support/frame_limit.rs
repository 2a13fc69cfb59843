//! Messages of an exact encoded size, for probing the frame-size limit (`MAX_FRAME_LEN`).

use agentshim::protocol::Command;

/// A `SendMessage` whose JSON encoding is exactly `json_len` bytes long (padding the body).
pub fn message_with_json_len(json_len: usize) -> Command {
    let message = |body: String| Command::SendMessage {
        from: "padder".to_string(),
        body,
        message_id: None,
    };
    let overhead = serde_json::to_vec(&message(String::new()))
        .expect("serialize")
        .len();
    let padded = message("x".repeat(json_len - overhead));
    assert_eq!(
        serde_json::to_vec(&padded).expect("serialize").len(),
        json_len
    );
    padded
}
