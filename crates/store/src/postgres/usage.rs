use super::PostgresStore;
use crate::StoreResult;
use crate::usage::{ProviderSettingRecord, UsageEvent, UsageRow, UsageStore};
use chrono::{DateTime, Utc};
use cinegen_domain::UserId;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;

fn setting_from_row(row: &PgRow) -> StoreResult<ProviderSettingRecord> {
    Ok(ProviderSettingRecord {
        user_id: UserId(row.try_get::<Uuid, _>("user_id")?),
        provider: row.try_get("provider")?,
        api_key: row.try_get("api_key")?,
        api_key_hint: row.try_get("api_key_hint")?,
        secret_key: row.try_get("secret_key")?,
        secret_hint: row.try_get("secret_hint")?,
        base_url: row.try_get("base_url")?,
        models: row.try_get::<Json<Value>, _>("models")?.0,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait::async_trait]
impl UsageStore for PostgresStore {
    async fn record_usage(&self, event: &UsageEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO usage_events (id, user_id, task_id, provider, model, kind, units, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event.id)
        .bind(event.user_id.as_uuid())
        .bind(event.task_id.map(|t| t.as_uuid()))
        .bind(&event.provider)
        .bind(&event.model)
        .bind(&event.kind)
        .bind(event.units)
        .bind(event.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn usage_summary(&self, user: UserId, since: DateTime<Utc>) -> StoreResult<Vec<UsageRow>> {
        let rows = sqlx::query(
            "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, provider, kind, COUNT(*) AS calls, CAST(SUM(units) AS BIGINT) AS units
             FROM usage_events WHERE user_id = $1 AND created_at >= $2
             GROUP BY day, provider, kind ORDER BY day DESC, provider, kind",
        )
        .bind(user.as_uuid())
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UsageRow {
                    day: row.try_get("day")?,
                    provider: row.try_get("provider")?,
                    kind: row.try_get("kind")?,
                    calls: row.try_get("calls")?,
                    units: row.try_get::<Option<i64>, _>("units")?.unwrap_or(0),
                })
            })
            .collect()
    }

    async fn provider_settings(&self, user: UserId) -> StoreResult<Vec<ProviderSettingRecord>> {
        let rows = sqlx::query(
            "SELECT user_id, provider, api_key, api_key_hint, secret_key, secret_hint, base_url, models, updated_at
             FROM provider_settings WHERE user_id = $1 ORDER BY provider",
        )
        .bind(user.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(setting_from_row).collect()
    }

    async fn put_provider_setting(&self, setting: &ProviderSettingRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO provider_settings
                (user_id, provider, api_key, api_key_hint, secret_key, secret_hint, base_url, models, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (user_id, provider) DO UPDATE SET api_key = excluded.api_key,
                api_key_hint = excluded.api_key_hint, secret_key = excluded.secret_key,
                secret_hint = excluded.secret_hint, base_url = excluded.base_url, models = excluded.models,
                updated_at = excluded.updated_at",
        )
        .bind(setting.user_id.as_uuid())
        .bind(&setting.provider)
        .bind(&setting.api_key)
        .bind(&setting.api_key_hint)
        .bind(&setting.secret_key)
        .bind(&setting.secret_hint)
        .bind(&setting.base_url)
        .bind(Json(&setting.models))
        .bind(setting.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_provider_setting(&self, user: UserId, provider: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM provider_settings WHERE user_id = $1 AND provider = $2")
            .bind(user.as_uuid())
            .bind(provider)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
