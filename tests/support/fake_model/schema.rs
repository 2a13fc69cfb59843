//! Makes a JSON value that fits a JSON schema, for side requests that ask for structured output
//! (Claude's and Codex's title requests, Gemini's router classifier and next-speaker checks).
//!
//! Only what those schemas use is understood: `type` (any case, as Gemini writes `OBJECT`),
//! `properties`, `required`, `enum`, `items`, `anyOf`/`oneOf`. Strings get a plausible value
//! chosen by property name; enums take a preferred member when present (the router picks
//! `flash`, the next-speaker check hands the turn back to the `user`), else the first.

use serde_json::{Map, Value, json};

use super::script::FAKE_TITLE;

/// Enum members chosen over the first one when a schema offers them.
const PREFERRED_ENUM: &[&str] = &["flash", "user", "simple"];

/// A value fitting `schema`; `name` is the property it is for (`""` at the top).
pub fn fill(schema: &Value, name: &str) -> Value {
    if let Some(options) = schema.get("anyOf").or_else(|| schema.get("oneOf"))
        && let Some(first) = options.as_array().and_then(|a| a.first())
    {
        return fill(first, name);
    }
    if let Some(members) = schema.get("enum").and_then(Value::as_array)
        && !members.is_empty()
    {
        let preferred = members.iter().find(|m| {
            m.as_str()
                .is_some_and(|s| PREFERRED_ENUM.contains(&s.to_lowercase().as_str()))
        });
        return preferred.unwrap_or(&members[0]).clone();
    }
    let ty = schema_type(schema);
    match ty.as_str() {
        "object" => fill_object(schema),
        "array" => match schema.get("items") {
            Some(items) => json!([fill(items, name)]),
            None => json!([]),
        },
        "integer" => json!(1),
        "number" => json!(1.0),
        "boolean" => json!(false),
        "null" => Value::Null,
        _ => {
            let mut text = string_for(name);
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                text = text.chars().take(max as usize).collect();
            }
            Value::String(text)
        }
    }
}

fn fill_object(schema: &Value) -> Value {
    let mut out = Map::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (key, sub) in props {
            out.insert(key.clone(), fill(sub, key));
        }
    }
    Value::Object(out)
}

fn schema_type(schema: &Value) -> String {
    match schema.get("type") {
        Some(Value::String(s)) => s.to_lowercase(),
        // `["string", "null"]`: the first non-null type.
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| !t.eq_ignore_ascii_case("null"))
            .unwrap_or("null")
            .to_lowercase(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ => "string".into(),
    }
}

fn string_for(name: &str) -> String {
    match name.to_lowercase().as_str() {
        "title" => FAKE_TITLE.into(),
        "reasoning" => "The fake model server always answers this way.".into(),
        "model_choice" => "flash".into(),
        "next_speaker" => "user".into(),
        _ => format!("fake {name}").trim().into(),
    }
}

/// Whether a schema (at any depth of `properties`) has a property called `name`.
pub fn has_property(schema: &Value, name: &str) -> bool {
    match schema.get("properties").and_then(Value::as_object) {
        Some(props) => props.contains_key(name) || props.values().any(|p| has_property(p, name)),
        None => false,
    }
}
