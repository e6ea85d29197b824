//! The JSON Schema of each text task's answer, for vendors that constrain their output to one
//! (OpenAI's strict `json_schema`, Gemini's `responseSchema`): the shapes `prompts.rs` describes
//! in words, as a schema. Strict mode wants every property required and no others, so optional
//! values are nullable instead of absent.

use crate::capability::TextTask;
use serde_json::{Value, json};

fn string() -> Value {
    json!({"type": "string"})
}

fn nullable_string() -> Value {
    json!({"type": ["string", "null"]})
}

fn number() -> Value {
    json!({"type": "number"})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// An object of exactly these properties, all required.
fn object(properties: &[(&str, Value)]) -> Value {
    let names: Vec<&str> = properties.iter().map(|(name, _)| *name).collect();
    let map: serde_json::Map<String, Value> = properties.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    json!({"type": "object", "properties": map, "required": names, "additionalProperties": false})
}

fn shot() -> Value {
    let keyframe = object(&[("id", string()), ("type", string()), ("visualPrompt", string()), ("status", string())]);
    let interval = object(&[
        ("id", string()),
        ("startKeyframeId", string()),
        ("endKeyframeId", string()),
        ("duration", number()),
        ("motionStrength", number()),
        ("status", string()),
    ]);
    object(&[
        ("id", string()),
        ("sceneId", string()),
        ("actionSummary", string()),
        ("dialogue", nullable_string()),
        ("cameraMovement", string()),
        ("shotSize", string()),
        ("characters", array(string())),
        ("keyframes", array(keyframe)),
        ("interval", interval),
    ])
}

fn script_data() -> Value {
    let variation = object(&[("id", string()), ("name", string()), ("visualPrompt", string())]);
    let character = object(&[
        ("id", string()),
        ("name", string()),
        ("gender", string()),
        ("age", string()),
        ("personality", string()),
        ("visualPrompt", string()),
        ("variations", array(variation)),
    ]);
    let scene = object(&[
        ("id", string()),
        ("location", string()),
        ("time", string()),
        ("atmosphere", string()),
        ("visualPrompt", string()),
    ]);
    let paragraph = object(&[("id", string()), ("text", string()), ("sceneRefId", string())]);
    object(&[
        ("title", string()),
        ("genre", string()),
        ("logline", string()),
        ("targetDuration", string()),
        ("language", string()),
        ("characters", array(character)),
        ("scenes", array(scene)),
        ("storyParagraphs", array(paragraph)),
    ])
}

/// The answer's name (`[a-zA-Z0-9_-]`, as OpenAI takes it) and schema.
pub fn answer_schema(task: &TextTask) -> (&'static str, Value) {
    match task {
        TextTask::ParseScript { .. } => {
            ("script_breakdown", object(&[("scriptData", script_data()), ("shots", array(shot()))]))
        }
        TextTask::GenerateScript { .. } => ("screenplay", object(&[("title", string()), ("script", string())])),
        TextTask::GenerateShots { .. } => ("shot_list", object(&[("shots", array(shot()))])),
        TextTask::VisualPrompt { .. } => ("visual_prompt", object(&[("visualPrompt", string())])),
    }
}

/// The same schema in Gemini's `Schema` form (the OpenAPI subset): upper-case types, `nullable`
/// instead of a `null` type, no `additionalProperties`, `propertyOrdering` to keep the order.
pub fn gemini_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "additionalProperties" => {}
                    "type" => match value {
                        Value::Array(types) => {
                            let main = types.iter().find(|t| *t != "null").and_then(Value::as_str).unwrap_or("string");
                            out.insert("type".into(), json!(main.to_uppercase()));
                            out.insert("nullable".into(), json!(true));
                        }
                        Value::String(t) => {
                            out.insert("type".into(), json!(t.to_uppercase()));
                        }
                        other => {
                            out.insert("type".into(), other.clone());
                        }
                    },
                    "properties" => {
                        let properties: serde_json::Map<String, Value> = value
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(name, property)| (name.clone(), gemini_schema(property)))
                            .collect();
                        // The order the prompt shows (`required` keeps it; the map is sorted).
                        out.insert("propertyOrdering".into(), map.get("required").cloned().unwrap_or(json!([])));
                        out.insert("properties".into(), Value::Object(properties));
                    }
                    _ => {
                        out.insert(key.clone(), gemini_schema(value));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(gemini_schema).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strict mode's rule: every object lists all its properties as required and allows no others.
    fn strict(schema: &Value) -> bool {
        match schema {
            Value::Object(map) if map.get("type") == Some(&json!("object")) => {
                let properties = map["properties"].as_object().unwrap();
                let required: Vec<&str> =
                    map["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
                map["additionalProperties"] == false
                    && properties.keys().all(|k| required.contains(&k.as_str()))
                    && properties.values().all(strict)
            }
            Value::Object(map) => map.get("items").is_none_or(strict),
            _ => true,
        }
    }

    #[test]
    fn every_answer_schema_is_strict() {
        let tasks = [
            TextTask::ParseScript { script: String::new(), genre: String::new(), duration_secs: 60 },
            TextTask::GenerateScript { idea: String::new(), genre: String::new(), duration_secs: 60 },
            TextTask::GenerateShots { script_data: json!({}), scene_id: None, duration_secs: 60 },
            TextTask::VisualPrompt {
                target: crate::capability::PromptTarget::Scene,
                subject: json!({}),
                context: json!({}),
            },
        ];
        for task in &tasks {
            let (name, schema) = answer_schema(task);
            assert!(strict(&schema), "{name}: {schema}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        }
    }

    #[test]
    fn gemini_form_has_upper_case_types_and_nullables() {
        let (_, schema) =
            answer_schema(&TextTask::GenerateShots { script_data: json!({}), scene_id: None, duration_secs: 9 });
        let gemini = gemini_schema(&schema);
        assert_eq!(gemini["type"], "OBJECT");
        let shot = &gemini["properties"]["shots"]["items"];
        assert_eq!(shot["properties"]["dialogue"], json!({"type": "STRING", "nullable": true}));
        assert_eq!(shot["properties"]["interval"]["properties"]["duration"]["type"], "NUMBER");
        assert!(!gemini.to_string().contains("additionalProperties"));
        assert_eq!(shot["propertyOrdering"][0], "id");
    }
}
