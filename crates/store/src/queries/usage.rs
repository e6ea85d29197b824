use super::SqlStore;
use crate::db::{Row, Time};
use crate::usage::{KeyCheckRecord, ParkedKey, ProviderSettingRecord, SpendRow, UsageEvent, UsageRow, UsageStore};
use crate::{Engine, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, UserId};
use sqlx::types::Json;

fn setting_from_row(row: &Row) -> StoreResult<ProviderSettingRecord> {
    Ok(ProviderSettingRecord {
        user_id: UserId(row.uuid("user_id")?),
        provider: row.get("provider")?,
        api_key: row.get("api_key")?,
        api_key_hint: row.get("api_key_hint")?,
        secret_key: row.get("secret_key")?,
        secret_hint: row.get("secret_hint")?,
        base_url: row.get("base_url")?,
        models: row.get("models")?,
        prices: row.get("prices")?,
        extra_keys: row.get("extra_keys")?,
        updated_at: row.time("updated_at")?,
        check: match row.opt_time("checked_at")? {
            Some(at) => Some(KeyCheckRecord {
                at,
                outcome: row.get("check_outcome")?,
                message: row.get("check_message")?,
                models: row.get("check_models")?,
            }),
            None => None,
        },
    })
}

/// The UTC calendar day (`YYYY-MM-DD`) of a time column: each engine has its own date functions.
fn utc_day(engine: Engine, column: &str) -> String {
    match engine {
        Engine::Sqlite => format!("strftime('%Y-%m-%d', {column} / 1000, 'unixepoch')"),
        Engine::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
    }
}

#[async_trait::async_trait]
impl UsageStore for SqlStore {
    async fn record_usage(&self, event: &UsageEvent) -> StoreResult<()> {
        self.db
            .query(
                "INSERT INTO usage_events
                    (id, user_id, task_id, provider, model, kind, units, created_at, project_id, cost_micros, currency,
                     server_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(event.id)
            .bind(event.user_id.as_uuid())
            .bind(event.task_id.map(|t| t.as_uuid()))
            .bind(&event.provider)
            .bind(&event.model)
            .bind(&event.kind)
            .bind(event.units)
            .bind(Time(event.created_at))
            .bind(event.project_id.map(|p| p.as_uuid()))
            .bind(event.cost.as_ref().map(|c| c.micros))
            .bind(event.cost.as_ref().map(|c| c.currency.as_str()))
            .bind(event.server_key)
            .execute()
            .await?;
        Ok(())
    }

    async fn usage_summary(&self, user: UserId, since: DateTime<Utc>) -> StoreResult<Vec<UsageRow>> {
        let sql = format!(
            "SELECT {} AS day, provider, kind, COUNT(*) AS calls, CAST(SUM(units) AS BIGINT) AS units
             FROM usage_events WHERE user_id = $1 AND created_at >= $2
             GROUP BY day, provider, kind ORDER BY day DESC, provider, kind",
            utc_day(self.db.engine(), "created_at")
        );
        let rows = self.db.query(sql).bind(user.as_uuid()).bind(Time(since)).fetch_all().await?;
        rows.iter()
            .map(|row| {
                Ok(UsageRow {
                    day: row.get("day")?,
                    provider: row.get("provider")?,
                    kind: row.get("kind")?,
                    calls: row.get("calls")?,
                    units: row.get::<Option<i64>>("units")?.unwrap_or(0),
                })
            })
            .collect()
    }

    async fn spending(&self, user: UserId, since: DateTime<Utc>) -> StoreResult<Vec<SpendRow>> {
        let sql = format!(
            "SELECT {} AS day, u.project_id, p.title AS project_title, u.provider, u.model, u.kind, u.currency,
                    COUNT(*) AS calls, CAST(SUM(u.units) AS BIGINT) AS units,
                    CAST(COALESCE(SUM(u.cost_micros), 0) AS BIGINT) AS micros
             FROM usage_events u LEFT JOIN projects p ON p.id = u.project_id
             WHERE u.user_id = $1 AND u.created_at >= $2
             GROUP BY day, u.project_id, p.title, u.provider, u.model, u.kind, u.currency
             ORDER BY day DESC, u.provider, u.model, u.kind, p.title",
            utc_day(self.db.engine(), "u.created_at")
        );
        let rows = self.db.query(sql).bind(user.as_uuid()).bind(Time(since)).fetch_all().await?;
        rows.iter()
            .map(|row| {
                Ok(SpendRow {
                    day: row.get("day")?,
                    project_id: row.get::<Option<uuid::Uuid>>("project_id")?.map(ProjectId),
                    project_title: row.get("project_title")?,
                    provider: row.get("provider")?,
                    model: row.get("model")?,
                    kind: row.get("kind")?,
                    calls: row.get("calls")?,
                    units: row.get::<Option<i64>>("units")?.unwrap_or(0),
                    currency: row.get("currency")?,
                    micros: row.get("micros")?,
                })
            })
            .collect()
    }

    async fn provider_settings(&self, user: UserId) -> StoreResult<Vec<ProviderSettingRecord>> {
        let rows = self
            .db
            .query(
                "SELECT user_id, provider, api_key, api_key_hint, secret_key, secret_hint, base_url, models, updated_at,
                        checked_at, check_outcome, check_message, check_models, prices, extra_keys
                 FROM provider_settings WHERE user_id = $1 ORDER BY provider",
            )
            .bind(user.as_uuid())
            .fetch_all()
            .await?;
        rows.iter().map(setting_from_row).collect()
    }

    async fn put_provider_setting(&self, setting: &ProviderSettingRecord) -> StoreResult<()> {
        self.db
            .query(
                "INSERT INTO provider_settings
                    (user_id, provider, api_key, api_key_hint, secret_key, secret_hint, base_url, models, updated_at,
                     checked_at, check_outcome, check_message, prices, check_models, extra_keys)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 ON CONFLICT (user_id, provider) DO UPDATE SET api_key = excluded.api_key,
                    api_key_hint = excluded.api_key_hint, secret_key = excluded.secret_key,
                    secret_hint = excluded.secret_hint, base_url = excluded.base_url, models = excluded.models,
                    updated_at = excluded.updated_at, checked_at = excluded.checked_at,
                    check_outcome = excluded.check_outcome, check_message = excluded.check_message,
                    prices = excluded.prices, check_models = excluded.check_models,
                    extra_keys = excluded.extra_keys",
            )
            .bind(setting.user_id.as_uuid())
            .bind(&setting.provider)
            .bind(&setting.api_key)
            .bind(&setting.api_key_hint)
            .bind(&setting.secret_key)
            .bind(&setting.secret_hint)
            .bind(&setting.base_url)
            .bind(Json(&setting.models))
            .bind(Time(setting.updated_at))
            .bind(setting.check.as_ref().map(|c| Time(c.at)))
            .bind(setting.check.as_ref().map(|c| c.outcome.as_str()))
            .bind(setting.check.as_ref().and_then(|c| c.message.as_deref()))
            .bind(Json(&setting.prices))
            .bind(setting.check.as_ref().and_then(|c| c.models.as_ref()).map(Json))
            .bind(Json(&setting.extra_keys))
            .execute()
            .await?;
        Ok(())
    }

    async fn park_key(&self, parked: &ParkedKey) -> StoreResult<()> {
        self.db
            .query(
                "INSERT INTO parked_keys (owner, provider, fingerprint, reason, message, parked_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (owner, provider, fingerprint) DO UPDATE SET reason = excluded.reason,
                    message = excluded.message, parked_at = excluded.parked_at",
            )
            .bind(&parked.owner)
            .bind(&parked.provider)
            .bind(&parked.fingerprint)
            .bind(&parked.reason)
            .bind(parked.message.as_deref())
            .bind(Time(parked.parked_at))
            .execute()
            .await?;
        Ok(())
    }

    async fn parked_keys(&self, owner: &str) -> StoreResult<Vec<ParkedKey>> {
        let rows = self
            .db
            .query(
                "SELECT owner, provider, fingerprint, reason, message, parked_at FROM parked_keys
                 WHERE owner = $1 ORDER BY provider, parked_at",
            )
            .bind(owner)
            .fetch_all()
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ParkedKey {
                    owner: row.get("owner")?,
                    provider: row.get("provider")?,
                    fingerprint: row.get("fingerprint")?,
                    reason: row.get("reason")?,
                    message: row.get("message")?,
                    parked_at: row.time("parked_at")?,
                })
            })
            .collect()
    }

    async fn unpark_keys(&self, owner: &str, provider: &str) -> StoreResult<u64> {
        let freed = self
            .db
            .query("DELETE FROM parked_keys WHERE owner = $1 AND provider = $2")
            .bind(owner)
            .bind(provider)
            .execute()
            .await?;
        Ok(freed)
    }

    async fn delete_provider_setting(&self, user: UserId, provider: &str) -> StoreResult<bool> {
        let deleted = self
            .db
            .query("DELETE FROM provider_settings WHERE user_id = $1 AND provider = $2")
            .bind(user.as_uuid())
            .bind(provider)
            .execute()
            .await?;
        Ok(deleted > 0)
    }

    async fn record_key_check(
        &self,
        user: UserId,
        provider: &str,
        saved_at: DateTime<Utc>,
        check: &KeyCheckRecord,
    ) -> StoreResult<bool> {
        let recorded = self
            .db
            .query(
                "UPDATE provider_settings SET checked_at = $4, check_outcome = $5, check_message = $6,
                    check_models = $7
                 WHERE user_id = $1 AND provider = $2 AND updated_at = $3",
            )
            .bind(user.as_uuid())
            .bind(provider)
            .bind(Time(saved_at))
            .bind(Time(check.at))
            .bind(check.outcome.as_str())
            .bind(check.message.as_deref())
            .bind(check.models.as_ref().map(Json))
            .execute()
            .await?;
        Ok(recorded > 0)
    }
}
