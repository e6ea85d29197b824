//! The contract suite: every scenario runs against SQLite and PostgreSQL, proving the two engines
//! behave the same. Each test gets a database of its own.

use chrono::{Duration, Utc};
use cinegen_domain::project::{ChangeError, Documents, ProjectRole, ProjectSettings, ProjectStatus};
use cinegen_domain::{ByteSize, DisplayName, Email, SessionId, UserId};
use cinegen_domain::{FileId, FileKind, FileStatus, ProjectId, TakeId, TaskId};
use cinegen_store::testing::TestDatabase;
use cinegen_store::{
    Author, ClaimRequest, Engine, FileRecord, NewSession, NewTask, NewUser, Outcome, ProjectQuery, ProjectRecord,
    ProviderSettingRecord, RotateOutcome, StatusFilter, Store, StoreError, TakeRecord, TaskQuery, TaskStatus,
    UsageEvent, connect,
};
use serde_json::json;
use std::sync::Arc;

/// Generates `name::sqlite` and `name::postgres` from one `async fn name(store)`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::run(cinegen_store::Engine::Sqlite, super::$name).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::run(cinegen_store::Engine::Postgres, super::$name).await;
            }
        }
    )*};
}

contract!(
    users_round_trip,
    emails_are_unique_in_any_case,
    missing_users_are_not_found,
    quotas_hold_more_than_two_gib,
    refresh_rotation_spends_the_token,
    replayed_token_is_reported_as_reuse,
    expired_and_unknown_tokens,
    concurrent_rotations_let_one_win,
    revoking_a_family_ends_it,
    projects_are_visible_to_owner_and_members_only,
    project_lists_page_filter_and_search,
    changes_bump_the_version_and_refusals_write_nothing,
    concurrent_changes_to_different_shots_are_all_kept,
    large_documents_round_trip_with_unknown_fields,
    deleted_projects_are_purged_after_retention,
    files_charge_the_quota_atomically_and_refund_on_delete,
    pending_uploads_reserve_the_quota_until_they_end,
    files_are_visible_to_owner_and_project_members,
    leases_let_one_holder_run_at_a_time,
    cleanup_finds_expired_files_and_files_of_purgeable_projects,
    enqueue_is_idempotent_per_user,
    the_queue_ahead_counts_what_runs_first,
    queue_stats_count_each_type_and_date_the_oldest_due,
    the_pool_is_sampled,
    the_inventory_counts_accounts_projects_and_live_files,
    a_handed_back_task_is_claimed_again_at_once_with_its_job,
    claims_follow_priority_and_never_hand_out_a_task_twice,
    lapsed_leases_are_rescued_and_late_answers_ignored,
    retries_back_off_until_attempts_run_out,
    cancelling_pending_and_running_tasks,
    busy_users_wait_for_their_running_tasks,
    batch_claims_keep_priority_and_the_running_cap,
    batch_completions_write_only_attempts_that_hold_their_lease,
    committed_project_writes_are_announced_to_owner_and_members,
    tasks_are_visible_through_their_project_and_failed_ones_retry,
    a_change_and_its_task_land_together_or_not_at_all,
    batches_find_their_items_and_old_tasks_are_pruned,
    usage_is_summed_by_day_provider_and_kind,
    provider_settings_are_kept_per_user,
    several_keys_are_kept_and_refused_ones_parked,
    document_history_keeps_what_people_replaced,
    document_history_is_capped_and_pruned,
    document_history_keeps_a_parse_but_not_each_picture,
    invitations_become_memberships_when_the_address_registers,
    takes_share_files_and_prune_beyond_the_keep,
    caps_admit_work_atomically_and_count_what_it_really_cost,
    the_audit_log_lists_a_projects_events_newest_first,
);

async fn run<F, Fut>(engine: Engine, scenario: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = TestDatabase::create(engine).await;
    let store = connect(&db.connect_options()).await.expect("connect and migrate");
    scenario(store.clone()).await;
    store.close().await;
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        name: DisplayName::parse("测试 User").unwrap(),
        password_hash: "$argon2id$fake".into(),
        quota_total: ByteSize(10 * ByteSize::GIB),
        now: Utc::now(),
    }
}

fn new_session(user_id: UserId, family_id: SessionId, hash: &str, ttl: Duration) -> NewSession {
    let now = Utc::now();
    NewSession {
        id: uuid::Uuid::now_v7(),
        family_id,
        user_id,
        token_hash: hash.into(),
        user_agent: Some("contract".into()),
        ip: Some("127.0.0.1".into()),
        created_at: now,
        expires_at: now + ttl,
    }
}

async fn users_round_trip(store: Arc<dyn Store>) {
    let created = store.create_user(new_user("ann@example.com")).await.unwrap();
    assert_eq!(created.name, "测试 User");
    assert_eq!(created.quota_used, ByteSize(0));
    let by_id = store.user_by_id(created.id).await.unwrap().unwrap();
    assert_eq!(by_id.email.as_str(), "ann@example.com");
    assert_eq!(by_id.created_at.timestamp_millis(), created.created_at.timestamp_millis());
    let by_email = store.user_by_email(&Email::parse("ANN@example.com").unwrap()).await.unwrap();
    assert_eq!(by_email.unwrap().id, created.id);
    store.set_password_hash(created.id, "$argon2id$other", Utc::now()).await.unwrap();
    assert_eq!(store.user_by_id(created.id).await.unwrap().unwrap().password_hash, "$argon2id$other");
}

async fn emails_are_unique_in_any_case(store: Arc<dyn Store>) {
    store.create_user(new_user("bob@example.com")).await.unwrap();
    let again = store.create_user(new_user("Bob@Example.com")).await;
    assert!(matches!(again, Err(StoreError::Conflict("users_email"))), "{again:?}");
}

async fn missing_users_are_not_found(store: Arc<dyn Store>) {
    assert!(store.user_by_id(UserId::new()).await.unwrap().is_none());
    assert!(store.user_by_email(&Email::parse("nobody@example.com").unwrap()).await.unwrap().is_none());
    let quota = store.set_quota_total(UserId::new(), ByteSize(1), Utc::now()).await;
    assert!(matches!(quota, Err(StoreError::NotFound)));
}

async fn quotas_hold_more_than_two_gib(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("big@example.com")).await.unwrap();
    let five_tib = ByteSize(5 * 1024 * ByteSize::GIB);
    store.set_quota_total(user.id, five_tib, Utc::now()).await.unwrap();
    assert_eq!(store.user_by_id(user.id).await.unwrap().unwrap().quota_total, five_tib);
}

async fn refresh_rotation_spends_the_token(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("rot@example.com")).await.unwrap();
    let family = SessionId::new();
    store.create_session(new_session(user.id, family, "h1", Duration::days(1))).await.unwrap();
    // The successor's user and family come from the spent row, whatever the caller put there.
    let next = new_session(UserId::new(), SessionId::new(), "h2", Duration::days(1));
    let outcome = store.rotate_session("h1", next).await.unwrap();
    assert_eq!(outcome, RotateOutcome::Rotated { user_id: user.id, family_id: family });
    let third = store.rotate_session("h2", new_session(user.id, family, "h3", Duration::days(1))).await.unwrap();
    assert_eq!(third, RotateOutcome::Rotated { user_id: user.id, family_id: family });
}

async fn replayed_token_is_reported_as_reuse(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("replay@example.com")).await.unwrap();
    let family = SessionId::new();
    store.create_session(new_session(user.id, family, "a1", Duration::days(1))).await.unwrap();
    store.rotate_session("a1", new_session(user.id, family, "a2", Duration::days(1))).await.unwrap();
    let replay = store.rotate_session("a1", new_session(user.id, family, "a3", Duration::days(1))).await.unwrap();
    assert_eq!(replay, RotateOutcome::Reused { user_id: user.id, family_id: family });
}

async fn expired_and_unknown_tokens(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("old@example.com")).await.unwrap();
    let family = SessionId::new();
    store.create_session(new_session(user.id, family, "e1", Duration::seconds(-5))).await.unwrap();
    let expired = store.rotate_session("e1", new_session(user.id, family, "e2", Duration::days(1))).await.unwrap();
    assert_eq!(expired, RotateOutcome::Expired);
    let unknown = store.rotate_session("never", new_session(user.id, family, "e3", Duration::days(1))).await.unwrap();
    assert_eq!(unknown, RotateOutcome::Unknown);
}

async fn concurrent_rotations_let_one_win(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("race@example.com")).await.unwrap();
    let family = SessionId::new();
    store.create_session(new_session(user.id, family, "r0", Duration::days(1))).await.unwrap();
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store.rotate_session("r0", new_session(user.id, family, &format!("r1-{i}"), Duration::days(1))).await
        })
    });
    let outcomes: Vec<RotateOutcome> =
        futures::future::join_all(attempts).await.into_iter().map(|o| o.unwrap().unwrap()).collect();
    let won = outcomes.iter().filter(|o| matches!(o, RotateOutcome::Rotated { .. })).count();
    let reused = outcomes.iter().filter(|o| matches!(o, RotateOutcome::Reused { .. })).count();
    assert_eq!((won, reused), (1, 7), "{outcomes:?}");
}

async fn revoking_a_family_ends_it(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("out@example.com")).await.unwrap();
    let family = SessionId::new();
    let other_family = SessionId::new();
    store.create_session(new_session(user.id, family, "f1", Duration::days(1))).await.unwrap();
    store.create_session(new_session(user.id, other_family, "g1", Duration::days(1))).await.unwrap();
    assert_eq!(store.revoke_family(family, Utc::now()).await.unwrap(), 1);
    let after = store.rotate_session("f1", new_session(user.id, family, "f2", Duration::days(1))).await.unwrap();
    assert!(matches!(after, RotateOutcome::Reused { .. }));
    // The other login of the same user is untouched until every session of the user is revoked.
    let other = store.rotate_session("g1", new_session(user.id, other_family, "g2", Duration::days(1))).await.unwrap();
    assert!(matches!(other, RotateOutcome::Rotated { .. }));
    // Only the family still holding a live token counts as signed in; a rotation keeps it so.
    let unknown = SessionId::new();
    let live = store.live_families(&[family, other_family, unknown], Utc::now()).await.unwrap();
    assert_eq!(live, [other_family]);
    assert!(store.live_families(&[], Utc::now()).await.unwrap().is_empty());
    assert_eq!(store.revoke_user_sessions(user.id, Utc::now()).await.unwrap(), 1);
    let gone = store.rotate_session("g2", new_session(user.id, other_family, "g3", Duration::days(1))).await.unwrap();
    assert!(matches!(gone, RotateOutcome::Reused { .. }));
    assert!(store.live_families(&[other_family], Utc::now()).await.unwrap().is_empty(), "signed out everywhere");
}

fn project(owner: UserId, title: &str, logline: &str) -> ProjectRecord {
    let now = Utc::now();
    ProjectRecord {
        id: ProjectId::new(),
        owner_id: owner,
        title: title.into(),
        status: ProjectStatus::Active,
        settings: ProjectSettings::default(),
        raw_script: String::new(),
        docs: Documents { script_data: json!({"title": title, "logline": logline}), shots: json!([]) },
        extra: Default::default(),
        merged_video_file_id: None,
        version: 1,
        created_at: now,
        updated_at: now,
        updated_by: Some(owner),
        deleted_at: None,
    }
}

fn query(user: UserId) -> ProjectQuery {
    ProjectQuery { user, page: 1, size: 20, words: Vec::new(), status: StatusFilter::Active }
}

async fn projects_are_visible_to_owner_and_members_only(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("owner@example.com")).await.unwrap();
    let member = store.create_user(new_user("member@example.com")).await.unwrap();
    let stranger = store.create_user(new_user("stranger@example.com")).await.unwrap();
    let record = project(owner.id, "青禾记", "蒙冤少女");
    store.create_project(&record).await.unwrap();
    let (loaded, role) = store.project_for(record.id, owner.id).await.unwrap().unwrap();
    assert_eq!((loaded.title.as_str(), role), ("青禾记", ProjectRole::Owner));
    assert!(store.project_for(record.id, stranger.id).await.unwrap().is_none());
    assert!(store.access_info(record.id, member.id).await.unwrap().is_none());

    store.set_member(record.id, member.id, ProjectRole::Viewer, Utc::now()).await.unwrap();
    assert_eq!(store.access_info(record.id, member.id).await.unwrap().unwrap().role, ProjectRole::Viewer);
    store.set_member(record.id, member.id, ProjectRole::Editor, Utc::now()).await.unwrap();
    let info = store.access_info(record.id, member.id).await.unwrap().unwrap();
    assert_eq!((info.role, info.version, info.status), (ProjectRole::Editor, 1, ProjectStatus::Active));
    let members = store.members(record.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].email.as_str(), members[0].role), ("member@example.com", ProjectRole::Editor));
    let (shared, _) = store.list_projects(&query(member.id)).await.unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].role, ProjectRole::Editor);
    assert!(store.remove_member(record.id, member.id).await.unwrap());
    assert!(!store.remove_member(record.id, member.id).await.unwrap());
    assert!(store.project_for(record.id, member.id).await.unwrap().is_none());
}

async fn project_lists_page_filter_and_search(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("lists@example.com")).await.unwrap();
    let other = store.create_user(new_user("other-lists@example.com")).await.unwrap();
    for i in 0..23 {
        store.create_project(&project(owner.id, &format!("Draft {i:02}"), "nothing")).await.unwrap();
    }
    store.create_project(&project(owner.id, "古装少女的复仇", "宫廷")).await.unwrap();
    store.create_project(&project(owner.id, "Neon Rain", "A courier's revenge in the undercity")).await.unwrap();
    store.create_project(&project(other.id, "少女 of someone else", "x")).await.unwrap();

    let (first, total) = store.list_projects(&query(owner.id)).await.unwrap();
    assert_eq!((first.len(), total), (20, 25));
    let (last, total) = store.list_projects(&ProjectQuery { page: 2, ..query(owner.id) }).await.unwrap();
    assert_eq!((last.len(), total), (5, 25));
    assert_eq!(first[0].title, "Neon Rain", "newest first");

    let search = |q: &str| ProjectQuery { words: cinegen_domain::project::search::query_words(q), ..query(owner.id) };
    let titles = |items: Vec<cinegen_store::ProjectListItem>| items.into_iter().map(|i| i.title).collect::<Vec<_>>();
    assert_eq!(titles(store.list_projects(&search("少女")).await.unwrap().0), ["古装少女的复仇"]);
    assert_eq!(titles(store.list_projects(&search("复仇")).await.unwrap().0), ["古装少女的复仇"]);
    assert_eq!(titles(store.list_projects(&search("venge")).await.unwrap().0), ["Neon Rain"]);
    assert_eq!(titles(store.list_projects(&search("NEON under")).await.unwrap().0), ["Neon Rain"]);
    assert_eq!(store.list_projects(&search("draft")).await.unwrap().1, 23);
    assert_eq!(store.list_projects(&search("nowhere")).await.unwrap().1, 0);
}

async fn changes_bump_the_version_and_refusals_write_nothing(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("changes@example.com")).await.unwrap();
    let record = project(owner.id, "Before", "old logline");
    store.create_project(&record).await.unwrap();
    let changed = store
        .change_project(
            record.id,
            Box::new(|p| {
                p.title = "After".into();
                p.docs.script_data["logline"] = json!("brand new logline");
                Ok(())
            }),
        )
        .await
        .unwrap();
    assert_eq!(changed.version, 2);
    let (loaded, _) = store.project_for(record.id, owner.id).await.unwrap().unwrap();
    assert_eq!((loaded.title.as_str(), loaded.version), ("After", 2));
    let search = |q: &str| ProjectQuery { words: vec![q.into()], ..query(owner.id) };
    assert_eq!(store.list_projects(&search("brand")).await.unwrap().1, 1);
    assert_eq!(store.list_projects(&search("old")).await.unwrap().1, 0);

    let refused = store
        .change_project(
            record.id,
            Box::new(|p| {
                p.title = "Never".into();
                Err(ChangeError::Conflict { current_version: p.version })
            }),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Rejected(ChangeError::Conflict { current_version: 2 }))));
    let (loaded, _) = store.project_for(record.id, owner.id).await.unwrap().unwrap();
    assert_eq!((loaded.title.as_str(), loaded.version), ("After", 2));
    let missing = store.change_project(ProjectId::new(), Box::new(|_| Ok(()))).await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

async fn concurrent_changes_to_different_shots_are_all_kept(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("concurrent@example.com")).await.unwrap();
    let mut record = project(owner.id, "Shots", "");
    record.docs.shots = json!((0..10).map(|i| json!({"id": format!("shot-{i}"), "keyframes": []})).collect::<Vec<_>>());
    store.create_project(&record).await.unwrap();
    let edits = (0..10).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .change_project(
                    record.id,
                    Box::new(move |p| {
                        let (_, shot) = p.docs.shot_mut(&format!("shot-{i}")).unwrap();
                        shot.insert("dialogue".into(), json!(format!("line {i}")));
                        Ok(())
                    }),
                )
                .await
        })
    });
    for result in futures::future::join_all(edits).await {
        result.unwrap().unwrap();
    }
    let (loaded, _) = store.project_for(record.id, owner.id).await.unwrap().unwrap();
    assert_eq!(loaded.version, 11);
    for i in 0..10 {
        assert_eq!(loaded.docs.shots[i]["dialogue"], format!("line {i}"));
    }
}

async fn large_documents_round_trip_with_unknown_fields(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("large@example.com")).await.unwrap();
    let mut record = project(owner.id, "Epic", "300 shots");
    record.docs.shots = json!(
        (0..300)
            .map(|i| json!({
                "id": format!("shot-{i}"), "sceneId": "scene-1", "actionSummary": "长镜头".repeat(20),
                "keyframes": [{"id": format!("kf-{i}"), "type": "start", "status": "completed",
                               "imageUrl": format!("https://cdn.example.com/{i}.png"), "futureKeyframeField": [i]}],
                "futureShotField": {"nested": {"deep": i}}
            }))
            .collect::<Vec<_>>()
    );
    record.extra.insert("futureTopLevel".into(), json!({"kept": true}));
    store.create_project(&record).await.unwrap();
    let (loaded, _) = store.project_for(record.id, owner.id).await.unwrap().unwrap();
    assert_eq!(loaded.docs, record.docs);
    assert_eq!(loaded.extra["futureTopLevel"], json!({"kept": true}));
    let (items, _) = store.list_projects(&query(owner.id)).await.unwrap();
    assert_eq!((items[0].shot_count, items[0].keyframes_done), (300, 300));
    assert_eq!(items[0].thumbnail.as_deref(), Some("https://cdn.example.com/0.png"));
}

async fn deleted_projects_are_purged_after_retention(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("purge@example.com")).await.unwrap();
    let old = project(owner.id, "Old", "");
    let recent = project(owner.id, "Recent", "");
    for record in [&old, &recent] {
        store.create_project(record).await.unwrap();
    }
    let deleted_at = |days: i64| {
        Box::new(move |p: &mut ProjectRecord| {
            p.status = ProjectStatus::Deleted;
            p.deleted_at = Some(Utc::now() - Duration::days(days));
            Ok(())
        })
    };
    store.change_project(old.id, deleted_at(40)).await.unwrap();
    store.change_project(recent.id, deleted_at(1)).await.unwrap();
    let (deleted, _) =
        store.list_projects(&ProjectQuery { status: StatusFilter::Deleted, ..query(owner.id) }).await.unwrap();
    assert_eq!(deleted.len(), 2);
    let purged = store.purge_projects_deleted_before(Utc::now() - Duration::days(30)).await.unwrap();
    assert_eq!(purged, vec![old.id]);
    assert!(store.project_for(old.id, owner.id).await.unwrap().is_none());
    assert!(store.project_for(recent.id, owner.id).await.unwrap().is_some());
}

fn file(user: UserId, project: Option<ProjectId>, size: i64, status: FileStatus) -> FileRecord {
    let now = Utc::now();
    let id = FileId::new();
    FileRecord {
        id,
        user_id: user,
        project_id: project,
        kind: FileKind::Scene,
        file_name: "scene.png".into(),
        content_type: "image/png".into(),
        file_size: size,
        sha256: None,
        storage_key: format!("users/{user}/x/{id}.png"),
        status,
        created_at: now,
        updated_at: now,
        expires_at: None,
    }
}

async fn pending_uploads_reserve_the_quota_until_they_end(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("reserve@example.com")).await.unwrap();
    store.set_quota_total(user.id, ByteSize(1000), Utc::now()).await.unwrap();
    let upload = |size| {
        let mut f = file(user.id, None, size, FileStatus::Pending);
        f.expires_at = Some(Utc::now() + Duration::hours(1));
        f
    };
    // Ten promises of 300 bytes race against a 1000-byte quota: three are reserved.
    let promises = (0..10).map(|_| {
        let (store, f) = (store.clone(), upload(300));
        tokio::spawn(async move { store.create_pending_file(&f, 100).await.map(|()| f) })
    });
    let results = futures::future::join_all(promises).await;
    let reserved: Vec<FileRecord> = results.into_iter().filter_map(|r| r.unwrap().ok()).collect();
    assert_eq!(reserved.len(), 3);
    assert!(matches!(store.create_pending_file(&upload(200), 100).await, Err(StoreError::QuotaExceeded)));
    // A failed upload gives its reservation back; an expired one holds nothing.
    store.delete_file(reserved[0].id, Utc::now()).await.unwrap();
    store.create_pending_file(&upload(300), 100).await.unwrap();
    let mut expired = upload(100);
    expired.expires_at = Some(Utc::now() - Duration::minutes(1));
    store.create_pending_file(&expired, 100).await.unwrap();
    store.create_pending_file(&upload(100), 100).await.unwrap();
    // A completed upload is charged once: its reservation turns into usage.
    store.complete_file(reserved[1].id, 300, "abc", Utc::now()).await.unwrap();
    assert_eq!(store.usage(user.id).await.unwrap().used, 300);
    assert!(matches!(store.create_pending_file(&upload(1), 100).await, Err(StoreError::QuotaExceeded)));
    // At most `max_pending` unfinished uploads, whatever their size.
    let other = store.create_user(new_user("many@example.com")).await.unwrap();
    for _ in 0..2 {
        let mut f = file(other.id, None, 1, FileStatus::Pending);
        f.expires_at = Some(Utc::now() + Duration::hours(1));
        store.create_pending_file(&f, 2).await.unwrap();
    }
    let mut third = file(other.id, None, 1, FileStatus::Pending);
    third.expires_at = Some(Utc::now() + Duration::hours(1));
    assert!(matches!(store.create_pending_file(&third, 2).await, Err(StoreError::TooManyPending)));
}

async fn files_charge_the_quota_atomically_and_refund_on_delete(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("quota@example.com")).await.unwrap();
    // Ten uploads of 300 bytes race to complete against a 1000-byte quota (lowered after they
    // were promised, which reservations would otherwise refuse): exactly three fit.
    let pending: Vec<FileRecord> = (0..10).map(|_| file(user.id, None, 300, FileStatus::Pending)).collect();
    for f in &pending {
        store.create_pending_file(f, 100).await.unwrap();
    }
    store.set_quota_total(user.id, ByteSize(1000), Utc::now()).await.unwrap();
    let completions = pending.iter().map(|f| {
        let store = store.clone();
        let id = f.id;
        tokio::spawn(async move { store.complete_file(id, 300, "abc", Utc::now()).await })
    });
    let results = futures::future::join_all(completions).await;
    let done = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let refused = results.iter().filter(|r| matches!(r, Ok(Err(StoreError::QuotaExceeded)))).count();
    assert_eq!((done, refused), (3, 7), "{results:?}");
    let usage = store.usage(user.id).await.unwrap();
    assert_eq!((usage.used, usage.total), (900, 1000));
    assert_eq!(usage.by_kind[0].bytes, 900);
    assert_eq!(usage.by_kind[0].files, 3);

    let ready = store.insert_ready_file(&file(user.id, None, 101, FileStatus::Ready)).await;
    assert!(matches!(ready, Err(StoreError::QuotaExceeded)));
    let small = file(user.id, None, 100, FileStatus::Ready);
    store.insert_ready_file(&small).await.unwrap();
    assert_eq!(store.usage(user.id).await.unwrap().used, 1000);

    let deleted = store.delete_file(small.id, Utc::now()).await.unwrap().unwrap();
    assert_eq!(deleted.status, FileStatus::Ready);
    assert!(store.delete_file(small.id, Utc::now()).await.unwrap().is_none(), "a second delete refunds nothing");
    assert_eq!(store.usage(user.id).await.unwrap().used, 900);
    assert_eq!(store.recompute_quota(user.id).await.unwrap(), (900, 900));
    // A completed file cannot be completed twice.
    let completed = results.iter().find_map(|r| r.as_ref().ok()?.as_ref().ok()).unwrap();
    let twice = store.complete_file(completed.id, 1, "x", Utc::now()).await;
    assert!(matches!(twice, Err(StoreError::NotFound)), "{twice:?}");
}

async fn files_are_visible_to_owner_and_project_members(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("files-owner@example.com")).await.unwrap();
    let member = store.create_user(new_user("files-member@example.com")).await.unwrap();
    let stranger = store.create_user(new_user("files-stranger@example.com")).await.unwrap();
    let record = project(owner.id, "With files", "");
    store.create_project(&record).await.unwrap();
    let asset = file(owner.id, Some(record.id), 10, FileStatus::Ready);
    store.insert_ready_file(&asset).await.unwrap();
    assert!(store.file_for(asset.id, owner.id).await.unwrap().is_some());
    assert!(store.file_for(asset.id, member.id).await.unwrap().is_none());
    assert!(store.file_for(asset.id, stranger.id).await.unwrap().is_none());
    store.set_member(record.id, member.id, ProjectRole::Viewer, Utc::now()).await.unwrap();
    assert_eq!(store.file_for(asset.id, member.id).await.unwrap().unwrap().storage_key, asset.storage_key);
    assert!(store.file_by_id(asset.id).await.unwrap().is_some());
    store.delete_file(asset.id, Utc::now()).await.unwrap();
    assert!(store.file_for(asset.id, owner.id).await.unwrap().is_none());
}

async fn leases_let_one_holder_run_at_a_time(store: Arc<dyn Store>) {
    let now = Utc::now();
    let until = now + Duration::seconds(60);
    assert!(store.try_lease("cleanup", "instance-a", until, now).await.unwrap());
    assert!(!store.try_lease("cleanup", "instance-b", until, now).await.unwrap());
    assert!(store.try_lease("cleanup", "instance-a", until, now).await.unwrap(), "the holder renews");
    assert!(store.try_lease("other-job", "instance-b", until, now).await.unwrap());
    let later = until + Duration::seconds(1);
    assert!(store.try_lease("cleanup", "instance-b", later + Duration::seconds(60), later).await.unwrap());
}

async fn cleanup_finds_expired_files_and_files_of_purgeable_projects(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("cleanup@example.com")).await.unwrap();
    let kept = project(owner.id, "Kept", "");
    let trashed = project(owner.id, "Trashed", "");
    for record in [&kept, &trashed] {
        store.create_project(record).await.unwrap();
    }
    let mut stale_upload = file(owner.id, Some(kept.id), 5, FileStatus::Pending);
    stale_upload.expires_at = Some(Utc::now() - Duration::hours(1));
    let mut fresh_upload = file(owner.id, Some(kept.id), 5, FileStatus::Pending);
    fresh_upload.expires_at = Some(Utc::now() + Duration::hours(1));
    let ready = file(owner.id, Some(kept.id), 5, FileStatus::Ready);
    let in_trash = file(owner.id, Some(trashed.id), 5, FileStatus::Ready);
    for f in [&stale_upload, &fresh_upload] {
        store.create_pending_file(f, 100).await.unwrap();
    }
    for f in [&ready, &in_trash] {
        store.insert_ready_file(f).await.unwrap();
    }
    store
        .change_project(
            trashed.id,
            Box::new(|p| {
                p.status = ProjectStatus::Deleted;
                p.deleted_at = Some(Utc::now() - Duration::days(40));
                Ok(())
            }),
        )
        .await
        .unwrap();
    let found = store.files_to_clean(Utc::now(), Utc::now() - Duration::days(30), 100).await.unwrap();
    let mut ids: Vec<FileId> = found.iter().map(|f| f.id).collect();
    ids.sort();
    let mut expected = vec![stale_upload.id, in_trash.id];
    expected.sort();
    assert_eq!(ids, expected);
    let live = store.live_file_keys().await.unwrap();
    assert_eq!(live.len(), 4);
    assert_eq!(live.iter().filter(|(_, s)| *s == FileStatus::Ready).count(), 2);
}

fn task(user: UserId, key: Option<&str>, priority: i32) -> NewTask {
    let now = Utc::now();
    NewTask {
        id: TaskId::new(),
        user_id: user,
        project_id: None,
        parent_id: None,
        task_type: "image".into(),
        priority,
        payload: json!({"prompt": "古装少女"}),
        max_attempts: 3,
        idempotency_key: key.map(str::to_owned),
        run_at: now,
        now,
        spend: None,
    }
}

fn claim_as(worker: &str) -> ClaimRequest {
    let now = Utc::now();
    ClaimRequest {
        worker: worker.into(),
        task_types: vec!["image".into(), "video".into()],
        lease_until: now + Duration::seconds(30),
        now,
        per_user_running: 1000,
    }
}

async fn enqueue_is_idempotent_per_user(store: Arc<dyn Store>) {
    let ann = store.create_user(new_user("queue-ann@example.com")).await.unwrap();
    let bob = store.create_user(new_user("queue-bob@example.com")).await.unwrap();
    let (first, created) = store.enqueue(&task(ann.id, Some("k1"), 0)).await.unwrap();
    assert!(created);
    assert_eq!(
        (first.status, first.attempts, first.payload["prompt"].as_str()),
        (TaskStatus::Pending, 0, Some("古装少女"))
    );
    let (again, created) = store.enqueue(&task(ann.id, Some("k1"), 0)).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id);
    let (bobs, created) = store.enqueue(&task(bob.id, Some("k1"), 0)).await.unwrap();
    assert!(created && bobs.id != first.id, "keys are per user");
    let (_, created) = store.enqueue(&task(ann.id, None, 0)).await.unwrap();
    assert!(created);
}

async fn the_queue_ahead_counts_what_runs_first(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("queue-ahead@example.com")).await.unwrap();
    let first = store.enqueue(&task(user.id, None, 0)).await.unwrap().0;
    assert_eq!(store.queue_ahead(&first).await.unwrap(), 0);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = store.enqueue(&task(user.id, None, 0)).await.unwrap().0;
    let urgent = store.enqueue(&task(user.id, None, 10)).await.unwrap().0;
    let mut other = task(user.id, None, 10);
    other.task_type = "video".into();
    store.enqueue(&other).await.unwrap();
    assert_eq!(store.queue_ahead(&urgent).await.unwrap(), 0, "nothing of its kind outranks it");
    assert_eq!(store.queue_ahead(&second).await.unwrap(), 2, "the older one and the urgent one");
    let running = store.claim(&claim_as("w")).await.unwrap().unwrap();
    assert_eq!(running.id, urgent.id);
    assert_eq!(store.queue_ahead(&first).await.unwrap(), 1, "the running one still goes first");
}

async fn queue_stats_count_each_type_and_date_the_oldest_due(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("queue-stats@example.com")).await.unwrap();
    let now = Utc::now();
    assert!(store.queue_stats(now).await.unwrap().is_empty(), "an empty queue has no types");
    let mut oldest = task(user.id, None, 0);
    oldest.run_at = now - Duration::seconds(90);
    store.enqueue(&oldest).await.unwrap();
    store.enqueue(&task(user.id, None, 0)).await.unwrap();
    let mut later = task(user.id, None, 0);
    later.run_at = now + Duration::seconds(600);
    store.enqueue(&later).await.unwrap();
    let mut video = task(user.id, None, 0);
    video.task_type = "video".into();
    store.enqueue(&video).await.unwrap();
    let mut done = task(user.id, None, 0);
    done.task_type = "merge".into();
    let done = store.enqueue(&done).await.unwrap().0;
    store.request_cancel(done.id, now).await.unwrap();
    let mut claim = claim_as("w");
    claim.task_types = vec!["video".into()];
    store.claim(&claim).await.unwrap().expect("the video task");

    let stats = store.queue_stats(Utc::now()).await.unwrap();
    let types: Vec<&str> = stats.iter().map(|s| s.task_type.as_str()).collect();
    assert_eq!(types, ["image", "video"], "finished types are left out");
    let image = &stats[0];
    assert_eq!((image.pending, image.due, image.running), (3, 2, 0), "the one due later waits but is not due");
    let oldest_due = image.oldest_due.expect("a due task");
    assert!((oldest_due - oldest.run_at).num_milliseconds().abs() < 2, "{oldest_due} vs {}", oldest.run_at);
    assert_eq!((stats[1].pending, stats[1].due, stats[1].running, stats[1].oldest_due), (0, 0, 1, None));
}

async fn a_handed_back_task_is_claimed_again_at_once_with_its_job(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("hand-back@example.com")).await.unwrap();
    let mut video = task(user.id, None, 0);
    video.task_type = "video".into();
    let id = store.enqueue(&video).await.unwrap().0.id;
    let first = store.claim(&claim_as("stopping")).await.unwrap().expect("claimed");
    assert_eq!(first.attempts, 1);
    let fell_back = json!({"from": "doubao", "reason": "unavailable"});
    assert!(store.set_provider_job(id, "stopping", 1, "kling", "job-7", Some(&fell_back), Utc::now()).await.unwrap());
    assert!(!store.hand_back(id, "someone-else", 1, Utc::now()).await.unwrap(), "only the lease holder");
    assert!(store.hand_back(id, "stopping", 1, Utc::now()).await.unwrap());
    let back = store.task(id).await.unwrap().unwrap();
    assert_eq!((back.status, back.attempts, back.locked_by.as_deref()), (TaskStatus::Pending, 0, None));
    assert_eq!(back.provider_job_id.as_deref(), Some("job-7"), "the job is kept for the next worker");
    assert_eq!(back.provider_fallback, Some(fell_back), "and whom its provider stood in for");
    let again = store.claim(&claim_as("other")).await.unwrap().expect("claimable at once, no lease to lapse");
    assert_eq!((again.id, again.attempts, again.provider_job_id.as_deref()), (id, 1, Some("job-7")));
    let late =
        store.finish(id, "stopping", 1, Outcome::Failed { code: "X".into(), message: "late".into() }, Utc::now());
    assert!(late.await.unwrap().is_none(), "the stopped worker's late answer changes nothing");
}

async fn the_pool_is_sampled(store: Arc<dyn Store>) {
    let sample = store.pool_sample().await.unwrap();
    assert!(sample.max >= 1 && sample.open >= 1 && sample.open <= sample.max, "{sample:?}");
    assert!(sample.idle <= sample.open, "{sample:?}");
    assert!(sample.acquire < std::time::Duration::from_secs(5), "{sample:?}");
}

async fn the_inventory_counts_accounts_projects_and_live_files(store: Arc<dyn Store>) {
    let empty = store.inventory().await.unwrap();
    assert_eq!((empty.users, empty.projects, empty.files), (0, 0, 0));
    let user = store.create_user(new_user("inventory@example.com")).await.unwrap();
    store.create_project(&project(user.id, "渡口记", "")).await.unwrap();
    let kept = file(user.id, None, 10, FileStatus::Ready);
    store.insert_ready_file(&kept).await.unwrap();
    let gone = file(user.id, None, 20, FileStatus::Ready);
    store.insert_ready_file(&gone).await.unwrap();
    store.delete_file(gone.id, Utc::now()).await.unwrap();
    let counted = store.inventory().await.unwrap();
    assert_eq!((counted.users, counted.projects, counted.files), (1, 1, 1), "deleted files are not counted");

    // Only the embedded engine copies itself; the copy holds the same.
    let copy = std::env::temp_dir().join(format!("cinegen-snapshot-{}.db", uuid::Uuid::new_v4()));
    match store.engine() {
        "sqlite" => {
            store.snapshot_to(&copy).await.unwrap();
            let options =
                cinegen_store::ConnectOptions { url: format!("sqlite://{}", copy.display()), max_connections: 1 };
            let opened = connect(&options).await.unwrap();
            assert_eq!(opened.inventory().await.unwrap(), counted);
            opened.close().await;
            std::fs::remove_file(&copy).unwrap();
        }
        _ => {
            let refused = store.snapshot_to(&copy).await.unwrap_err().to_string();
            assert!(refused.contains("pg_dump"), "{refused}");
            assert!(!copy.exists());
        }
    }
}

async fn claims_follow_priority_and_never_hand_out_a_task_twice(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("queue-claims@example.com")).await.unwrap();
    let urgent = store.enqueue(&task(user.id, None, 10)).await.unwrap().0;
    for _ in 0..199 {
        store.enqueue(&task(user.id, None, 0)).await.unwrap();
    }
    let first = store.claim(&claim_as("w0")).await.unwrap().unwrap();
    assert_eq!((first.id, first.attempts, first.status), (urgent.id, 1, TaskStatus::Running));
    let workers = (1..=6).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(task) = store.claim(&claim_as(&format!("w{w}"))).await.unwrap() {
                mine.push(task.id);
            }
            mine
        })
    });
    let mut all: Vec<TaskId> = futures::future::join_all(workers).await.into_iter().flat_map(|r| r.unwrap()).collect();
    assert_eq!(all.len(), 199);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 199, "a task was handed out twice");
}

async fn lapsed_leases_are_rescued_and_late_answers_ignored(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("queue-rescue@example.com")).await.unwrap();
    store.enqueue(&task(user.id, None, 0)).await.unwrap();
    let mut short = claim_as("dying");
    short.lease_until = Utc::now() - Duration::seconds(1);
    let lost = store.claim(&short).await.unwrap().unwrap();
    assert!(store.set_provider_job(lost.id, "dying", 1, "kling", "job-42", None, Utc::now()).await.unwrap());
    let rescued = store.claim(&claim_as("rescuer")).await.unwrap().unwrap();
    assert_eq!((rescued.id, rescued.attempts), (lost.id, 2));
    assert_eq!(rescued.provider_job_id.as_deref(), Some("job-42"), "the job id survives, so nobody pays twice");
    let late = store
        .finish(lost.id, "dying", 1, Outcome::Completed(json!({"late": true})), Utc::now())
        .await
        .unwrap()
        .is_some();
    assert!(!late, "the attempt that lost its lease changes nothing");
    let stale = store.heartbeat(lost.id, "dying", 1, Utc::now() + Duration::seconds(30), None, Utc::now());
    assert!(stale.await.unwrap().is_none(), "a lost lease is not renewed");
    let until = Utc::now() + Duration::seconds(60);
    let beat = store.heartbeat(lost.id, "rescuer", 2, until, Some((40, "painting")), Utc::now()).await.unwrap();
    let answered = beat.expect("the lease holder's beat is kept");
    assert_eq!((answered.progress, answered.progress_message.as_deref()), (40, Some("painting")));
    let mid = store.task(lost.id).await.unwrap().unwrap();
    assert_eq!((mid.progress, mid.progress_message.as_deref()), (40, Some("painting")));
    assert_eq!(mid.locked_until.map(|t| t.timestamp_millis()), Some(until.timestamp_millis()));
    assert!(
        store.finish(lost.id, "rescuer", 2, Outcome::Completed(json!({"ok": 1})), Utc::now()).await.unwrap().is_some()
    );
    let done = store.task(lost.id).await.unwrap().unwrap();
    assert_eq!((done.status, done.progress, done.result), (TaskStatus::Completed, 100, Some(json!({"ok": 1}))));
}

async fn retries_back_off_until_attempts_run_out(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("queue-retry@example.com")).await.unwrap();
    let queued = store.enqueue(&task(user.id, None, 0)).await.unwrap().0;
    for attempt in 1..=3 {
        let mut request = claim_as("w");
        request.now = Utc::now() + Duration::seconds(attempt * 100);
        let running = store.claim(&request).await.unwrap().unwrap();
        assert_eq!(running.attempts, attempt as i32);
        let retry = Outcome::Retry {
            run_at: request.now + Duration::seconds(50),
            code: "PROVIDER_ERROR".into(),
            message: "HTTP 503".into(),
        };
        assert!(store.finish(queued.id, "w", attempt as i32, retry, request.now).await.unwrap().is_some());
        // Not due again before its back-off ends.
        assert!(store.claim(&request).await.unwrap().is_none());
    }
    let failed = store.task(queued.id).await.unwrap().unwrap();
    assert_eq!((failed.status, failed.error_message.as_deref()), (TaskStatus::Failed, Some("HTTP 503")));
}

async fn cancelling_pending_and_running_tasks(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("queue-cancel@example.com")).await.unwrap();
    let pending = store.enqueue(&task(user.id, None, 0)).await.unwrap().0;
    let cancelled = store.request_cancel(pending.id, Utc::now()).await.unwrap().unwrap();
    assert_eq!(cancelled.status, TaskStatus::Cancelled);
    assert!(store.claim(&claim_as("w")).await.unwrap().is_none());
    let running = store.enqueue(&task(user.id, None, 0)).await.unwrap().0;
    store.claim(&claim_as("w")).await.unwrap().unwrap();
    let asked = store.request_cancel(running.id, Utc::now()).await.unwrap().unwrap();
    assert_eq!((asked.status, asked.cancel_requested), (TaskStatus::Running, true));
    let cancelled = store.finish(running.id, "w", 1, Outcome::Cancelled, Utc::now()).await.unwrap().unwrap();
    assert_eq!(cancelled.status, TaskStatus::Cancelled, "the finish answers the task as it now is");
    assert_eq!(store.task(running.id).await.unwrap().unwrap().status, TaskStatus::Cancelled);
    assert!(store.request_cancel(running.id, Utc::now()).await.unwrap().is_none(), "finished tasks stay as they are");
}

async fn busy_users_wait_for_their_running_tasks(store: Arc<dyn Store>) {
    let batcher = store.create_user(new_user("queue-batch@example.com")).await.unwrap();
    let other = store.create_user(new_user("queue-other@example.com")).await.unwrap();
    for _ in 0..5 {
        store.enqueue(&task(batcher.id, None, 0)).await.unwrap();
    }
    let single = store.enqueue(&task(other.id, None, 0)).await.unwrap().0;
    let capped = ClaimRequest { per_user_running: 2, ..claim_as("w") };
    let mut claimed = Vec::new();
    while let Some(task) = store.claim(&capped).await.unwrap() {
        claimed.push(task);
    }
    assert_eq!(claimed.len(), 3, "two of the batch, then the other user's task");
    assert!(claimed.iter().any(|t| t.id == single.id));
}

async fn batch_claims_keep_priority_and_the_running_cap(store: Arc<dyn Store>) {
    let batcher = store.create_user(new_user("batch-claims@example.com")).await.unwrap();
    let other = store.create_user(new_user("batch-claims-other@example.com")).await.unwrap();
    for _ in 0..5 {
        store.enqueue(&task(batcher.id, None, 0)).await.unwrap();
    }
    let urgent = store.enqueue(&task(other.id, None, 5)).await.unwrap().0;
    let later = store.enqueue(&task(other.id, None, 0)).await.unwrap().0;
    let capped = ClaimRequest { per_user_running: 2, ..claim_as("pool") };
    let first = store.claim_many(&capped, 10).await.unwrap();
    assert_eq!(first.len(), 4, "two of each user's tasks, no more");
    assert_eq!(first[0].id, urgent.id, "highest priority first");
    assert!(first.iter().any(|t| t.id == later.id));
    assert_eq!(first.iter().filter(|t| t.user_id == batcher.id).count(), 2);
    assert!(first.iter().all(|t| t.status == TaskStatus::Running && t.attempts == 1));
    assert!(store.claim_many(&capped, 10).await.unwrap().is_empty(), "both users are at their cap");
    let done = first.iter().find(|t| t.user_id == batcher.id).unwrap();
    store.finish(done.id, "pool", 1, Outcome::Completed(json!({})), Utc::now()).await.unwrap().unwrap();
    let next = store.claim_many(&capped, 10).await.unwrap();
    assert_eq!(next.len(), 1, "one slot came free");
    assert!(first.iter().all(|t| t.id != next[0].id), "never handed out twice");
}

async fn batch_completions_write_only_attempts_that_hold_their_lease(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("batch-done@example.com")).await.unwrap();
    for _ in 0..3 {
        store.enqueue(&task(user.id, None, 0)).await.unwrap();
    }
    let claimed = store.claim_many(&claim_as("pool"), 3).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let completion = |task: &cinegen_store::TaskRecord, worker: &str, attempt: i32| cinegen_store::Completion {
        id: task.id,
        worker: worker.into(),
        attempt,
        result: json!({"n": task.id.as_uuid().to_string()}),
    };
    let done = store
        .complete_many(
            &[
                completion(&claimed[0], "pool", 1),
                completion(&claimed[1], "someone-else", 1),
                completion(&claimed[2], "pool", 2),
            ],
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(done.len(), 1, "only the attempt that holds the lease is written");
    assert_eq!((done[0].id, done[0].status, done[0].progress), (claimed[0].id, TaskStatus::Completed, 100));
    assert_eq!(done[0].result, Some(json!({"n": claimed[0].id.as_uuid().to_string()})));
    for other in &claimed[1..] {
        assert_eq!(store.task(other.id).await.unwrap().unwrap().status, TaskStatus::Running, "untouched");
    }
    assert!(store.complete_many(&[], Utc::now()).await.unwrap().is_empty());
}

async fn committed_project_writes_are_announced_to_owner_and_members(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("announce-owner@example.com")).await.unwrap();
    let member = store.create_user(new_user("announce-member@example.com")).await.unwrap();
    let mut heard = store.project_changes().subscribe();
    let mut last_change = None;
    let mut next = move || {
        let heard = heard.try_recv().ok();
        last_change = heard.as_ref().and_then(|h| h.change.clone());
        let mut users = heard.map(|h| h.users.clone()).unwrap_or_default();
        users.sort_by_key(|u| u.as_uuid());
        (users, last_change.clone())
    };
    let both = {
        let mut both = vec![owner.id, member.id];
        both.sort_by_key(|u| u.as_uuid());
        both
    };
    let record = project(owner.id, "Announced", "");
    store.create_project(&record).await.unwrap();
    assert_eq!(next().0, [owner.id]);
    store.set_member(record.id, member.id, ProjectRole::Viewer, Utc::now()).await.unwrap();
    assert_eq!(next(), (vec![member.id], None), "a membership is no new version");
    let changed = store.change_project(record.id, Box::new(|p| Ok(p.title = "Renamed".into()))).await.unwrap();
    let (users, change) = next();
    assert_eq!(users, both, "a change reaches every list that shows the project");
    let change = change.expect("a change names the project and its version");
    assert_eq!(
        (change.project, change.version, change.updated_at, change.updated_by),
        (record.id, changed.version, changed.updated_at, None)
    );
    let refused =
        store.change_project(record.id, Box::new(|_| Err(ChangeError::Conflict { current_version: 1 }))).await;
    assert!(refused.is_err());
    assert!(next().0.is_empty(), "a refused change announces nothing");
    assert!(store.remove_member(record.id, member.id).await.unwrap());
    assert_eq!(next().0, [member.id]);
    assert!(!store.remove_member(record.id, member.id).await.unwrap());
    assert!(next().0.is_empty());
}

async fn tasks_are_visible_through_their_project_and_failed_ones_retry(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("tasks-owner@example.com")).await.unwrap();
    let member = store.create_user(new_user("tasks-member@example.com")).await.unwrap();
    let stranger = store.create_user(new_user("tasks-stranger@example.com")).await.unwrap();
    let record = project(owner.id, "Tasks", "");
    store.create_project(&record).await.unwrap();
    let mut in_project = task(owner.id, None, 0);
    in_project.project_id = Some(record.id);
    let in_project = store.enqueue(&in_project).await.unwrap().0;
    let private = store.enqueue(&task(owner.id, None, 0)).await.unwrap().0;
    let list = TaskQuery::of;
    assert_eq!(store.list_tasks(&list(owner.id)).await.unwrap().1, 2);
    assert_eq!(store.list_tasks(&list(member.id)).await.unwrap().1, 0);
    assert!(store.task_for(in_project.id, stranger.id).await.unwrap().is_none());
    store.set_member(record.id, member.id, ProjectRole::Viewer, Utc::now()).await.unwrap();
    assert!(store.task_for(in_project.id, member.id).await.unwrap().is_some());
    assert!(store.task_for(private.id, member.id).await.unwrap().is_none());
    let (seen, total) = store.list_tasks(&list(member.id)).await.unwrap();
    assert_eq!((seen.len(), total), (1, 1));
    let filtered = TaskQuery { status: Some(TaskStatus::Completed), ..list(owner.id) };
    assert_eq!(store.list_tasks(&filtered).await.unwrap().1, 0);

    assert!(store.retry_task(private.id, Utc::now(), None).await.unwrap().is_none(), "only failed tasks retry");
    let claimed = store.claim(&claim_as("w")).await.unwrap().unwrap();
    let failed = Outcome::Failed { code: "PROVIDER_ERROR".into(), message: "refused".into() };
    let finished_at = Utc::now();
    store.finish(claimed.id, "w", 1, failed, finished_at).await.unwrap();
    // A reconnecting feed asks for what changed since its last message.
    let since = |at| TaskQuery { updated_since: Some(at), ..list(owner.id) };
    let (changed, _) = store.list_tasks(&since(finished_at)).await.unwrap();
    assert_eq!(changed.iter().map(|t| t.id).collect::<Vec<_>>(), vec![claimed.id], "only the task finished since");
    let later = finished_at + chrono::Duration::seconds(1);
    assert_eq!(store.list_tasks(&since(later)).await.unwrap().1, 0);
    let retried = store.retry_task(claimed.id, Utc::now(), None).await.unwrap().unwrap();
    assert_eq!((retried.status, retried.attempts, retried.error_code), (TaskStatus::Pending, 0, None));
}

async fn a_change_and_its_task_land_together_or_not_at_all(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("enqueue-tx@example.com")).await.unwrap();
    let record = project(owner.id, "Together", "");
    store.create_project(&record).await.unwrap();
    let mut work = task(owner.id, Some("gen-1"), 10);
    work.project_id = Some(record.id);
    let mark = |title: &'static str| -> cinegen_store::ProjectChange {
        Box::new(move |p: &mut ProjectRecord| {
            p.title = title.into();
            Ok(())
        })
    };
    let done = store.change_project_and_enqueue(record.id, mark("generating"), vec![work.clone()]).await.unwrap();
    assert!(done.created);
    assert_eq!((done.project.title.as_str(), done.tasks.len()), ("generating", 1));
    assert_eq!(store.task(done.tasks[0].id).await.unwrap().unwrap().priority, 10);

    // The same key again: the first task is answered and the change is not applied twice.
    let again = store.change_project_and_enqueue(record.id, mark("twice"), vec![work.clone()]).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.tasks[0].id, done.tasks[0].id);
    assert_eq!(store.project_for(record.id, owner.id).await.unwrap().unwrap().0.title, "generating");

    // A refused change enqueues nothing.
    let refuse: cinegen_store::ProjectChange = Box::new(|_| Err(ChangeError::Conflict { current_version: 1 }));
    let mut other = task(owner.id, Some("gen-2"), 10);
    other.project_id = Some(record.id);
    assert!(store.change_project_and_enqueue(record.id, refuse, vec![other.clone()]).await.is_err());
    let (_, created) = store.enqueue(&other).await.unwrap();
    assert!(created, "the refused change left no task behind");
}

async fn batches_find_their_items_and_old_tasks_are_pruned(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("batch@example.com")).await.unwrap();
    let parent = store.enqueue(&task(owner.id, None, 0)).await.unwrap().0;
    for _ in 0..3 {
        let mut item = task(owner.id, None, 0);
        item.parent_id = Some(parent.id);
        store.enqueue(&item).await.unwrap();
    }
    let items = store.children(parent.id).await.unwrap();
    assert_eq!(items.len(), 3);
    assert!(store.children(TaskId::new()).await.unwrap().is_empty());
    // Tallied without reading them: a cancelled item counts as ended, at 100.
    store.request_cancel(items[0].id, Utc::now()).await.unwrap();
    let tally = store.batch_tally(parent.id).await.unwrap();
    assert_eq!(tally, cinegen_store::BatchTally { total: 3, completed: 0, failed: 0, cancelled: 1, progress_sum: 100 });
    assert_eq!(tally.ended(), 1);
    assert_eq!(store.batch_tally(TaskId::new()).await.unwrap(), cinegen_store::BatchTally::default());

    // Two tasks end: one completes, one fails.
    let lone = store.create_user(new_user("prune@example.com")).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.push(store.enqueue(&task(lone.id, None, 100)).await.unwrap().0.id);
    }
    let first = store.claim(&claim_as("w")).await.unwrap().unwrap();
    store.finish(first.id, "w", 1, Outcome::Completed(json!({})), Utc::now()).await.unwrap();
    let second = store.claim(&claim_as("w")).await.unwrap().unwrap();
    let failed = Outcome::Failed { code: "X".into(), message: "x".into() };
    store.finish(second.id, "w", 1, failed, Utc::now()).await.unwrap();
    let later = Utc::now() + Duration::seconds(5);
    // Finished ones older than the cut go (the completed task and the cancelled item); failed
    // ones are kept longer.
    assert_eq!(store.prune_tasks(later, Utc::now() - Duration::days(1)).await.unwrap(), 2);
    assert!(store.task(first.id).await.unwrap().is_none());
    assert!(store.task(second.id).await.unwrap().is_some());
    assert!(store.task(parent.id).await.unwrap().is_some(), "pending tasks are never pruned");
    assert_eq!(store.prune_tasks(later, later).await.unwrap(), 1);
    assert!(store.task(second.id).await.unwrap().is_none());

    // A batch is settled by its items: progress, then its end; an ended batch stays ended.
    assert!(store.settle_batch(parent.id, 33, "1 of 3", None, Utc::now()).await.unwrap());
    let running = store.task(parent.id).await.unwrap().unwrap();
    assert_eq!((running.status, running.progress), (TaskStatus::Running, 33));
    // A tally that arrives late does not take progress back.
    assert!(!store.settle_batch(parent.id, 20, "late tally", None, Utc::now()).await.unwrap());
    assert_eq!(store.task(parent.id).await.unwrap().unwrap().progress, 33);
    assert!(store.settle_batch(parent.id, 100, "done", Some(json!({"completed": 3})), Utc::now()).await.unwrap());
    let done = store.task(parent.id).await.unwrap().unwrap();
    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"completed": 3}))));
    assert!(!store.settle_batch(parent.id, 50, "late", None, Utc::now()).await.unwrap());
}

async fn usage_is_summed_by_day_provider_and_kind(store: Arc<dyn Store>) {
    let user = store.create_user(new_user("usage@example.com")).await.unwrap();
    let other = store.create_user(new_user("usage-other@example.com")).await.unwrap();
    let at = |days: i64| Utc::now() - Duration::days(days);
    let event = |user: UserId, provider: &str, kind: &str, units: i64, created_at| UsageEvent {
        id: uuid::Uuid::new_v4(),
        user_id: user,
        task_id: None,
        provider: provider.into(),
        model: "m".into(),
        kind: kind.into(),
        units,
        project_id: None,
        cost: None,
        server_key: false,
        created_at,
    };
    for e in [
        event(user.id, "local", "image", 2, at(0)),
        event(user.id, "local", "image", 3, at(0)),
        event(user.id, "local", "video", 5, at(0)),
        event(user.id, "openai", "text", 900, at(1)),
        event(user.id, "openai", "text", 100, at(40)),
        event(other.id, "local", "image", 7, at(0)),
    ] {
        store.record_usage(&e).await.unwrap();
    }
    let rows = store.usage_summary(user.id, at(30)).await.unwrap();
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let figures: Vec<(bool, &str, &str, i64, i64)> =
        rows.iter().map(|r| (r.day == today, r.provider.as_str(), r.kind.as_str(), r.calls, r.units)).collect();
    assert_eq!(
        figures,
        [(true, "local", "image", 2, 5), (true, "local", "video", 1, 5), (false, "openai", "text", 1, 900)]
    );

    // Spending: each call's cost in its own currency, by project, provider, model and kind.
    let film = project(user.id, "雨夜", "");
    store.create_project(&film).await.unwrap();
    let priced = |provider: &str, micros: i64, currency: &str| UsageEvent {
        project_id: Some(film.id),
        cost: Some(cinegen_store::Money { micros, currency: currency.into() }),
        ..event(user.id, provider, "image", 1, at(0))
    };
    for e in [priced("openai", 53_000, "USD"), priced("openai", 53_000, "USD"), priced("doubao", 245_000, "CNY")] {
        store.record_usage(&e).await.unwrap();
    }
    let spent = store.spending(user.id, at(30)).await.unwrap();
    let of = |provider: &str| spent.iter().find(|r| r.provider == provider && r.project_id == Some(film.id)).unwrap();
    let openai = of("openai");
    assert_eq!((openai.calls, openai.micros, openai.currency.as_deref()), (2, 106_000, Some("USD")));
    assert_eq!(openai.project_title.as_deref(), Some("雨夜"));
    assert_eq!((of("doubao").micros, of("doubao").currency.as_deref()), (245_000, Some("CNY")));
    let unpriced = spent.iter().find(|r| r.provider == "local" && r.kind == "image").unwrap();
    assert_eq!((unpriced.currency.as_deref(), unpriced.micros, unpriced.project_id), (None, 0, None));
    assert!(spent.iter().all(|r| r.day != "" && r.units > 0));
    assert_eq!(store.spending(other.id, at(30)).await.unwrap().len(), 1, "each user's own");
}

async fn several_keys_are_kept_and_refused_ones_parked(store: Arc<dyn Store>) {
    let ann = store.create_user(new_user("several-keys@example.com")).await.unwrap();
    let extra = json!([{"api_key": "v1:second", "api_key_hint": "sk-…2222", "secret_key": null, "secret_hint": null}]);
    let setting = ProviderSettingRecord {
        user_id: ann.id,
        provider: "openai".into(),
        api_key: Some("v1:first".into()),
        api_key_hint: Some("sk-…1111".into()),
        secret_key: None,
        secret_hint: None,
        base_url: None,
        models: json!({}),
        updated_at: Utc::now(),
        check: None,
        prices: json!([]),
        extra_keys: extra.clone(),
    };
    store.put_provider_setting(&setting).await.unwrap();
    assert_eq!(store.provider_settings(ann.id).await.unwrap()[0].extra_keys, extra);

    let owner = ann.id.to_string();
    let parked = |fingerprint: &str, reason: &str| cinegen_store::ParkedKey {
        owner: owner.clone(),
        provider: "openai".into(),
        fingerprint: fingerprint.into(),
        reason: reason.into(),
        message: Some("Incorrect API key provided".into()),
        parked_at: Utc::now(),
    };
    store.park_key(&parked("f1", "key_refused")).await.unwrap();
    store.park_key(&parked("f1", "out_of_credit")).await.unwrap();
    store.park_key(&cinegen_store::ParkedKey { owner: "server".into(), ..parked("f9", "key_refused") }).await.unwrap();
    let mine = store.parked_keys(&owner).await.unwrap();
    assert_eq!(mine.len(), 1, "one row a key: {mine:?}");
    assert_eq!((mine[0].fingerprint.as_str(), mine[0].reason.as_str()), ("f1", "out_of_credit"));
    assert!(store.park_key(&parked("f2", "tired")).await.is_err(), "only the known reasons");
    assert_eq!(store.unpark_keys(&owner, "openai").await.unwrap(), 1);
    assert!(store.parked_keys(&owner).await.unwrap().is_empty());
    assert_eq!(store.parked_keys("server").await.unwrap().len(), 1, "the operator's keys are apart");
}

async fn provider_settings_are_kept_per_user(store: Arc<dyn Store>) {
    let ann = store.create_user(new_user("keys-ann@example.com")).await.unwrap();
    let bob = store.create_user(new_user("keys-bob@example.com")).await.unwrap();
    let mut setting = ProviderSettingRecord {
        user_id: ann.id,
        provider: "openai".into(),
        api_key: Some("v1:ciphertext".into()),
        api_key_hint: Some("sk-…abcd".into()),
        secret_key: None,
        secret_hint: None,
        base_url: Some("https://gateway.example.com/v1".into()),
        models: json!({"text": "gpt-4o-mini"}),
        updated_at: Utc::now(),
        check: None,
        prices: json!([{"model": "*", "unit": "image", "amount": "0.02", "currency": "USD"}]),
        extra_keys: json!([]),
    };
    store.put_provider_setting(&setting).await.unwrap();
    setting.models = json!({"text": "gpt-4.1", "image": "gpt-image-1"});
    store.put_provider_setting(&setting).await.unwrap();
    let kept = store.provider_settings(ann.id).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].models["image"].as_str(), kept[0].api_key.as_deref()),
        (Some("gpt-image-1"), Some("v1:ciphertext"))
    );
    assert!(store.provider_settings(bob.id).await.unwrap().is_empty());

    // A check is recorded against the settings it tried, and only those.
    let check = cinegen_store::KeyCheckRecord {
        at: Utc::now(),
        outcome: "key_refused".into(),
        message: Some("Incorrect API key provided".into()),
        models: None,
    };
    let stale = setting.updated_at - chrono::TimeDelta::seconds(1);
    assert!(!store.record_key_check(ann.id, "openai", stale, &check).await.unwrap(), "settings changed meanwhile");
    assert_eq!(store.provider_settings(ann.id).await.unwrap()[0].check, None);
    assert!(store.record_key_check(ann.id, "openai", setting.updated_at, &check).await.unwrap());
    let kept = &store.provider_settings(ann.id).await.unwrap()[0];
    let at_ms = |t: chrono::DateTime<Utc>| t.timestamp_millis();
    assert_eq!(
        kept.check.as_ref().map(|c| (at_ms(c.at), c.outcome.as_str(), c.message.as_deref())),
        Some((at_ms(check.at), "key_refused", Some("Incorrect API key provided")))
    );
    assert!(!store.record_key_check(bob.id, "openai", setting.updated_at, &check).await.unwrap(), "no row of bob's");
    // A check that listed the key's models keeps the list.
    let listed = cinegen_store::KeyCheckRecord {
        at: Utc::now(),
        outcome: "working".into(),
        message: None,
        models: Some(json!([{"id": "gpt-5-mini", "capability": "text"}, {"id": "gpt-image-2", "capability": "image"}])),
    };
    assert!(store.record_key_check(ann.id, "openai", setting.updated_at, &listed).await.unwrap());
    let kept = &store.provider_settings(ann.id).await.unwrap()[0];
    assert_eq!(kept.check.as_ref().and_then(|c| c.models.clone()), listed.models);
    // Replacing the settings replaces the check with what the new settings carry.
    setting.updated_at = Utc::now();
    store.put_provider_setting(&setting).await.unwrap();
    assert_eq!(store.provider_settings(ann.id).await.unwrap()[0].check, None);

    assert!(!store.delete_provider_setting(bob.id, "openai").await.unwrap());
    assert!(store.delete_provider_setting(ann.id, "openai").await.unwrap());
    assert!(store.provider_settings(ann.id).await.unwrap().is_empty());
}

/// A change that sets the written script (and a shot list of `shots` shots).
fn script(text: impl Into<String>, shots: usize) -> cinegen_store::projects::ProjectChange {
    let text = text.into();
    Box::new(move |p| {
        p.raw_script = text;
        p.docs.shots = json!((0..shots).map(|i| json!({"id": format!("s{i}")})).collect::<Vec<_>>());
        Ok(())
    })
}

async fn document_history_keeps_what_people_replaced(store: Arc<dyn Store>) {
    let ann = store.create_user(new_user("history-ann@example.com")).await.unwrap();
    let bob = store.create_user(new_user("history-bob@example.com")).await.unwrap();
    let record = project(ann.id, "History", "");
    store.create_project(&record).await.unwrap();
    let id = record.id;

    // A generation's write keeps nothing and names no one.
    let generated = store.change_project(id, script("parsed", 2)).await.unwrap();
    assert_eq!(generated.updated_by, None);
    assert!(store.revisions(id).await.unwrap().is_empty());

    // Ann's edit keeps what it replaced: the generated version, made by no one.
    let edited = store.change_project_as(id, Author::editing(ann.id), script("ann one", 3)).await.unwrap();
    assert_eq!(edited.updated_by, Some(ann.id));
    // More of her edits in the same session keep nothing more; a change of settings alone neither.
    store.change_project_as(id, Author::editing(ann.id), script("ann two", 4)).await.unwrap();
    store
        .change_project_as(
            id,
            Author::editing(ann.id),
            Box::new(|p| {
                p.title = "Renamed".into();
                Ok(())
            }),
        )
        .await
        .unwrap();
    let kept = store.revisions(id).await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!((kept[0].version, kept[0].made_by.as_ref(), kept[0].shot_count, kept[0].script_chars), (2, None, 2, 6));
    assert_eq!(kept[0].replaced_by.as_ref().map(|p| (p.id, p.name.as_str())), Some((ann.id, "测试 User")));

    // Bob's edit starts a session of his: Ann's latest version is kept, made by her.
    store.change_project_as(id, Author::editing(bob.id), script("bob", 1)).await.unwrap();
    let kept = store.revisions(id).await.unwrap();
    assert_eq!(kept.iter().map(|r| r.version).collect::<Vec<_>>(), [5, 2], "newest first");
    assert_eq!(kept[0].made_by.as_ref().map(|p| p.id), Some(ann.id));
    assert_eq!(kept[0].replaced_by.as_ref().map(|p| p.id), Some(bob.id));
    let ann_two = store.revision(id, 5).await.unwrap().unwrap();
    assert_eq!((ann_two.raw_script.as_str(), ann_two.docs.shots.as_array().unwrap().len()), ("ann two", 4));
    assert!(store.revision(id, 4).await.unwrap().is_none(), "a version inside a session is not kept");

    // A restore keeps what it replaces even inside the same person's session.
    store.change_project_as(id, Author::editing(bob.id), script("bob again", 1)).await.unwrap();
    store.change_project_as(id, Author::restoring(bob.id), script("ann two", 4)).await.unwrap();
    assert_eq!(store.revisions(id).await.unwrap().iter().map(|r| r.version).collect::<Vec<_>>(), [7, 5, 2]);
    assert_eq!(store.revision(id, 7).await.unwrap().unwrap().raw_script, "bob again");

    // A refused change keeps nothing.
    let refused = store
        .change_project_as(
            id,
            Author::restoring(ann.id),
            Box::new(|p| {
                p.raw_script = "never".into();
                Err(ChangeError::Conflict { current_version: p.version })
            }),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(store.revisions(id).await.unwrap().len(), 3);
    assert!(store.revision(ProjectId::new(), 2).await.unwrap().is_none());
}

async fn document_history_is_capped_and_pruned(store: Arc<dyn Store>) {
    let ann = store.create_user(new_user("history-cap@example.com")).await.unwrap();
    let record = project(ann.id, "Capped", "");
    store.create_project(&record).await.unwrap();
    for i in 0..55 {
        store.change_project_as(record.id, Author::restoring(ann.id), script(format!("take {i}"), 1)).await.unwrap();
    }
    let kept = store.revisions(record.id).await.unwrap();
    assert_eq!(kept.len() as i64, cinegen_store::revisions::KEEP_PER_PROJECT);
    assert_eq!((kept[0].version, kept.last().unwrap().version), (55, 6), "the oldest went first");
    assert_eq!(store.prune_revisions_before(Utc::now() - Duration::days(1)).await.unwrap(), 0);
    assert_eq!(store.prune_revisions_before(Utc::now() + Duration::seconds(1)).await.unwrap(), 50);
    assert!(store.revisions(record.id).await.unwrap().is_empty());
}

async fn document_history_keeps_a_parse_but_not_each_picture(store: Arc<dyn Store>) {
    let ann = store.create_user(new_user("history-gen@example.com")).await.unwrap();
    let record = project(ann.id, "Generated", "");
    store.create_project(&record).await.unwrap();
    let id = record.id;
    let edit = |text: &'static str| -> cinegen_store::projects::ProjectChange {
        Box::new(move |p| {
            p.docs.shots[0]["actionSummary"] = json!(text);
            Ok(())
        })
    };
    store.change_project_as(id, Author::editing(ann.id), script("x", 0)).await.unwrap(); // keeps 1
    store.change_project(id, script("x", 3)).await.unwrap(); // a parse: 3 shots, version 3
    store.change_project_as(id, Author::editing(ann.id), edit("ann")).await.unwrap(); // keeps the parse
    let picture = Box::new(|p: &mut cinegen_store::ProjectRecord| {
        p.docs.shots[1]["imageUrl"] = json!("/files/1");
        Ok(())
    });
    store.change_project(id, picture).await.unwrap(); // version 5: same figures as the parse
    store.change_project_as(id, Author::editing(ann.id), edit("ann again")).await.unwrap();
    let kept = store.revisions(id).await.unwrap();
    assert_eq!(kept.iter().map(|r| (r.version, r.shot_count)).collect::<Vec<_>>(), [(3, 3), (1, 0)], "{kept:?}");
    assert!(kept[0].made_by.is_none(), "the parse is a generation's");
}

async fn invitations_become_memberships_when_the_address_registers(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("inviting-owner@example.com")).await.unwrap();
    let (first, second, lapsed) =
        (project(owner.id, "First", ""), project(owner.id, "Second", ""), project(owner.id, "Lapsed", ""));
    for record in [&first, &second, &lapsed] {
        store.create_project(record).await.unwrap();
    }
    let now = Utc::now();
    let invite = |project: ProjectId, role: ProjectRole, expires_at: chrono::DateTime<Utc>| cinegen_store::Invitation {
        project_id: project,
        email: "newcomer@example.com".into(),
        role,
        invited_by: Some(owner.id),
        created_at: now,
        expires_at,
    };
    let week = now + chrono::TimeDelta::days(7);
    store.invite(&invite(first.id, ProjectRole::Viewer, week)).await.unwrap();
    // Asked again: the later invitation replaces the earlier one.
    store.invite(&invite(first.id, ProjectRole::Editor, week)).await.unwrap();
    store.invite(&invite(second.id, ProjectRole::Viewer, week)).await.unwrap();
    store.invite(&invite(lapsed.id, ProjectRole::Editor, now - chrono::TimeDelta::seconds(1))).await.unwrap();
    let stale = cinegen_store::Invitation {
        email: "gone@example.com".into(),
        ..invite(second.id, ProjectRole::Viewer, now - chrono::TimeDelta::days(1))
    };
    store.invite(&stale).await.unwrap();
    assert_eq!(
        store.drop_invitations_expired_by(now - chrono::TimeDelta::hours(1)).await.unwrap(),
        1,
        "only the long-expired one"
    );
    let open = store.invitations(first.id, now).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].email.as_str(), open[0].role, open[0].invited_by),
        ("newcomer@example.com", ProjectRole::Editor, Some(owner.id))
    );
    assert!(store.invitations(lapsed.id, now).await.unwrap().is_empty(), "an expired invitation is not listed");
    assert!(store.cancel_invitation(second.id, "newcomer@example.com").await.unwrap());
    assert!(!store.cancel_invitation(second.id, "newcomer@example.com").await.unwrap());

    let newcomer = store.create_user(new_user("newcomer@example.com")).await.unwrap();
    let mut heard = store.project_changes().subscribe();
    let joined = store.accept_invitations(newcomer.id, "newcomer@example.com", now).await.unwrap();
    assert_eq!(joined, [first.id], "only the open invitation; the withdrawn and the lapsed ones make nothing");
    assert_eq!(
        store.project_for(first.id, newcomer.id).await.unwrap().map(|(_, role)| role),
        Some(ProjectRole::Editor)
    );
    assert!(store.project_for(lapsed.id, newcomer.id).await.unwrap().is_none());
    assert!(heard.try_recv().unwrap().users.contains(&newcomer.id), "their project list changed");
    assert!(
        store.invitations(lapsed.id, now - chrono::TimeDelta::days(1)).await.unwrap().is_empty(),
        "all of the address's invitations are used up"
    );
    assert!(store.accept_invitations(newcomer.id, "newcomer@example.com", now).await.unwrap().is_empty(), "once");
}

fn take(project: ProjectId, slot: &str, file: FileId, age_secs: i64) -> TakeRecord {
    TakeRecord {
        id: TakeId::new(),
        project_id: project,
        slot: slot.into(),
        file_id: file,
        pinned: false,
        made_by: None,
        task_id: None,
        provider: Some("local".into()),
        model: Some("local-image".into()),
        inputs_hash: Some("h".into()),
        cost: Some(cinegen_store::Money { micros: 42_000, currency: "USD".into() }),
        provenance: json!({"origin": "generated", "prompt": "雨夜"}),
        // Times are kept to the millisecond.
        created_at: chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis() - age_secs * 1000).unwrap(),
    }
}

async fn takes_share_files_and_prune_beyond_the_keep(store: Arc<dyn Store>) {
    let owner = store.create_user(new_user("takes@example.com")).await.unwrap();
    let mut record = project(owner.id, "Takes", "");
    record.settings.keep_takes = 2;
    store.create_project(&record).await.unwrap();
    let other = project(owner.id, "Other", "");
    store.create_project(&other).await.unwrap();
    let with_digest = |size, digest: &str| {
        let mut f = file(owner.id, Some(record.id), size, FileStatus::Ready);
        f.sha256 = Some(digest.into());
        f
    };
    let shared = with_digest(100, "same");
    store.insert_ready_file(&shared).await.unwrap();
    // A file no take holds is not offered for reuse; one a take holds is.
    assert!(store.take_file_with_digest(record.id, FileKind::Scene, "same").await.unwrap().is_none());
    let slot = "keyframe/shot-1/kf-1";
    let first = take(record.id, slot, shared.id, 50);
    store.insert_take(&first).await.unwrap();
    let found = store.take_file_with_digest(record.id, FileKind::Scene, "same").await.unwrap().unwrap();
    assert_eq!(found.id, shared.id);
    assert!(store.take_file_with_digest(record.id, FileKind::Character, "same").await.unwrap().is_none());
    assert!(store.take_file_with_digest(other.id, FileKind::Scene, "same").await.unwrap().is_none());
    // A second take of the same bytes holds the same file: stored and counted once.
    let second = take(record.id, slot, shared.id, 40);
    store.insert_take(&second).await.unwrap();
    assert_eq!(store.usage(owner.id).await.unwrap().used, 100);
    // A take of another project's file, or of a file that is gone, is refused.
    let foreign = file(owner.id, Some(other.id), 10, FileStatus::Ready);
    store.insert_ready_file(&foreign).await.unwrap();
    assert!(matches!(store.insert_take(&take(record.id, slot, foreign.id, 0)).await, Err(StoreError::NotFound)));
    let listed = store.takes(record.id, Some(slot)).await.unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [second.id, first.id], "newest first");
    assert_eq!(listed[1], first, "a take reads back as written");
    assert!(store.takes(record.id, Some("clip/shot-1")).await.unwrap().is_empty());
    // Deleting one of two takes of a file keeps the file; deleting the last deletes and refunds it.
    let gone = store.delete_take(record.id, first.id, Utc::now()).await.unwrap().unwrap();
    assert!(gone.file.is_none());
    assert_eq!(store.usage(owner.id).await.unwrap().used, 110);
    assert!(
        store.delete_take(other.id, second.id, Utc::now()).await.unwrap().is_none(),
        "takes belong to their project"
    );
    let gone = store.delete_take(record.id, second.id, Utc::now()).await.unwrap().unwrap();
    assert_eq!(gone.file.map(|f| f.id), Some(shared.id));
    assert_eq!(store.usage(owner.id).await.unwrap().used, 10);
    assert!(store.takes(record.id, None).await.unwrap().is_empty());

    // Five takes in one slot, one pinned, and one in another slot, with a keep of two: the two
    // oldest unpinned of the first slot are beyond the keep.
    let mut made = Vec::new();
    for n in 0..5 {
        let f = with_digest(10, &format!("d{n}"));
        store.insert_ready_file(&f).await.unwrap();
        let t = take(record.id, slot, f.id, 100 - n);
        store.insert_take(&t).await.unwrap();
        made.push(t);
    }
    assert!(store.set_take_pinned(record.id, made[0].id, true).await.unwrap().unwrap().pinned);
    assert!(store.set_take_pinned(other.id, made[1].id, true).await.unwrap().is_none());
    let lone = with_digest(10, "lone");
    store.insert_ready_file(&lone).await.unwrap();
    store.insert_take(&take(record.id, "clip/shot-1", lone.id, 500)).await.unwrap();
    let beyond = store.takes_beyond_keep(100).await.unwrap();
    let ids: Vec<TakeId> = beyond.iter().map(|(t, _)| t.id).collect();
    assert_eq!(ids, [made[1].id, made[2].id], "oldest first; pinned and kept ones stay");
    assert!(beyond.iter().all(|(_, owner_id)| *owner_id == owner.id));
    assert_eq!(store.takes_beyond_keep(1).await.unwrap().len(), 1);
    let held = store.takes_of_files(record.id, &[made[3].file_id, lone.id]).await.unwrap();
    assert_eq!(held.len(), 2);
}

async fn caps_admit_work_atomically_and_count_what_it_really_cost(store: Arc<dyn Store>) {
    use cinegen_store::{BudgetScope, Money, Spend};
    let user = store.create_user(new_user("caps@example.com")).await.unwrap();
    let film = project(user.id, "Capped", "");
    store.create_project(&film).await.unwrap();
    let usd = |micros| Spend { amounts: vec![Money { micros, currency: "USD".into() }], server_key: false };
    let spending = |micros| {
        let mut t = task(user.id, None, 0);
        t.project_id = Some(film.id);
        t.spend = Some(usd(micros));
        t
    };
    // Without a cap, anything is admitted (and held).
    store.enqueue(&spending(70)).await.unwrap();
    let used = store.budget_use(BudgetScope::User(user.id), Utc::now()).await.unwrap();
    assert_eq!((used[0].cap, used[0].spent, used[0].held), (None, 0, 70));
    // Ten tasks of 100 race for a cap of 500 with 70 held: four get in.
    store.set_budget(BudgetScope::User(user.id), "USD", Some(500), Utc::now()).await.unwrap();
    let racing = (0..10).map(|_| {
        let (store, t) = (store.clone(), spending(100));
        tokio::spawn(async move { store.enqueue(&t).await })
    });
    let results = futures::future::join_all(racing).await;
    let admitted = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let refused: Vec<_> = results
        .iter()
        .filter_map(|r| match r {
            Ok(Err(StoreError::BudgetExceeded(refusal))) => Some(refusal.clone()),
            _ => None,
        })
        .collect();
    assert_eq!((admitted, refused.len()), (4, 6), "{results:?}");
    assert_eq!((refused[0].scope, refused[0].cap, refused[0].used, refused[0].asked), ("user", 500, 470, 100));
    // A task that ends counts what its calls cost, not what it held.
    let claimed = store.claim_many(&claim_as("w1"), 1).await.unwrap();
    let running = &claimed[0];
    store
        .record_usage(&UsageEvent {
            id: uuid::Uuid::now_v7(),
            user_id: user.id,
            task_id: Some(running.id),
            provider: "openai".into(),
            model: "m".into(),
            kind: "image".into(),
            units: 1,
            project_id: Some(film.id),
            cost: Some(Money { micros: 30, currency: "USD".into() }),
            server_key: false,
            created_at: Utc::now(),
        })
        .await
        .unwrap();
    let while_running = store.budget_use(BudgetScope::User(user.id), Utc::now()).await.unwrap();
    assert_eq!((while_running[0].spent, while_running[0].held), (30, 470 - 30), "held beyond what it spent");
    store
        .finish(
            running.id,
            "w1",
            running.attempts,
            Outcome::Failed { code: "X".into(), message: "x".into() },
            Utc::now(),
        )
        .await
        .unwrap();
    let after = store.budget_use(BudgetScope::User(user.id), Utc::now()).await.unwrap();
    assert_eq!((after[0].spent, after[0].held), (30, 400), "only what it spent counts once it ended: {after:?}");
    let by_project = store.budget_use(BudgetScope::Project(film.id), Utc::now()).await.unwrap();
    assert_eq!(by_project[0].spent, 30);
    store.set_budget(BudgetScope::User(user.id), "USD", None, Utc::now()).await.unwrap();
    assert_eq!(store.budget_use(BudgetScope::User(user.id), Utc::now()).await.unwrap()[0].cap, None);
}

async fn the_audit_log_lists_a_projects_events_newest_first(store: Arc<dyn Store>) {
    use cinegen_store::AuditEvent;
    let user = UserId::new();
    let (film, other) = (ProjectId::new(), ProjectId::new());
    let start = Utc::now() - Duration::minutes(10);
    let event = |project: ProjectId, minute: i64, action: &str, subject: &str| AuditEvent {
        id: uuid::Uuid::now_v7(),
        project_id: Some(project),
        user_id: user,
        action: action.into(),
        subject: subject.into(),
        detail: serde_json::json!({"provider": "local", "minute": minute}),
        created_at: start + Duration::minutes(minute),
    };
    store.record_audit(&event(film, 1, "generated", "keyframe/shot-1/k1")).await.unwrap();
    store.record_audit(&event(film, 2, "generated", "film")).await.unwrap();
    store.record_audit(&event(film, 3, "exported", "archive")).await.unwrap();
    store.record_audit(&event(other, 4, "exported", "subtitles.srt")).await.unwrap();
    // The log names no foreign rows: it outlives what it names.
    let all = store.audit_of_project(film, None, 50).await.unwrap();
    let subjects: Vec<&str> = all.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects, ["archive", "film", "keyframe/shot-1/k1"]);
    assert_eq!(all[0].action, "exported");
    assert_eq!(all[0].detail["minute"], 3);
    assert_eq!(all[0].user_id, user);
    let older = store.audit_of_project(film, Some(all[1].created_at), 50).await.unwrap();
    assert_eq!(older.len(), 1, "a page before a moment");
    assert_eq!(store.audit_of_project(film, None, 1).await.unwrap().len(), 1);
    let refused = AuditEvent { action: "deleted".into(), ..event(film, 5, "generated", "film") };
    assert!(store.record_audit(&refused).await.is_err(), "only generated and exported are recorded");
}
