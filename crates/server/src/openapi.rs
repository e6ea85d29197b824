//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use crate::api;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "CineGen API", description = "AI motion-comic and short-drama production workbench."),
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
        api::projects::export::export_project,
        api::import::import_legacy,
        api::ai::parse_script,
        api::ai::generate_script,
        api::ai::generate_shots,
        api::ai::visual_prompt,
        api::ai::generate_image,
        api::ai::generate_video,
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
        api::health::health,
        api::health::ready,
        api::health::metrics,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Accounts and sessions"), (name = "projects", description = "Projects, their documents and members"), (name = "storage", description = "Uploads, file URLs and quotas"), (name = "ai", description = "Generation: script, shots, prompts, images, clips, merges, batches, usage"), (name = "settings", description = "Provider keys, base URLs and default models"), (name = "tasks", description = "Background work: status, progress, cancel, retry"), (name = "ops", description = "Probes and metrics"))
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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
