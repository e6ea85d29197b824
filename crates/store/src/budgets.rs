//! Monthly spending caps and the reservations that hold them: a task that will spend money
//! carries its expected cost ([`Spend`]); enqueuing it checks every cap that applies (its user's,
//! its project's, and the server's for calls with the server's keys) and reserves the amount in
//! the same transaction, so concurrent requests cannot together pass a cap. A month's use is what
//! its usage events cost plus what unfinished tasks still hold beyond what they spent so far.

use crate::{Money, StoreResult};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use cinegen_domain::{ProjectId, UserId};

/// Whose cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BudgetScope {
    /// The server's own keys: calls made with them, whoever asked.
    Server,
    User(UserId),
    Project(ProjectId),
}

impl BudgetScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::User(_) => "user",
            Self::Project(_) => "project",
        }
    }

    pub(crate) fn id(self) -> uuid::Uuid {
        match self {
            Self::Server => uuid::Uuid::nil(),
            Self::User(user) => user.as_uuid(),
            Self::Project(project) => project.as_uuid(),
        }
    }
}

/// What a task expects to spend, held against the caps while it is unfinished.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spend {
    pub amounts: Vec<Money>,
    /// Some of its calls use the server's own keys (the server-wide cap applies).
    pub server_key: bool,
}

/// A cap that a request would pass, with the numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetRefusal {
    pub scope: &'static str,
    pub currency: String,
    /// The monthly cap, spent and held so far this month, and what the request asked for.
    pub cap: i64,
    pub used: i64,
    pub asked: i64,
}

/// One currency of a scope this month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetUse {
    pub currency: String,
    /// None: no cap in this currency.
    pub cap: Option<i64>,
    /// What usage events cost this month.
    pub spent: i64,
    /// What unfinished tasks hold beyond what they have spent.
    pub held: i64,
}

/// The first moment of `now`'s calendar month (UTC): caps are monthly.
pub fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).single().unwrap_or(now)
}

#[async_trait::async_trait]
pub trait BudgetStore {
    /// Sets the monthly cap of `scope` in `currency` (millionths), or removes it (`None`).
    async fn set_budget(
        &self,
        scope: BudgetScope,
        currency: &str,
        monthly: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Every currency `scope` has a cap in or spent in this month, with its use.
    async fn budget_use(&self, scope: BudgetScope, now: DateTime<Utc>) -> StoreResult<Vec<BudgetUse>>;
}
