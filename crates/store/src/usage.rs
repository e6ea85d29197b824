//! Metering and provider settings: one usage event per provider call, and each user's provider
//! keys (already encrypted by the caller), base URLs and default models.

use crate::Money;
use crate::StoreResult;
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, TaskId, UserId};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct UsageEvent {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    pub task_id: Option<TaskId>,
    pub provider: String,
    pub model: String,
    /// text, image or video.
    pub kind: String,
    /// Tokens for text, images for image, seconds for video.
    pub units: i64,
    /// The project the call was for.
    pub project_id: Option<ProjectId>,
    /// What it cost, when the vendor's usage or the price table says.
    pub cost: Option<Money>,
    /// Made with one of the server's own keys.
    pub server_key: bool,
    pub created_at: DateTime<Utc>,
}

/// Spending of one day (UTC), project, provider, model, kind and currency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpendRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub project_id: Option<ProjectId>,
    pub project_title: Option<String>,
    pub provider: String,
    pub model: String,
    pub kind: String,
    pub calls: i64,
    pub units: i64,
    /// None for calls the price table had no price for.
    pub currency: Option<String>,
    pub micros: i64,
}

/// Usage of one day (UTC), provider and kind.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub provider: String,
    pub kind: String,
    pub calls: i64,
    pub units: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSettingRecord {
    pub user_id: UserId,
    pub provider: String,
    /// Ciphertext; the store never sees a key in the clear.
    pub api_key: Option<String>,
    /// A few characters for display (`sk-…abcd`).
    pub api_key_hint: Option<String>,
    pub secret_key: Option<String>,
    pub secret_hint: Option<String>,
    pub base_url: Option<String>,
    /// `{"text": "...", "image": "...", "video": "..."}`.
    pub models: Value,
    pub updated_at: DateTime<Utc>,
    /// The last check of the saved key, until the key, secret or base URL changes.
    pub check: Option<KeyCheckRecord>,
    /// The user's own prices for calls with their key: `[{model, unit, amount, currency}]`.
    pub prices: Value,
    /// The keys after the first, sealed: `[{api_key, api_key_hint, secret_key, secret_hint}]`.
    pub extra_keys: Value,
}

/// A key a vendor refused, skipped until its owner saves the provider's settings again.
#[derive(Debug, Clone, PartialEq)]
pub struct ParkedKey {
    /// A user's id, or `server` for the operator's keys.
    pub owner: String,
    pub provider: String,
    /// A hash of the key (never the key).
    pub fingerprint: String,
    /// `key_refused` or `out_of_credit`.
    pub reason: String,
    /// What the vendor said.
    pub message: Option<String>,
    pub parked_at: DateTime<Utc>,
}

/// How a check of a saved key went.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCheckRecord {
    pub at: DateTime<Utc>,
    /// `working`, or why not (`key_refused`, `rate_limited`, `unreachable`, `refused`, `unreadable`).
    pub outcome: String,
    /// What the vendor said, where it said something.
    pub message: Option<String>,
    /// The models the vendor listed for the key (`[{id, capability}]`), where it lists them.
    pub models: Option<Value>,
}

#[async_trait::async_trait]
pub trait UsageStore {
    async fn record_usage(&self, event: &UsageEvent) -> StoreResult<()>;

    /// The user's usage since `since`, by day, provider and kind, newest day first.
    async fn usage_summary(&self, user: UserId, since: DateTime<Utc>) -> StoreResult<Vec<UsageRow>>;

    /// The user's spending since `since`, by day, project, provider, model, kind and currency,
    /// newest day first.
    async fn spending(&self, user: UserId, since: DateTime<Utc>) -> StoreResult<Vec<SpendRow>>;

    async fn provider_settings(&self, user: UserId) -> StoreResult<Vec<ProviderSettingRecord>>;

    /// Creates or replaces the user's settings of one provider.
    async fn put_provider_setting(&self, setting: &ProviderSettingRecord) -> StoreResult<()>;

    async fn delete_provider_setting(&self, user: UserId, provider: &str) -> StoreResult<bool>;

    /// Parks a key (again: the newer reason wins).
    async fn park_key(&self, parked: &ParkedKey) -> StoreResult<()>;

    /// The keys of `owner` parked now.
    async fn parked_keys(&self, owner: &str) -> StoreResult<Vec<ParkedKey>>;

    /// Lets every parked key of `owner` at `provider` be used again (its settings were saved anew).
    async fn unpark_keys(&self, owner: &str, provider: &str) -> StoreResult<u64>;

    /// Records how a check of the key saved at `saved_at` went; `false` (nothing written) when the
    /// settings changed meanwhile, so a check never vouches for a key it did not try.
    async fn record_key_check(
        &self,
        user: UserId,
        provider: &str,
        saved_at: DateTime<Utc>,
        check: &KeyCheckRecord,
    ) -> StoreResult<bool>;
}
