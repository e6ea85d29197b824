use super::SqlStore;
use crate::budgets::Spend;
use crate::budgets::{BudgetRefusal, BudgetScope, BudgetStore, BudgetUse, month_start};
use crate::db::{Conn, Time, Tx};
use crate::tasks::NewTask;
use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, TaskId, UserId};
use std::collections::BTreeMap;

/// The column a scope is found by in `usage_events` and `budget_reservations`, and its value.
fn scope_filter(scope: BudgetScope) -> (&'static str, ScopeValue) {
    match scope {
        BudgetScope::Server => ("server_key", ScopeValue::Flag),
        BudgetScope::User(user) => ("user_id", ScopeValue::Id(user.as_uuid())),
        BudgetScope::Project(project) => ("project_id", ScopeValue::Id(project.as_uuid())),
    }
}

enum ScopeValue {
    Flag,
    Id(uuid::Uuid),
}

/// (spent this month, held by unfinished tasks) of `scope` in `currency`.
async fn used(conn: &mut Conn<'_>, scope: BudgetScope, currency: &str, now: DateTime<Utc>) -> StoreResult<(i64, i64)> {
    let (column, value) = scope_filter(scope);
    let sql = format!(
        "SELECT
            (SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM usage_events
             WHERE {column} = $1 AND currency = $2 AND created_at >= $3) AS spent,
            (SELECT CAST(COALESCE(SUM(CASE WHEN s.micros > s.spent THEN s.micros - s.spent ELSE 0 END), 0) AS BIGINT)
             FROM (SELECT r.micros, COALESCE((SELECT SUM(u.cost_micros) FROM usage_events u
                                             WHERE u.task_id = r.task_id AND u.currency = r.currency), 0) AS spent
                   FROM budget_reservations r JOIN tasks t ON t.id = r.task_id AND t.status IN ('pending', 'running')
                   WHERE r.{column} = $1 AND r.currency = $2) AS s) AS held"
    );
    let query = conn.query(sql);
    let query = match value {
        ScopeValue::Flag => query.bind(true),
        ScopeValue::Id(id) => query.bind(id),
    };
    let row = query.bind(currency).bind(Time(month_start(now))).fetch_one().await?;
    Ok((row.get("spent")?, row.get("held")?))
}

/// Locks the caps of `scope` until the transaction ends (so two admissions under one cap run one
/// after the other) and answers them by currency. SQLite's single writer is taken by a write
/// that changes nothing; PostgreSQL locks the cap rows.
async fn lock_caps(tx: &mut Tx, scope: BudgetScope) -> StoreResult<BTreeMap<String, i64>> {
    let (kind, id) = (scope.as_str(), scope.id());
    let sql = match tx {
        Tx::Sqlite(_) => {
            tx.query("UPDATE budgets SET updated_at = updated_at WHERE scope = $1 AND scope_id = $2")
                .bind(kind)
                .bind(id)
                .execute()
                .await?;
            "SELECT currency, monthly_micros FROM budgets WHERE scope = $1 AND scope_id = $2"
        }
        Tx::Postgres(_) => "SELECT currency, monthly_micros FROM budgets WHERE scope = $1 AND scope_id = $2 FOR UPDATE",
    };
    let rows = tx.query(sql).bind(kind).bind(id).fetch_all().await?;
    rows.iter().map(|row| Ok((row.get::<String>("currency")?, row.get::<i64>("monthly_micros")?))).collect()
}

/// A task's claim on the caps: who and what it spends for, and how much.
pub(super) struct Claim<'a> {
    pub task: TaskId,
    pub user: UserId,
    pub project: Option<ProjectId>,
    pub spend: &'a Spend,
}

impl<'a> Claim<'a> {
    pub fn of(task: &'a NewTask) -> Option<Self> {
        let spend = task.spend.as_ref()?;
        Some(Self { task: task.id, user: task.user_id, project: task.project_id, spend })
    }
}

/// Checks every cap the tasks' spending falls under and reserves it, inside the transaction that
/// enqueues them: all of it fits, or `BudgetExceeded` and nothing is written.
pub(super) async fn admit(tx: &mut Tx, tasks: &[&NewTask], now: DateTime<Utc>) -> StoreResult<()> {
    let claims: Vec<Claim<'_>> = tasks.iter().filter_map(|task| Claim::of(task)).collect();
    admit_claims(tx, &claims, now).await
}

/// A failed task queued again claims its spending anew: what it already spent stays counted (its
/// reservation is brought down to that) and the new attempt is admitted like new work.
pub(super) async fn readmit(tx: &mut Tx, claim: &Claim<'_>, now: DateTime<Utc>) -> StoreResult<()> {
    tx.query(
        "UPDATE budget_reservations SET micros = COALESCE((SELECT SUM(u.cost_micros) FROM usage_events u
            WHERE u.task_id = budget_reservations.task_id AND u.currency = budget_reservations.currency), 0)
         WHERE task_id = $1",
    )
    .bind(claim.task.as_uuid())
    .execute()
    .await?;
    admit_claims(tx, std::slice::from_ref(claim), now).await
}

async fn admit_claims(tx: &mut Tx, tasks: &[Claim<'_>], now: DateTime<Utc>) -> StoreResult<()> {
    let mut asked: BTreeMap<(BudgetScope, String), i64> = BTreeMap::new();
    for task in tasks {
        let spend = task.spend;
        for money in &spend.amounts {
            let mut scopes = vec![BudgetScope::User(task.user)];
            scopes.extend(task.project.map(BudgetScope::Project));
            if spend.server_key {
                scopes.push(BudgetScope::Server);
            }
            for scope in scopes {
                *asked.entry((scope, money.currency.clone())).or_default() += money.micros;
            }
        }
    }
    if asked.is_empty() {
        return Ok(());
    }
    // Scopes in one order (server, user, project), so admissions never wait on each other in a circle.
    let mut scopes: Vec<BudgetScope> = asked.keys().map(|(scope, _)| *scope).collect();
    scopes.dedup();
    for scope in scopes {
        let caps = lock_caps(tx, scope).await?;
        for ((_, currency), amount) in asked.range((scope, String::new())..).take_while(|((s, _), _)| *s == scope) {
            let Some(cap) = caps.get(currency) else { continue };
            let (spent, held) = used(&mut tx.conn(), scope, currency, now).await?;
            if spent + held + amount > *cap {
                return Err(StoreError::BudgetExceeded(BudgetRefusal {
                    scope: scope.as_str(),
                    currency: currency.clone(),
                    cap: *cap,
                    used: spent + held,
                    asked: *amount,
                }));
            }
        }
    }
    for task in tasks {
        let spend = task.spend;
        for money in spend.amounts.iter().filter(|m| m.micros > 0) {
            tx.query(
                "INSERT INTO budget_reservations (task_id, currency, user_id, project_id, server_key, micros, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (task_id, currency) DO UPDATE SET micros = budget_reservations.micros + excluded.micros",
            )
            .bind(task.task.as_uuid())
            .bind(money.currency.as_str())
            .bind(task.user.as_uuid())
            .bind(task.project.map(|p| p.as_uuid()))
            .bind(spend.server_key)
            .bind(money.micros)
            .bind(Time(now))
            .execute()
            .await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl BudgetStore for SqlStore {
    async fn set_budget(
        &self,
        scope: BudgetScope,
        currency: &str,
        monthly: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let query = match monthly {
            Some(micros) => self
                .db
                .query(
                    "INSERT INTO budgets (scope, scope_id, currency, monthly_micros, updated_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (scope, scope_id, currency) DO UPDATE
                        SET monthly_micros = excluded.monthly_micros, updated_at = excluded.updated_at",
                )
                .bind(scope.as_str())
                .bind(scope.id())
                .bind(currency)
                .bind(micros)
                .bind(Time(now)),
            None => self
                .db
                .query("DELETE FROM budgets WHERE scope = $1 AND scope_id = $2 AND currency = $3")
                .bind(scope.as_str())
                .bind(scope.id())
                .bind(currency),
        };
        query.execute().await?;
        Ok(())
    }

    async fn budget_use(&self, scope: BudgetScope, now: DateTime<Utc>) -> StoreResult<Vec<BudgetUse>> {
        let mut pooled = self.db.acquire().await?;
        let mut conn = pooled.conn();
        let caps: BTreeMap<String, i64> = conn
            .query("SELECT currency, monthly_micros FROM budgets WHERE scope = $1 AND scope_id = $2")
            .bind(scope.as_str())
            .bind(scope.id())
            .fetch_all()
            .await?
            .iter()
            .map(|row| Ok((row.get::<String>("currency")?, row.get::<i64>("monthly_micros")?)))
            .collect::<StoreResult<_>>()?;
        let (column, value) = scope_filter(scope);
        let sql = format!(
            "SELECT DISTINCT currency FROM usage_events WHERE {column} = $1 AND currency IS NOT NULL AND created_at >= $2
             UNION SELECT DISTINCT r.currency FROM budget_reservations r JOIN tasks t ON t.id = r.task_id
                AND t.status IN ('pending', 'running') WHERE r.{column} = $1"
        );
        let query = conn.query(sql);
        let query = match value {
            ScopeValue::Flag => query.bind(true),
            ScopeValue::Id(id) => query.bind(id),
        };
        let rows = query.bind(Time(month_start(now))).fetch_all().await?;
        let mut currencies: Vec<String> = caps.keys().cloned().collect();
        for row in &rows {
            let currency: String = row.get("currency")?;
            if !currencies.contains(&currency) {
                currencies.push(currency);
            }
        }
        currencies.sort();
        let mut uses = Vec::with_capacity(currencies.len());
        for currency in currencies {
            let (spent, held) = used(&mut conn, scope, &currency, now).await?;
            uses.push(BudgetUse { cap: caps.get(&currency).copied(), currency, spent, held });
        }
        Ok(uses)
    }
}
