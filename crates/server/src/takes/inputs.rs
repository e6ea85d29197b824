//! What a take was made from, as the documents give it, in one fingerprint: the prompt the
//! documents build, the reference files (the scene, each character's chosen look, the base look of
//! a variation), the frames a clip starts and ends on, the lines a shot speaks and the voices
//! they are said in, the clips a film joins. A take whose
//! fingerprint no longer matches the documents' is stale: regenerating it would give something
//! else. A change upstream (a character's new look) thus marks everything made from it.

use crate::ai::targets::{Target, image_plan, video_plan};
use cinegen_domain::project::assets::{SlotId, TakeSlot};
use cinegen_store::ProjectRecord;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The fingerprint of the inputs `slot` has now; `None` when the slot is gone.
pub fn inputs_hash(project: &ProjectRecord, slot: &TakeSlot) -> Option<String> {
    let material = match slot {
        TakeSlot::Asset(SlotId::Clip { shot }) => {
            let plan = video_plan(project, shot, None).ok()?;
            let file = |frame: &Option<crate::ai::targets::FrameRef>| frame.as_ref().and_then(|f| f.file);
            json!({
                "prompt": plan.prompt,
                "duration": plan.duration,
                "frames": [file(&plan.start), file(&plan.end), file(&plan.full)],
            })
        }
        // A spoken shot is made from its lines and the voices they are said in.
        TakeSlot::Asset(SlotId::Voice { shot }) => {
            json!({ "lines": crate::ai::speech::lines_of(project, shot)? })
        }
        TakeSlot::Asset(slot) => {
            let plan = image_plan(project, &Target::of_slot(slot)?).ok()?;
            json!({
                "prompt": plan.prompt,
                "size": [plan.width, plan.height],
                "panels": plan.panels,
                "references": plan.references,
            })
        }
        TakeSlot::Film => {
            let clips: Vec<Value> = project
                .docs
                .shots
                .as_array()
                .into_iter()
                .flatten()
                .map(|shot| {
                    let file = |object: &str, field: &str| {
                        shot.get(object).and_then(|o| o.get(field)).cloned().unwrap_or(Value::Null)
                    };
                    // A shot without a spoken voice keeps the fingerprint films had before voices.
                    match file("voice", "audioFileId") {
                        Value::Null => file("interval", "videoFileId"),
                        voice => json!([file("interval", "videoFileId"), voice]),
                    }
                })
                .collect();
            json!({ "clips": clips })
        }
    };
    Some(hex::encode(Sha256::digest(material.to_string().as_bytes())))
}
