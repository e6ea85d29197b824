use super::views::{Pagination, ProjectListItemView, ProjectPage};
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::extract::CurrentUser;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use cinegen_domain::project::search::query_words;
use cinegen_domain::{FieldError, ValidationErrors};
use cinegen_store::{ProjectQuery, StatusFilter};
use std::collections::HashMap;

const MAX_PAGE_SIZE: u32 = 100;

fn number(
    params: &HashMap<String, String>,
    key: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, FieldError> {
    match params.get(key) {
        None => Ok(default),
        Some(raw) => raw.parse::<u32>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            FieldError::new(key, format!("must be a whole number from {} to {}", range.start(), range.end()))
        }),
    }
}

/// The caller's projects and those shared with them, newest change first.
#[utoipa::path(
    get, path = "/api/v1/projects", tag = "projects", operation_id = "list_projects",
    security(("bearer" = [])),
    params(
        ("page" = Option<u32>, Query, description = "1-based page, default 1"),
        ("size" = Option<u32>, Query, description = "items per page, 1–100, default 20"),
        ("search" = Option<String>, Query, description = "words found anywhere in title or logline, any script"),
        ("status" = Option<String>, Query, description = "active (default), archived, deleted (own, restorable) or all"),
    ),
    responses((status = 200, body = Envelope<ProjectPage>), (status = 422, body = crate::envelope::ErrorEnvelope))
)]
pub async fn list_projects(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let mut errors = ValidationErrors::default();
    let page = errors.check(number(&params, "page", 1, 1..=1_000_000));
    let size = errors.check(number(&params, "size", 20, 1..=MAX_PAGE_SIZE));
    let status = match params.get("status").map(String::as_str) {
        None | Some("") => Some(StatusFilter::Active),
        Some(raw) => StatusFilter::parse(raw).or_else(|| {
            errors.push(FieldError::new("status", "must be active, archived, deleted or all"));
            None
        }),
    };
    let search = params.get("search").map(String::as_str).unwrap_or_default();
    if search.chars().count() > 200 {
        errors.push(FieldError::new("search", "must be at most 200 characters"));
    }
    let (Some(page), Some(size), Some(status)) = (page, size, status) else {
        return Err(AppError::validation(errors));
    };
    errors.into_result().map_err(AppError::validation)?;
    let query = ProjectQuery { user: claims.sub, page, size, words: query_words(search), status };
    let key = format!("{page}/{size}/{status:?}/{}", query.words.join(" "));
    let cached = state.seen_projects.of(claims.sub);
    if let Some(page) = cached.get(&key) {
        return Ok(envelope::ok_serialised([page]));
    }
    let (items, total) = state.projects.list(&query).await?;
    let pages = (total + i64::from(size) - 1) / i64::from(size);
    let thumbs: Vec<_> = items.iter().map(|item| (item.id, item.thumbnail.clone())).collect();
    let minted = state.assets.thumbnail_urls(&thumbs).await?;
    let page = ProjectPage {
        items: items
            .into_iter()
            .map(|item| {
                let minted = minted.get(&item.id).cloned();
                let mut view = ProjectListItemView::from(item);
                let link = minted.or(view.thumbnail_url.take());
                view.set_thumbnail(link);
                view
            })
            .collect(),
        pagination: Pagination { page, size, total, pages },
    };
    let page = bytes::Bytes::from(serde_json::to_vec(&page).map_err(AppError::internal)?);
    cached.insert(key, page.clone());
    Ok(envelope::ok_serialised([page]))
}
