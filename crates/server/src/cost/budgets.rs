//! Monthly spending caps as people set and read them: a user's own, a project's (set by its
//! owner, read by its members), and the server's for calls with its own keys (from the
//! configuration). Admission against them happens in the store, as work is enqueued.

use super::prices::{Currency, format_amount, parse_amount};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use cinegen_domain::{FieldError, ValidationErrors};
use cinegen_store::{BudgetScope, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One currency of a budget this month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BudgetLine {
    pub currency: String,
    /// The monthly cap, or null for none.
    pub monthly_cap: Option<String>,
    /// What calls cost this calendar month (UTC).
    pub spent: String,
    /// What queued and running work holds beyond what it has spent.
    pub held: String,
    /// What is left under the cap (null without one).
    pub remaining: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BudgetView {
    /// `YYYY-MM`: caps are per calendar month (UTC).
    pub month: String,
    pub budgets: Vec<BudgetLine>,
}

/// New caps: per currency, an amount (`"10.00"`), or null to remove the cap.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetUpdate {
    #[schema(value_type = std::collections::HashMap<String, Option<String>>, example = json!({"USD": "10.00", "CNY": null}))]
    pub monthly: BTreeMap<String, Option<String>>,
}

/// A scope's caps and this month's use.
pub async fn view(store: &dyn Store, scope: BudgetScope) -> AppResult<BudgetView> {
    let now = Utc::now();
    let uses = store.budget_use(scope, now).await?;
    let budgets = uses
        .into_iter()
        .map(|u| BudgetLine {
            monthly_cap: u.cap.map(format_amount),
            spent: format_amount(u.spent),
            held: format_amount(u.held),
            remaining: u.cap.map(|cap| format_amount((cap - u.spent - u.held).max(0))),
            currency: u.currency,
        })
        .collect();
    Ok(BudgetView { month: now.format("%Y-%m").to_string(), budgets })
}

/// Checks every entry of an update: a known currency, a decimal amount of at most six places.
pub fn parse_update(update: &BudgetUpdate) -> AppResult<Vec<(Currency, Option<i64>)>> {
    let mut errors = ValidationErrors::default();
    let mut caps = Vec::with_capacity(update.monthly.len());
    for (currency, amount) in &update.monthly {
        let field = format!("monthly.{currency}");
        let Ok(parsed) = serde_json::from_value::<Currency>(serde_json::Value::String(currency.clone())) else {
            errors.push(FieldError::new(field, "must be USD or CNY"));
            continue;
        };
        match amount.as_deref().map(parse_amount) {
            None => caps.push((parsed, None)),
            Some(Some(micros)) => caps.push((parsed, Some(micros))),
            Some(None) => errors
                .push(FieldError::new(field, "must be a decimal amount like \"10.00\" (at most six places), or null")),
        }
    }
    if update.monthly.is_empty() {
        errors.push(FieldError::new("monthly", "names at least one currency"));
    }
    errors.into_result().map_err(AppError::validation)?;
    Ok(caps)
}

/// Writes the caps of an update (already checked) for `scope`.
pub async fn apply(store: &dyn Store, scope: BudgetScope, caps: &[(Currency, Option<i64>)]) -> AppResult<()> {
    for (currency, cap) in caps {
        store.set_budget(scope, currency.as_str(), *cap, Utc::now()).await?;
    }
    Ok(())
}

/// The server-wide caps of the configuration (`USD=100,CNY=500`): set, and every other
/// currency's removed, at start.
pub fn parse_server_caps(raw: &str) -> Result<Vec<(Currency, i64)>, String> {
    let mut caps = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (currency, amount) = part.split_once('=').ok_or_else(|| format!("'{part}' is not CURRENCY=AMOUNT"))?;
        let currency = serde_json::from_value::<Currency>(serde_json::Value::String(currency.trim().to_owned()))
            .map_err(|_| format!("'{}' is not USD or CNY", currency.trim()))?;
        let micros = parse_amount(amount).ok_or_else(|| format!("'{}' is not a decimal amount", amount.trim()))?;
        caps.push((currency, micros));
    }
    Ok(caps)
}

/// Writes the server-wide caps at start.
pub async fn apply_server_caps(store: &dyn Store, caps: &[(Currency, i64)]) -> AppResult<()> {
    for currency in [Currency::USD, Currency::CNY] {
        let cap = caps.iter().find(|(c, _)| *c == currency).map(|(_, micros)| *micros);
        store.set_budget(BudgetScope::Server, currency.as_str(), cap, Utc::now()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_caps_read_from_the_configuration() {
        assert_eq!(
            parse_server_caps("USD=100, CNY=0.5").unwrap(),
            [(Currency::USD, 100_000_000), (Currency::CNY, 500_000)]
        );
        assert!(parse_server_caps("EUR=1").unwrap_err().contains("EUR"));
        assert!(parse_server_caps("USD").is_err());
        assert!(parse_server_caps("USD=-1").is_err());
        assert!(parse_server_caps("").unwrap().is_empty());
    }
}
