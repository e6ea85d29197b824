//! What a request is expected to cost before anything is spent: one line per provider, model and
//! capability it calls, with the units (images, seconds, tokens), the price table's cost in its
//! currency, the number of calls and how long they are expected to take.

use super::prices::{Unit, format_amount};
use crate::ai::AiService;
use crate::ai::targets::video_plan;
use crate::error::AppResult;
use crate::tasks::kind::TaskKind;
use cinegen_domain::UserId;
use cinegen_providers::{Capability, Usage};
use cinegen_store::{Money, ProjectRecord, Spend};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Tokens a text call is expected to use (prompt and answer) when nothing better is known: the
/// reservation a budget holds until the vendor's reported usage settles it.
pub const EXPECTED_TOKENS: i64 = 6_000;

/// An amount in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Amount {
    /// A decimal amount with six places (`"0.042000"`).
    pub amount: String,
    /// `USD` or `CNY`.
    pub currency: String,
    /// The same in millionths, for sums.
    pub micros: i64,
}

impl From<&Money> for Amount {
    fn from(money: &Money) -> Self {
        Self { amount: format_amount(money.micros), currency: money.currency.clone(), micros: money.micros }
    }
}

/// Calls of one provider, model and capability.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EstimateLine {
    /// text, image or video.
    pub capability: String,
    pub provider: String,
    pub model: Option<String>,
    pub unit: Unit,
    /// Images, seconds or tokens.
    pub quantity: i64,
    pub calls: i64,
    /// None when the price table has no price for this model.
    pub cost: Option<Amount>,
}

/// What a request (or batch) is expected to cost and take.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Estimate {
    /// Provider calls it makes.
    pub calls: i64,
    pub lines: Vec<EstimateLine>,
    /// The sum per currency (currencies are never converted into each other).
    pub totals: Vec<Amount>,
    /// Calls the price table has no price for (their cost is unknown, not zero).
    pub unpriced_calls: i64,
    /// Seconds the calls are expected to take, at this server's parallelism.
    pub estimated_secs: u64,
}

impl Estimate {
    /// The expected cost in `currency`, in millionths.
    pub fn micros_in(&self, currency: &str) -> i64 {
        self.totals.iter().filter(|t| t.currency == currency).map(|t| t.micros).sum()
    }
}

/// One provider call a task will make, before prices.
struct Call<'a> {
    capability: Capability,
    /// The request's choice, or a line's own (a speaker whose voice names a provider).
    choice: Cow<'a, crate::ai::Choice>,
    quantity: i64,
    /// A clip's length in seconds as asked (vendors that bill by what a clip holds round it
    /// their own way).
    seconds: Option<f64>,
}

/// The provider calls of one task, as the documents stand.
fn calls_of<'a>(project: &ProjectRecord, kind: &'a TaskKind) -> Vec<Call<'a>> {
    let text = |choice| {
        vec![Call {
            capability: Capability::Text,
            choice: Cow::Borrowed(choice),
            quantity: EXPECTED_TOKENS,
            seconds: None,
        }]
    };
    match kind {
        TaskKind::ScriptParse(p) => text(&p.choice),
        TaskKind::ScriptGenerate(p) => text(&p.choice),
        TaskKind::ShotsGenerate(p) => text(&p.choice),
        TaskKind::VisualPrompt(p) => text(&p.choice),
        TaskKind::Image(p) => {
            let image =
                || Call { capability: Capability::Image, choice: Cow::Borrowed(&p.choice), quantity: 1, seconds: None };
            (0..=p.then.len()).map(|_| image()).collect()
        }
        TaskKind::Video(p) => {
            let Ok(plan) = video_plan(project, &p.shot_id, p.duration) else { return Vec::new() };
            let mut calls = Vec::new();
            // A clip whose first frame has no picture paints it first.
            let first = if p.full_frame { plan.full.as_ref() } else { plan.start.as_ref().or(plan.full.as_ref()) };
            if p.start.is_none() && first.is_some_and(|f| f.file.is_none()) {
                calls.push(Call {
                    capability: Capability::Image,
                    choice: Cow::Borrowed(&p.image),
                    quantity: 1,
                    seconds: None,
                });
            }
            calls.push(Call {
                capability: Capability::Video,
                choice: Cow::Borrowed(&p.choice),
                quantity: plan.duration.ceil() as i64,
                seconds: Some(plan.duration),
            });
            calls
        }
        // One call a line, in its speaker's voice, billed by the characters said.
        TaskKind::Speech(p) => crate::ai::speech::lines_of(project, &p.shot_id)
            .unwrap_or_default()
            .iter()
            .map(|line| Call {
                capability: Capability::Speech,
                choice: Cow::Owned(crate::ai::speech::choice_for(line, &p.choice)),
                quantity: line.text.chars().count() as i64,
                seconds: None,
            })
            .collect(),
        TaskKind::Merge(_) | TaskKind::Export(_) | TaskKind::Batch(_) | TaskKind::ImportAsset(_) => Vec::new(),
    }
}

/// What the vendor will report a call used, where it bills by that (a clip's video tokens).
fn expected_usage(ai: &AiService, project: &ProjectRecord, provider: &str, model: Option<&str>, call: &Call) -> Usage {
    let (Some(seconds), Some(model)) = (call.seconds, model) else { return Usage::default() };
    let Some(video) = ai.registry.get(provider).and_then(|p| p.video().ok()) else { return Usage::default() };
    let (width, height) = crate::ai::targets::frame_size(project);
    video.expected_usage(model, seconds, width, height)
}

/// An estimate, and what each task expects to spend (for the budgets' reservations).
pub struct Priced {
    pub estimate: Estimate,
    /// One per task, in the order given.
    pub per_task: Vec<Spend>,
}

/// Estimates `kinds` for `user` on `project`: providers and models resolved as the tasks will
/// resolve them, units from the documents, prices from the table.
pub async fn estimate(ai: &AiService, user: UserId, project: &ProjectRecord, kinds: &[TaskKind]) -> AppResult<Priced> {
    type Found = (&'static str, Option<String>, bool, Vec<super::prices::UserPrice>);
    let mut lines: BTreeMap<(String, String, Option<String>), EstimateLine> = BTreeMap::new();
    // Each line's cost is the sum of its calls' (priced one by one, as they will be settled).
    let mut line_costs: BTreeMap<(String, String, Option<String>), Option<Money>> = BTreeMap::new();
    let mut resolved: Vec<((Capability, crate::ai::Choice), Found)> = Vec::new();
    let mut per_task = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let mut spend = Spend::default();
        for call in calls_of(project, kind) {
            let key = (call.capability, call.choice.clone().into_owned());
            let (provider, model, server_key, own) = match resolved.iter().find(|(seen, _)| *seen == key) {
                Some((_, found)) => found.clone(),
                None => {
                    let found = ai.provider_and_model(user, call.capability, &call.choice).await?;
                    resolved.push((key, found.clone()));
                    found
                }
            };
            let unit = Unit::of(call.capability);
            let expected = expected_usage(ai, project, provider, model.as_deref(), &call);
            let cost =
                ai.settings.prices.settle(&own, provider, model.as_deref(), call.capability, call.quantity, expected);
            if let Some(cost) = &cost {
                match spend.amounts.iter_mut().find(|m| m.currency == cost.currency) {
                    Some(held) => held.micros += cost.micros,
                    None => spend.amounts.push(cost.clone()),
                }
            }
            spend.server_key |= server_key;
            let line_key = (call.capability.as_str().to_owned(), provider.to_owned(), model.clone());
            let line_cost =
                line_costs.entry(line_key.clone()).or_insert_with(|| cost.clone().map(|c| Money { micros: 0, ..c }));
            match (line_cost.as_mut(), &cost) {
                (Some(sum), Some(cost)) => sum.micros += cost.micros,
                _ => *line_cost = None,
            }
            let line = lines.entry(line_key).or_insert(EstimateLine {
                capability: call.capability.as_str().to_owned(),
                provider: provider.to_owned(),
                model,
                unit,
                quantity: 0,
                calls: 0,
                cost: None,
            });
            line.quantity += call.quantity;
            line.calls += 1;
        }
        per_task.push(spend);
    }
    let mut estimate = Estimate::default();
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    let parallel = ai.settings.provider_concurrency.min(ai.settings.workers.max(1));
    for (key, mut line) in lines {
        let capability = match line.capability.as_str() {
            "text" => Capability::Text,
            "image" => Capability::Image,
            "speech" => Capability::Speech,
            _ => Capability::Video,
        };
        match line_costs.remove(&key).flatten() {
            Some(cost) => {
                *totals.entry(cost.currency.clone()).or_default() += cost.micros;
                line.cost = Some(Amount::from(&cost));
            }
            None => estimate.unpriced_calls += line.calls,
        }
        let typical = ai.latencies.typical_secs(&line.provider, line.model.as_deref(), capability);
        estimate.estimated_secs += crate::ai::latency::estimate(typical, line.calls - 1, parallel);
        estimate.calls += line.calls;
        estimate.lines.push(line);
    }
    estimate.totals = totals
        .into_iter()
        .map(|(currency, micros)| Amount { amount: format_amount(micros), currency, micros })
        .collect();
    Ok(Priced { estimate, per_task })
}
