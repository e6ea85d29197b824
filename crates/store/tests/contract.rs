//! The contract suite: every scenario runs against SQLite and PostgreSQL, proving the two engines
//! behave the same. Each test gets a database of its own.

use chrono::{Duration, Utc};
use cinegen_domain::{ByteSize, DisplayName, Email, SessionId, UserId};
use cinegen_store::testing::TestDatabase;
use cinegen_store::{Engine, NewSession, NewUser, RotateOutcome, Store, StoreError, connect};
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
    assert_eq!(store.revoke_user_sessions(user.id, Utc::now()).await.unwrap(), 1);
    let gone = store.rotate_session("g2", new_session(user.id, other_family, "g3", Duration::days(1))).await.unwrap();
    assert!(matches!(gone, RotateOutcome::Reused { .. }));
}
