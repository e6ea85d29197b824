//! The price table: what one unit of a provider's model costs, in the vendor's currency. The
//! defaults are the vendors' public price lists (`assets/prices.toml`, dated, with their sources;
//! `docs/providers.md`), which an operator's file replaces entry by entry (`prices_file`).

use cinegen_providers::{Capability, Usage};
use cinegen_store::Money;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a price is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Image,
    /// A second of video.
    Second,
    /// A thousand tokens (input and output together, as usage reports them).
    #[serde(rename = "1k_tokens")]
    KiloTokens,
    /// A thousand characters of text spoken.
    #[serde(rename = "1k_chars")]
    KiloChars,
    /// One call, whatever it made.
    Call,
}

impl Unit {
    /// The unit a capability's usage is counted in (images, seconds, tokens).
    pub fn of(capability: Capability) -> Self {
        match capability {
            Capability::Text => Self::KiloTokens,
            Capability::Image => Self::Image,
            Capability::Video => Self::Second,
            Capability::Speech => Self::KiloChars,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Second => "second",
            Self::KiloTokens => "1k_tokens",
            Self::KiloChars => "1k_chars",
            Self::Call => "call",
        }
    }
}

/// A currency a price is given in: the vendor's own, shown as such and never converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Currency {
    USD,
    CNY,
}

impl Currency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::USD => "USD",
            Self::CNY => "CNY",
        }
    }
}

/// One entry of the table, as written in the files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub provider: String,
    /// A model id, or `*` for every model of the provider without an entry of its own.
    pub model: String,
    pub unit: Unit,
    /// A decimal amount per unit, as a string so it is read exactly (`"0.042"`).
    pub amount: String,
    pub currency: Currency,
    /// Where the figure comes from, and as of when (for the operator; not used in sums).
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub as_of: Option<String>,
    /// The resolution tier the price is for, where the vendor prices tiers apart (MiniMax's
    /// `768P`): a clip made at another tier is not priced by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(skip)]
    micros: i64,
}

impl Price {
    /// Millionths of the currency per unit.
    pub fn micros(&self) -> i64 {
        self.micros
    }

    /// What `quantity` units cost (tokens for a per-1k-tokens price), rounded up to a millionth.
    pub fn cost_of(&self, quantity: i64) -> Money {
        let micros = match self.unit {
            Unit::KiloTokens | Unit::KiloChars => {
                let product = i128::from(quantity.max(0)) * i128::from(self.micros);
                ((product + 999) / 1000) as i64
            }
            _ => quantity.saturating_mul(self.micros),
        };
        Money { micros, currency: self.currency.as_str().to_owned() }
    }
}

/// Reads `"0.042"` as 42,000 millionths; at most six decimals, never negative.
pub fn parse_amount(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 6 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<6}").parse().ok()?;
    whole.checked_mul(1_000_000)?.checked_add(fraction)
}

/// Writes millionths as a decimal amount with six places (`42000` → `"0.042000"`).
pub fn format_amount(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    format!("{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// One of a user's own prices, for calls with their own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPrice {
    /// A model id, or `*` for every model of the provider.
    pub model: String,
    pub unit: Unit,
    /// A decimal amount per unit (`"0.04"`), at most six places.
    pub amount: String,
    pub currency: Currency,
}

/// At most this many own prices per provider.
pub const MAX_USER_PRICES: usize = 50;

/// Checks a user's prices: a model name, a decimal amount, at most [`MAX_USER_PRICES`]; answers the
/// index and reason of the first refused.
pub fn check_user_prices(prices: &[UserPrice]) -> Result<(), (usize, String)> {
    if prices.len() > MAX_USER_PRICES {
        return Err((MAX_USER_PRICES, format!("at most {MAX_USER_PRICES} prices per provider")));
    }
    for (n, price) in prices.iter().enumerate() {
        let model = price.model.trim();
        if model.is_empty() || model.len() > 200 || model.chars().any(char::is_control) {
            return Err((n, "model must be a model name (or *), at most 200 characters".into()));
        }
        if parse_amount(&price.amount).is_none() {
            return Err((n, format!("amount '{}' must be a decimal of at most six places", price.amount)));
        }
    }
    Ok(())
}

/// The prices a settings row keeps (entries that no longer read are skipped).
pub fn user_prices(stored: &serde_json::Value) -> Vec<UserPrice> {
    serde_json::from_value::<Vec<UserPrice>>(stored.clone()).unwrap_or_default()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    #[serde(default)]
    price: Vec<Price>,
}

const DEFAULTS: &str = include_str!("../../assets/prices.toml");

#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    entries: Vec<Price>,
}

impl PriceTable {
    fn parse(text: &str, origin: &str) -> Result<Vec<Price>, String> {
        let file: PriceFile = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        let mut entries = file.price;
        for (n, entry) in entries.iter_mut().enumerate() {
            entry.micros = parse_amount(&entry.amount).ok_or_else(|| {
                format!(
                    "{origin}: price {} ({}/{}): amount '{}' is not a decimal of at most six places",
                    n + 1,
                    entry.provider,
                    entry.model,
                    entry.amount
                )
            })?;
        }
        Ok(entries)
    }

    /// The vendors' published prices this server ships with.
    pub fn defaults() -> Self {
        Self { entries: Self::parse(DEFAULTS, "prices.toml").expect("the shipped price table reads") }
    }

    /// The defaults with the operator's file over them: an entry of the file replaces the
    /// default of the same provider, model and unit (of the same resolution, where it names one;
    /// every resolution's, where it does not).
    pub fn with_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut table = Self::defaults();
        for entry in Self::parse(&text, &path.display().to_string())? {
            let tier = |e: &Price| entry.resolution.is_none() || e.resolution == entry.resolution;
            table.entries.retain(|e| {
                !(e.provider == entry.provider && e.model == entry.model && e.unit == entry.unit && tier(e))
            });
            table.entries.push(entry);
        }
        Ok(table)
    }

    /// The price of one unit of `provider`'s `model`: its own entry, else the provider's `*`.
    pub fn price(&self, provider: &str, model: Option<&str>, unit: Unit) -> Option<&Price> {
        self.price_at(provider, model, unit, None)
    }

    /// [`Self::price`] for a call made at resolution `tier`, where the vendor says one: an entry
    /// for another tier does not apply.
    fn price_at(&self, provider: &str, model: Option<&str>, unit: Unit, tier: Option<&str>) -> Option<&Price> {
        let applies = |e: &&Price| tier.is_none() || e.resolution.is_none() || e.resolution.as_deref() == tier;
        let of = |wanted: &str| {
            self.entries.iter().filter(applies).find(|e| e.provider == provider && e.unit == unit && e.model == wanted)
        };
        model.and_then(of).or_else(|| of("*"))
    }

    /// What `quantity` units cost, when the table knows the price.
    pub fn cost(&self, provider: &str, model: Option<&str>, unit: Unit, quantity: i64) -> Option<Money> {
        self.price(provider, model, unit).map(|p| p.cost_of(quantity))
    }

    /// The same, with a user's own prices first (for calls made with their own key).
    pub fn cost_with(
        &self,
        own: &[UserPrice],
        provider: &str,
        model: Option<&str>,
        unit: Unit,
        quantity: i64,
        tier: Option<&str>,
    ) -> Option<Money> {
        let of = |wanted: &str| own.iter().find(|p| p.unit == unit && p.model == wanted);
        let mine = model.and_then(of).or_else(|| of("*"));
        match mine.and_then(|p| Some((p, parse_amount(&p.amount)?))) {
            Some((price, micros)) => {
                let entry = Price {
                    provider: provider.to_owned(),
                    model: price.model.clone(),
                    unit,
                    amount: price.amount.clone(),
                    currency: price.currency,
                    source: None,
                    as_of: None,
                    resolution: None,
                    micros,
                };
                Some(entry.cost_of(quantity))
            }
            None => self.price_at(provider, model, unit, tier).map(|p| p.cost_of(quantity)),
        }
    }

    /// What a call of `capability` cost, as the vendor bills it: an image or video model that
    /// has a `1k_tokens` price of its own (the user's or the table's) is settled by the tokens the
    /// vendor reported; images by the count the vendor reported, speech by the characters it
    /// reported; else by what we counted.
    pub fn settle(
        &self,
        own: &[UserPrice],
        provider: &str,
        model: Option<&str>,
        capability: Capability,
        counted: i64,
        reported: Usage,
    ) -> Option<Money> {
        if capability != Capability::Text
            && let (Some(tokens), Some(model)) = (reported.tokens, model)
            && self.prices_tokens_of(own, provider, model)
        {
            return self.cost_with(own, provider, Some(model), Unit::KiloTokens, tokens, None);
        }
        let quantity = match capability {
            Capability::Image => reported.images.unwrap_or(counted),
            Capability::Speech => reported.characters.unwrap_or(counted),
            _ => counted,
        };
        self.cost_with(own, provider, model, Unit::of(capability), quantity, reported.resolution)
    }

    /// Whether `model` itself (not the provider's `*`, which prices its text) has a price per
    /// thousand tokens.
    fn prices_tokens_of(&self, own: &[UserPrice], provider: &str, model: &str) -> bool {
        own.iter().any(|p| p.unit == Unit::KiloTokens && p.model == model)
            || self.entries.iter().any(|e| e.provider == provider && e.unit == Unit::KiloTokens && e.model == model)
    }

    pub fn entries(&self) -> &[Price] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_for_one_resolution_does_not_price_another() {
        let table = PriceTable::defaults();
        let hailuo = Some("MiniMax-Hailuo-02");
        let at = |tier| Usage { resolution: Some(tier), ..Usage::default() };
        let standard = table.settle(&[], "minimax", hailuo, Capability::Video, 6, at("768P")).unwrap();
        assert_eq!(standard.micros, 6 * 41_667);
        assert!(
            table.settle(&[], "minimax", hailuo, Capability::Video, 6, at("1080P")).is_none(),
            "unpriced, not mispriced"
        );
        let mine = UserPrice {
            model: "MiniMax-Hailuo-02".into(),
            unit: Unit::Second,
            amount: "0.08".into(),
            currency: Currency::USD,
        };
        let own = table.settle(&[mine], "minimax", hailuo, Capability::Video, 6, at("1080P")).unwrap();
        assert_eq!(own.micros, 480_000, "a user's own price is theirs to set per model");
    }

    #[test]
    fn calls_are_settled_by_what_the_vendor_reports_where_the_price_is_per_that() {
        let table = PriceTable::defaults();
        let seedance = Some("doubao-seedance-1-5-pro-251215");
        let tokens = Usage { tokens: Some(246_840), ..Usage::default() };
        let by_tokens = table.settle(&[], "doubao", seedance, Capability::Video, 5, tokens).unwrap();
        assert_eq!((by_tokens.micros, by_tokens.currency.as_str()), (296_208, "USD"));
        let by_seconds = table.settle(&[], "doubao", seedance, Capability::Video, 5, Usage::default()).unwrap();
        assert_eq!(by_seconds.micros, 5 * 58_320);
        // A provider's `*` token price is its text's, never a picture's.
        let image = table.settle(&[], "local", Some("painter"), Capability::Image, 1, tokens).unwrap();
        assert_eq!(image.micros, 0);
        let seedream = Some("doubao-seedream-4-5-251128");
        let reported = Usage { images: Some(3), tokens: Some(43_200), ..Usage::default() };
        let images = table.settle(&[], "doubao", seedream, Capability::Image, 1, reported).unwrap();
        assert_eq!((images.micros, images.currency.as_str()), (3 * 245_000, "CNY"));
    }

    #[test]
    fn amounts_are_read_exactly() {
        assert_eq!(parse_amount("0.042"), Some(42_000));
        assert_eq!(parse_amount("12"), Some(12_000_000));
        assert_eq!(parse_amount("0.000001"), Some(1));
        for bad in ["", "-1", "0.0000001", "1e3", "abc", ".5", "1.2.3"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(format_amount(42_000), "0.042000");
        assert_eq!(format_amount(-1), "-0.000001");
    }

    #[test]
    fn the_shipped_table_prices_every_default_model_and_the_offline_provider_is_free() {
        let table = PriceTable::defaults();
        assert_eq!(table.cost("local", Some("anything"), Unit::Image, 3).unwrap().micros, 0);
        for entry in table.entries() {
            assert!(entry.source.is_some() && entry.as_of.is_some(), "{entry:?} names its source and date");
        }
    }

    #[test]
    fn tokens_are_priced_per_thousand_rounded_up_and_an_operator_file_replaces_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.toml");
        std::fs::write(
            &path,
            r#"
            [[price]]
            provider = "local"
            model = "*"
            unit = "image"
            amount = "0.5"
            currency = "CNY"
            [[price]]
            provider = "acme"
            model = "words-1"
            unit = "1k_tokens"
            amount = "0.002"
            currency = "USD"
            "#,
        )
        .unwrap();
        let table = PriceTable::with_file(&path).unwrap();
        let image = table.cost("local", Some("local-image"), Unit::Image, 2).unwrap();
        assert_eq!((image.micros, image.currency.as_str()), (1_000_000, "CNY"));
        assert_eq!(table.cost("acme", Some("words-1"), Unit::KiloTokens, 1500).unwrap().micros, 3_000);
        assert_eq!(table.cost("acme", Some("words-1"), Unit::KiloTokens, 1).unwrap().micros, 2, "rounded up");
        assert!(table.cost("acme", Some("other"), Unit::KiloTokens, 1).is_none());
        std::fs::write(
            &path,
            "[[price]]\nprovider = \"x\"\nmodel = \"*\"\nunit = \"image\"\namount = \"-1\"\ncurrency = \"USD\"\n",
        )
        .unwrap();
        assert!(PriceTable::with_file(&path).unwrap_err().contains("amount '-1'"));
        std::fs::write(
            &path,
            "[[price]]\nprovider = \"x\"\nmodel = \"*\"\nunit = \"image\"\namount = \"1\"\ncurrency = \"EUR\"\n",
        )
        .unwrap();
        assert!(PriceTable::with_file(&path).is_err());
    }
}
