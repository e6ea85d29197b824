//! The OpenAPI document is kept as a reviewed snapshot, so every API change shows in a diff.
//! After an intended change, regenerate it with `UPDATE_SNAPSHOTS=1 scripts/test`.

use std::path::PathBuf;

#[test]
fn openapi_document_matches_the_snapshot() {
    let current = serde_json::to_string_pretty(&cinegen_server::openapi::document()).unwrap() + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &current).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == current,
        "the OpenAPI document changed; review it and run `UPDATE_SNAPSHOTS=1 scripts/test` to accept it"
    );
}
