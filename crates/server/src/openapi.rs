//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use crate::api;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "CineGen API", description = include_str!("../../../docs/API.md")),
    paths(
        api::auth::register::register,
        api::auth::login::login,
        api::auth::refresh::refresh,
        api::auth::logout::logout,
        api::auth::me::me,
        api::projects::list::list_projects,
        api::projects::crud::create_project,
        api::projects::crud::get_project,
        api::projects::crud::update_project,
        api::projects::crud::delete_project,
        api::projects::crud::restore_project,
        api::projects::shots::patch_shot,
        api::projects::shots::patch_keyframe,
        api::projects::members::share_project,
        api::projects::members::list_members,
        api::projects::members::remove_member,
        api::projects::members::cancel_invitation,
        api::projects::export::export_project,
        api::projects::export::subtitles,
        api::projects::export::timeline,
        api::projects::history::list_history,
        api::projects::history::get_revision,
        api::projects::history::restore_revision,
        api::ai::cost::estimate,
        api::budgets::get_budget,
        api::budgets::set_budget,
        api::budgets::get_project_budget,
        api::budgets::set_project_budget,
        api::ai::cost::spending,
        api::ai::cost::spending_csv,
        api::projects::takes::list_takes,
        api::projects::takes::choose_take,
        api::projects::takes::update_take,
        api::projects::takes::delete_take,
        api::projects::takes::rerun_take,
        api::import::import_legacy,
        api::ai::parse_script,
        api::ai::generate_script,
        api::ai::generate_shots,
        api::ai::visual_prompt,
        api::ai::generate_image,
        api::ai::generate_video,
        api::ai::speech::generate_speech,
        api::ai::speech::preview_voice,
        api::ai::speech::list_voices,
        api::projects::audit::project_audit,
        api::projects::export::subtitle_cues,
        api::ai::merge_video,
        api::ai::generate_batch,
        api::ai::usage,
        api::ai::export_archive,
        api::settings::get_providers,
        api::settings::put_providers,
        api::settings::test_provider,
        api::tasks::get_task,
        api::tasks::list_tasks,
        api::tasks::cancel_task,
        api::tasks::retry_task,
        api::ws::ticket,
        api::storage::upload::create_upload,
        api::storage::upload::complete_upload,
        api::storage::files::file_url,
        api::storage::files::delete_file,
        api::storage::files::storage_usage,
        api::storage::multipart::start_multipart_upload,
        api::storage::multipart::upload_chunk,
        api::storage::multipart::list_upload_parts,
        api::storage::multipart::complete_multipart_upload,
        api::storage::multipart::abort_multipart_upload,
        api::callbacks::provider_callback,
        api::health::health,
        api::health::ready,
        api::health::metrics,
    ),
    modifiers(&BearerAuth, &EveryAnswer),
    tags((name = "auth", description = "Accounts and sessions"), (name = "projects", description = "Projects, their documents and members"), (name = "storage", description = "Uploads, file URLs and quotas"), (name = "ai", description = "Generation: script, shots, prompts, images, clips, merges, batches, usage"), (name = "settings", description = "Provider keys, base URLs and default models"), (name = "budgets", description = "Monthly spending caps and their use"), (name = "takes", description = "Every generation kept: provenance, choice, pins, re-runs"), (name = "tasks", description = "Background work: status, progress, cancel, retry"), (name = "ops", description = "Probes and metrics"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Declares, on every operation, the answers that come from the layers rather than the handler:
/// 401 where a token is needed; 400 and 413 where a body is read, 415 and 422 where it is JSON;
/// 404 where a path names something; 422 where a query is read; 413 for any body (the limit).
/// Each with the error envelope, so a client (and schemathesis) finds every status documented.
struct EveryAnswer;

impl Modify for EveryAnswer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build();
            ResponseBuilder::new().description(description).content("application/json", content).build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations =
                [item.get.as_mut(), item.put.as_mut(), item.post.as_mut(), item.delete.as_mut(), item.patch.as_mut()];
            for operation in operations.into_iter().flatten() {
                let mut answers: Vec<(&str, &str)> = Vec::new();
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    answers.push(("401", "a missing, expired, revoked or forged token"));
                }
                if let Some(body) = &operation.request_body {
                    answers.push(("413", "the body is larger than the limit"));
                    answers.push(("400", "a malformed body"));
                    if body.content.keys().any(|c| c.contains("json")) {
                        answers.push(("415", "the body is not JSON"));
                        answers.push(("422", "a field is missing, mistyped, unknown or invalid"));
                    }
                }
                if path.contains('{') {
                    answers.push(("404", "nothing of that id that the caller can see"));
                }
                let queried = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query));
                if queried {
                    answers.push(("422", "a query parameter is invalid"));
                }
                for (status, description) in answers {
                    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
