//! What was spent: the usage events' costs summed by day, project, provider or model, with totals
//! per currency, and the same rows as CSV.

use super::estimate::Amount;
use super::prices::format_amount;
use cinegen_store::SpendRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    #[default]
    Day,
    Project,
    Provider,
    Model,
}

/// Spending of one day, project, provider or model.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SpendGroup {
    /// The day (`YYYY-MM-DD`), project id, provider, or `provider/model`.
    pub key: String,
    /// A project's title, when grouped by project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub calls: i64,
    /// The sum per currency.
    pub totals: Vec<Amount>,
    /// Calls whose price was unknown.
    pub unpriced_calls: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SpendReport {
    pub days: u32,
    pub group_by: GroupBy,
    pub groups: Vec<SpendGroup>,
    pub totals: Vec<Amount>,
    pub calls: i64,
    pub unpriced_calls: i64,
}

#[derive(Default)]
struct Sum {
    label: Option<String>,
    calls: i64,
    unpriced: i64,
    by_currency: BTreeMap<String, i64>,
}

impl Sum {
    fn add(&mut self, row: &SpendRow) {
        self.calls += row.calls;
        match &row.currency {
            Some(currency) => *self.by_currency.entry(currency.clone()).or_default() += row.micros,
            None => self.unpriced += row.calls,
        }
    }

    fn totals(&self) -> Vec<Amount> {
        self.by_currency
            .iter()
            .map(|(currency, micros)| Amount {
                amount: format_amount(*micros),
                currency: currency.clone(),
                micros: *micros,
            })
            .collect()
    }
}

/// Sums `rows` by `group_by`; days newest first, everything else by name.
pub fn report(rows: &[SpendRow], days: u32, group_by: GroupBy) -> SpendReport {
    let mut groups: BTreeMap<String, Sum> = BTreeMap::new();
    let mut all = Sum::default();
    for row in rows {
        let key = match group_by {
            GroupBy::Day => row.day.clone(),
            GroupBy::Project => row.project_id.map_or_else(|| "none".to_owned(), |p| p.to_string()),
            GroupBy::Provider => row.provider.clone(),
            GroupBy::Model => format!("{}/{}", row.provider, row.model),
        };
        let group = groups.entry(key).or_default();
        if group_by == GroupBy::Project {
            group.label.clone_from(&row.project_title);
        }
        group.add(row);
        all.add(row);
    }
    let mut groups: Vec<SpendGroup> = groups
        .into_iter()
        .map(|(key, sum)| SpendGroup {
            key,
            totals: sum.totals(),
            label: sum.label,
            calls: sum.calls,
            unpriced_calls: sum.unpriced,
        })
        .collect();
    if group_by == GroupBy::Day {
        groups.reverse();
    }
    SpendReport { days, group_by, groups, totals: all.totals(), calls: all.calls, unpriced_calls: all.unpriced }
}

/// One CSV field: quoted when it holds a separator, quote or line break; a leading `=`, `+`,
/// `-` or `@` is defused so a spreadsheet never runs it as a formula.
fn field(raw: &str) -> String {
    let text = if raw.starts_with(['=', '+', '-', '@']) { format!("'{raw}") } else { raw.to_owned() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

/// The rows as CSV, one per day, project, provider, model, kind and currency.
pub fn csv(rows: &[SpendRow]) -> String {
    let mut out = String::from("day,project_id,project,provider,model,kind,calls,units,currency,amount\r\n");
    for row in rows {
        let cells = [
            row.day.clone(),
            row.project_id.map(|p| p.to_string()).unwrap_or_default(),
            row.project_title.clone().unwrap_or_default(),
            row.provider.clone(),
            row.model.clone(),
            row.kind.clone(),
            row.calls.to_string(),
            row.units.to_string(),
            row.currency.clone().unwrap_or_default(),
            if row.currency.is_some() { format_amount(row.micros) } else { String::new() },
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: &str, provider: &str, currency: Option<&str>, micros: i64, title: &str) -> SpendRow {
        SpendRow {
            day: day.into(),
            project_id: None,
            project_title: Some(title.into()),
            provider: provider.into(),
            model: "m".into(),
            kind: "image".into(),
            calls: 2,
            units: 2,
            currency: currency.map(str::to_owned),
            micros,
        }
    }

    #[test]
    fn groups_sum_each_currency_apart_and_count_unpriced_calls() {
        let rows = [
            row("2026-12-05", "openai", Some("USD"), 84_000, "a"),
            row("2026-12-06", "doubao", Some("CNY"), 500_000, "a"),
            row("2026-12-06", "openai", Some("USD"), 42_000, "a"),
            row("2026-12-06", "acme", None, 0, "a"),
        ];
        let by_day = report(&rows, 30, GroupBy::Day);
        assert_eq!(by_day.groups.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(), ["2026-12-06", "2026-12-05"]);
        let today = &by_day.groups[0];
        assert_eq!(
            today.totals.iter().map(|t| (t.currency.as_str(), t.amount.as_str())).collect::<Vec<_>>(),
            [("CNY", "0.500000"), ("USD", "0.042000")]
        );
        assert_eq!((today.calls, today.unpriced_calls), (6, 2));
        assert_eq!(by_day.totals.iter().find(|t| t.currency == "USD").unwrap().micros, 126_000);
        let by_provider = report(&rows, 30, GroupBy::Provider);
        assert_eq!(by_provider.groups.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(), ["acme", "doubao", "openai"]);
    }

    #[test]
    fn csv_quotes_and_defuses_what_a_spreadsheet_would_misread() {
        let rows = [row("2026-12-06", "openai", Some("USD"), 42_000, "=HYPERLINK(\"x\"), \"雨\"")];
        let text = csv(&rows);
        let line = text.lines().nth(1).unwrap();
        assert!(line.contains("\"'=HYPERLINK(\"\"x\"\"), \"\"雨\"\"\""), "{line}");
        assert!(line.ends_with(",USD,0.042000"), "{line}");
    }
}
