//! Documents and merge patches as clients send them: whatever the bytes, validation and merging
//! never panic or overflow the stack, and a document the rules accept after a merge can always
//! be read back (the property whose absence once made projects unreadable).
//!
//! Input: a document and a patch, as JSON, separated by the first NUL byte.

#![no_main]

use cinegen_domain::project::Documents;
use cinegen_domain::project::assets::{file_id_candidates, retain_file_ids, slot_file_ids};
use cinegen_domain::project::document::{check_shape, merge_patch};
use cinegen_domain::ValidationErrors;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (doc, patch) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"{}"[..]),
    };
    let (Ok(mut shots), Ok(patch)) = (serde_json::from_slice::<Value>(doc), serde_json::from_slice::<Value>(patch))
    else {
        return;
    };
    let _ = Documents { script_data: Value::Null, shots: shots.clone() }.validate();

    // A merge patch applied to one shot, as PATCH /projects/{id}/shots/{shot} does.
    if let Some(first) = shots.as_array_mut().and_then(|list| list.first_mut()) {
        merge_patch(first, &patch);
    } else {
        merge_patch(&mut shots, &patch);
    }
    let mut docs = Documents { script_data: patch.clone(), shots };
    let mut errors = ValidationErrors::default();
    let readable = check_shape(&docs.shots, "shots", &mut errors) & check_shape(&docs.script_data, "script_data", &mut errors);
    let _ = docs.validate();
    let _ = docs.summary();
    let _ = file_id_candidates([&docs.script_data, &docs.shots], 10_000);
    let before = slot_file_ids(&mut docs);
    let kept = retain_file_ids(&mut docs, |id| before.contains(id));
    assert!(kept.is_empty(), "ids already present are kept");

    if readable {
        for value in [&docs.shots, &docs.script_data] {
            let text = serde_json::to_string(value).expect("a value serializes");
            // Stored inside the API's envelope a few levels down, and read back.
            let wrapped = format!(r#"{{"data":{{"project":{{"shots":{text}}}}}}}"#);
            serde_json::from_str::<Value>(&wrapped).expect("an accepted document reads back");
        }
    }
});
