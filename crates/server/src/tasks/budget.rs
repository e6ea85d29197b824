//! Hourly budgets per user. A request draws on the budget of what its work will spend — a
//! vendor's text, image or video calls; the offline provider's CPU, which costs nobody money and
//! so has a budget of its own; our CPU for merges and archives; downloads for imports — and a
//! batch draws one per item, so splitting work into batches or retries never stretches a budget.

use crate::config::Settings;
use crate::ephemeral::Counters;
use crate::error::{AppError, AppResult, BudgetLeft};
use cinegen_domain::UserId;
use cinegen_providers::Capability;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    Text,
    Image,
    Video,
    /// Anything the offline `local` provider makes.
    Local,
    /// Batches, merges and archives.
    Batch,
    /// Server-side downloads of outside assets (imports).
    Downloads,
    /// Projects shared with an address (each share tells whether the address has an account).
    Shares,
}

impl Budget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Video => "video",
            Self::Local => "local",
            Self::Batch => "batch",
            Self::Downloads => "downloads",
            Self::Shares => "shares",
        }
    }

    /// What a call of `capability` on the provider named `provider` draws on.
    pub fn for_call(provider: &str, capability: Capability) -> Self {
        match capability {
            _ if provider == cinegen_providers::local::NAME => Self::Local,
            // A spoken line costs about what a text request does.
            Capability::Text | Capability::Speech => Self::Text,
            Capability::Image => Self::Image,
            Capability::Video => Self::Video,
        }
    }

    /// What the limit counts, for messages.
    fn units(self) -> &'static str {
        match self {
            Self::Text => "text requests",
            Self::Image => "image requests",
            Self::Video => "video requests",
            Self::Local => "offline generations",
            Self::Batch => "batches, merges and archives",
            Self::Downloads => "asset downloads",
            Self::Shares => "shares",
        }
    }
}

/// How much of which budgets one request draws.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Charge(Vec<(Budget, u64)>);

impl Charge {
    pub fn of(budget: Budget, n: u64) -> Self {
        Self::default().and(budget, n)
    }

    pub fn and(mut self, budget: Budget, n: u64) -> Self {
        if n == 0 {
            return self;
        }
        match self.0.iter_mut().find(|(b, _)| *b == budget) {
            Some((_, count)) => *count += n,
            None => self.0.push((budget, n)),
        }
        self
    }

    pub fn parts(&self) -> &[(Budget, u64)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn key(budget: Budget, user: UserId) -> String {
    format!("rate:{}:{user}", budget.as_str())
}

/// Draws all of `charge` from `user`'s budgets, or nothing: a request over any of them is
/// refused with how many it may still ask for and the seconds until the window opens again.
pub async fn draw(counters: &dyn Counters, settings: &Settings, user: UserId, charge: &Charge) -> AppResult<()> {
    let mut drawn = Charge::default();
    for &(budget, n) in charge.parts() {
        if let Err(error) = draw_within(counters, user, budget, n, settings.requests_per_hour(budget)).await {
            refund(counters, user, &drawn).await;
            return Err(error);
        }
        drawn = drawn.and(budget, n);
    }
    Ok(())
}

/// Draws `n` of `budget` when `limit` an hour allows it; else draws nothing and refuses.
pub async fn draw_within(counters: &dyn Counters, user: UserId, budget: Budget, n: u64, limit: u32) -> AppResult<()> {
    let key = key(budget, user);
    let window = counters.increment_by(&key, n, HOUR).await.map_err(AppError::internal)?;
    let limit = u64::from(limit);
    if window.count <= limit {
        return Ok(());
    }
    if let Err(error) = counters.release_by(&key, n).await {
        tracing::warn!(error = %error, budget = budget.as_str(), "could not give back a budget");
    }
    crate::ops::metrics::rate_limited(budget.as_str());
    let left = limit.saturating_sub(window.count - n);
    let retry_after_secs = window.resets_in_secs.max(1);
    let asked = if n == 1 { String::new() } else { format!(", and this asks for {n}") };
    Err(AppError::RateLimited {
        retry_after_secs,
        message: format!(
            "at most {limit} {} an hour: {left} left{asked}; the window opens again in {retry_after_secs} s",
            budget.units()
        ),
        left: Some(BudgetLeft { budget: budget.as_str(), limit, remaining: left }),
    })
}

/// Gives back what a request drew and did not use (refused later, or a repeat of an earlier one).
pub async fn refund(counters: &dyn Counters, user: UserId, charge: &Charge) {
    for &(budget, n) in charge.parts() {
        if let Err(error) = counters.release_by(&key(budget, user), n).await {
            tracing::warn!(error = %error, budget = budget.as_str(), "could not give back a budget");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ephemeral::MemoryCounters;

    fn settings() -> Settings {
        let dir = std::env::temp_dir().join(format!("cinegen-budget-{}", uuid::Uuid::new_v4()));
        let config = crate::config::Config { data_dir: dir, ..crate::config::Config::default() };
        let mut settings = config.resolve().unwrap();
        settings.video_requests_per_hour = 10;
        settings.local_requests_per_hour = 100;
        settings
    }

    #[tokio::test]
    async fn the_request_over_the_limit_is_refused_with_retry_after() {
        let (counters, settings, user) = (MemoryCounters::default(), settings(), UserId::new());
        for _ in 0..10 {
            draw(&counters, &settings, user, &Charge::of(Budget::Video, 1)).await.unwrap();
        }
        let refused = draw(&counters, &settings, user, &Charge::of(Budget::Video, 1)).await.unwrap_err();
        assert!(matches!(refused, AppError::RateLimited { retry_after_secs, .. } if retry_after_secs > 3500));
        draw(&counters, &settings, UserId::new(), &Charge::of(Budget::Video, 1)).await.expect("users count alone");
        draw(&counters, &settings, user, &Charge::of(Budget::Image, 1)).await.expect("and each budget alone");
    }

    #[tokio::test]
    async fn a_batch_draws_all_its_items_or_nothing() {
        let (counters, settings, user) = (MemoryCounters::default(), settings(), UserId::new());
        draw(&counters, &settings, user, &Charge::of(Budget::Video, 4)).await.unwrap();
        let twelve = Charge::of(Budget::Batch, 1).and(Budget::Video, 12);
        let AppError::RateLimited { message, .. } = draw(&counters, &settings, user, &twelve).await.unwrap_err() else {
            panic!("refused as over the limit")
        };
        assert!(message.contains("6 left, and this asks for 12"), "{message}");
        draw(&counters, &settings, user, &Charge::of(Budget::Video, 6)).await.expect("the refusal drew nothing");
        assert_eq!(counters.peek(&key(Budget::Batch, user)).await.unwrap().count, 0, "not even the batch itself");
    }

    #[tokio::test]
    async fn the_offline_provider_has_its_own_budget() {
        let (counters, settings, user) = (MemoryCounters::default(), settings(), UserId::new());
        assert_eq!(Budget::for_call("local", Capability::Video), Budget::Local);
        assert_eq!(Budget::for_call("kling", Capability::Video), Budget::Video);
        let clips = Charge::of(Budget::for_call("local", Capability::Video), 12);
        draw(&counters, &settings, user, &clips).await.expect("twelve offline clips fit");
        refund(&counters, user, &clips).await;
        assert_eq!(counters.peek(&key(Budget::Local, user)).await.unwrap().count, 0);
    }
}
