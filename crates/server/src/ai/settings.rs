//! Each user's provider settings: keys (encrypted, shown only as hints), base URLs, default
//! models per capability, and which provider each capability uses by default.

use super::AiService;
use super::keys::hint;
use crate::error::{AppError, AppResult};
use chrono::Utc;
use cinegen_domain::{FieldError, UserId, ValidationErrors};
use cinegen_providers::{Capability, Credentials, Provider};
use cinegen_store::ProviderSettingRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The settings row that holds the user's default provider per capability.
pub const DEFAULTS_ROW: &str = "@defaults";

/// One provider as the settings page shows it; keys only as hints.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    pub name: String,
    /// text, image, video: what the provider can do.
    pub capabilities: Vec<String>,
    pub needs_key: bool,
    pub has_secret_key: bool,
    /// The user's key, as a hint (`sk-…3f9a`), if one is saved.
    pub api_key: Option<String>,
    pub secret_key: Option<String>,
    pub base_url: Option<String>,
    /// The user's model per capability.
    #[schema(value_type = Object)]
    pub models: Value,
    #[schema(value_type = Object)]
    pub default_models: BTreeMap<String, String>,
    /// Your own prices for calls with your own key.
    pub prices: Vec<crate::cost::prices::UserPrice>,
    /// Whether the server has a key of its own for this provider (used when the user has none).
    pub server_key: bool,
    /// `no_key_needed`, `server_key` (the operator's key is used), `no_key`, `unchecked` (the
    /// user's key is saved but no check has passed: test it), `working` (a check passed) or
    /// `failing` (the last check failed; `check` says why).
    pub status: String,
    /// Available to generate with: no key needed, the server's key, or the user's key after a
    /// check passed.
    pub ready: bool,
    /// How the last check of the user's saved key went, until the key changes.
    pub check: Option<KeyCheckView>,
    /// Every key of the user's for this provider, the first one first, as hints; calls spread
    /// over those not parked.
    pub keys: Vec<KeyView>,
}

/// One of the user's keys for a provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// The key as a hint (`sk-…3f9a`).
    pub hint: String,
    /// Why the key is set aside, if its vendor refused it: it is used again once saved again.
    pub parked: Option<ParkedView>,
}

/// A key set aside after its vendor refused it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParkedView {
    /// `key_refused` (the vendor does not take the key) or `out_of_credit` (the account behind
    /// it has no balance or quota left).
    pub reason: String,
    /// The vendor's words.
    pub message: Option<String>,
    pub at: chrono::DateTime<Utc>,
}

/// A further key for a provider, beside the first (`api_key`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraKey {
    pub api_key: String,
    /// Where the provider takes a secret key beside the access key (Kling).
    #[serde(default)]
    pub secret_key: Option<String>,
}

/// The last check of a saved key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCheckView {
    pub at: chrono::DateTime<Utc>,
    /// `working`, `unverified` (no free call to check with: checked on first use), or why not:
    /// `key_refused`, `out_of_credit`, `rate_limited`, `unreachable`, `refused`, `unreadable`.
    pub outcome: String,
    /// The vendor's words, where it said something.
    pub message: Option<String>,
    /// The models the vendor listed for the key at that check, where it lists them.
    pub models: Vec<crate::ai::key_check::ListedModelView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderSettings {
    pub providers: Vec<ProviderView>,
    /// The provider each capability uses when a request names none.
    #[schema(value_type = Object)]
    pub defaults: BTreeMap<String, String>,
    /// The provider that stands in for a capability's when that one is down (text, image and
    /// video; only those you chose).
    #[schema(value_type = Object)]
    pub fallbacks: BTreeMap<String, String>,
}

/// A field that is present (even as `null`) is `Some`; an absent one stays `None`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Changes to one provider: an absent field stays, `null` removes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderChange {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub api_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub secret_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub base_url: Option<Option<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub models: Option<Map<String, Value>>,
    /// Your own prices for calls with your own key (they replace the server's table for those
    /// calls); `[]` removes them. At most 50.
    #[serde(default)]
    pub prices: Option<Vec<crate::cost::prices::UserPrice>>,
    /// Further keys beside `api_key` (other accounts of the same vendor), replacing those saved;
    /// `[]` removes them. At most 9.
    #[serde(default)]
    pub extra_keys: Option<Vec<ExtraKey>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderChange>,
    /// Capability → provider name; `null` returns a capability to the server's default.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub defaults: Option<Map<String, Value>>,
    /// Capability (text, image or video) → the provider that stands in when the one a call is
    /// meant for is down; `null` removes it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub fallbacks: Option<Map<String, Value>>,
}

fn empty_row(user: UserId, provider: &str, now: chrono::DateTime<Utc>) -> ProviderSettingRecord {
    ProviderSettingRecord {
        user_id: user,
        provider: provider.into(),
        api_key: None,
        api_key_hint: None,
        secret_key: None,
        secret_hint: None,
        base_url: None,
        models: json!({}),
        updated_at: now,
        check: None,
        prices: json!([]),
        extra_keys: json!([]),
    }
}

impl AiService {
    /// Every key for `provider` from one source, in order: the user's own keys (the first, then
    /// the extra ones) with the user's base URL (or the vendor's default), else the server's keys
    /// (`provider_keys`, several separated by `|`) with the server's base URL (or the vendor's
    /// default). A server key never travels to an address a user chose: a saved base URL without
    /// a key of the user's is refused, not filled in.
    pub(super) async fn key_ring(
        &self,
        provider: &Provider,
        mine: Option<&ProviderSettingRecord>,
    ) -> Result<super::key_ring::KeyRing, String> {
        use super::key_ring::{KeyRing, SERVER_OWNER};
        if let Some(saved) = mine.filter(|m| m.api_key.is_some()) {
            let first = self.own_credentials(provider, saved).await?;
            let mut keys = vec![first.clone()];
            let mut stale = false;
            for (index, extra) in saved.extra_keys.as_array().into_iter().flatten().enumerate() {
                let field = |name: &str| format!("extra_keys/{index}/{name}");
                let sealed = |name: &str| extra.get(name).and_then(Value::as_str);
                let (api_key, secret_key) = (
                    self.open(saved, &field("api_key"), sealed("api_key"))?,
                    self.open(saved, &field("secret_key"), sealed("secret_key"))?,
                );
                stale |= [&api_key, &secret_key].into_iter().flatten().any(|(_, old)| *old);
                if let Some((api_key, _)) = api_key {
                    keys.push(Credentials {
                        api_key: Some(api_key),
                        secret_key: secret_key.map(|(k, _)| k),
                        base_url: first.base_url.clone(),
                    });
                }
            }
            if stale {
                self.reseal_extra_keys(saved, &keys).await;
            }
            return Ok(KeyRing { owner: saved.user_id.to_string(), keys });
        }
        let server = self.server_credentials(provider, mine)?;
        Ok(KeyRing { owner: SERVER_OWNER.into(), keys: server })
    }

    async fn own_credentials(&self, provider: &Provider, saved: &ProviderSettingRecord) -> Result<Credentials, String> {
        let api_key = self.open(saved, "api_key", saved.api_key.as_deref())?;
        let secret_key = self.open(saved, "secret_key", saved.secret_key.as_deref())?;
        if [&api_key, &secret_key].into_iter().flatten().any(|(_, stale)| *stale) {
            let plain = |v: &Option<(String, bool)>| v.as_ref().map(|(k, _)| k.clone());
            self.reseal(saved, plain(&api_key).as_deref(), plain(&secret_key).as_deref()).await;
        }
        if let Some(url) = &saved.base_url {
            // The operator's policy may have tightened since the URL was saved.
            self.check_base_url(url).map_err(|reason| {
                format!("your base URL for provider '{}' is no longer accepted: it {reason}", provider.name)
            })?;
        }
        Ok(Credentials {
            api_key: api_key.map(|(k, _)| k),
            secret_key: secret_key.map(|(k, _)| k),
            base_url: saved.base_url.clone(),
        })
    }

    /// The operator's keys for `provider` (several separated by `|`), with the server's base URL.
    fn server_credentials(
        &self,
        provider: &Provider,
        mine: Option<&ProviderSettingRecord>,
    ) -> Result<Vec<Credentials>, String> {
        if mine.is_some_and(|m| m.base_url.is_some()) {
            return Err(format!(
                "your base URL for provider '{}' has no API key of yours beside it; add your key, or remove the base URL to use the server's",
                provider.name
            ));
        }
        let base = Credentials {
            base_url: self.settings.provider_base_urls.get(provider.name).cloned(),
            ..Credentials::default()
        };
        let Some(server) = self.settings.provider_keys.get(provider.name) else { return Ok(vec![base]) };
        let keys = server.expose().split('|').map(str::trim).filter(|raw| !raw.is_empty()).map(|raw| {
            match raw.split_once(':').filter(|_| provider.has_secret_key) {
                Some((access, secret)) => Credentials {
                    api_key: Some(access.to_owned()),
                    secret_key: Some(secret.to_owned()),
                    ..base.clone()
                },
                None => Credentials { api_key: Some(raw.to_owned()), ..base.clone() },
            }
        });
        let keys: Vec<Credentials> = keys.collect();
        Ok(if keys.is_empty() { vec![base] } else { keys })
    }

    /// Decrypts a saved value; `true` beside it when it was sealed under an earlier key.
    fn open(
        &self,
        saved: &ProviderSettingRecord,
        field: &str,
        value: Option<&str>,
    ) -> Result<Option<(String, bool)>, String> {
        let context = seal_context(saved.user_id, &saved.provider, field);
        value
            .map(|sealed| {
                self.cipher.decrypt(sealed, &context).map_err(|e| {
                    format!("the saved key of provider '{}' cannot be read ({e}); enter it again", saved.provider)
                })
            })
            .transpose()
    }

    /// Seals a row's keys again under the current key, after a rotation.
    async fn reseal(&self, saved: &ProviderSettingRecord, api_key: Option<&str>, secret_key: Option<&str>) {
        let mut fresh = saved.clone();
        fresh.api_key =
            api_key.map(|k| self.cipher.encrypt(k, &seal_context(saved.user_id, &saved.provider, "api_key")));
        fresh.secret_key =
            secret_key.map(|k| self.cipher.encrypt(k, &seal_context(saved.user_id, &saved.provider, "secret_key")));
        if let Err(error) = self.store.put_provider_setting(&fresh).await {
            tracing::warn!(provider = %saved.provider, error = %error, "could not re-encrypt a provider key");
        }
    }

    /// Seals a row's further keys (and its first) again under the current key, after a rotation:
    /// `keys` are the row's keys in the clear, the first first.
    async fn reseal_extra_keys(&self, saved: &ProviderSettingRecord, keys: &[Credentials]) {
        let (user, name) = (saved.user_id, saved.provider.as_str());
        let mut fresh = saved.clone();
        let seal =
            |value: Option<&str>, field: &str| value.map(|v| self.cipher.encrypt(v, &seal_context(user, name, field)));
        if let Some(first) = keys.first() {
            fresh.api_key = seal(first.api_key.as_deref(), "api_key");
            fresh.secret_key = seal(first.secret_key.as_deref(), "secret_key");
        }
        let extras = saved.extra_keys.as_array().cloned().unwrap_or_default();
        let resealed: Vec<Value> = extras
            .iter()
            .zip(keys.iter().skip(1))
            .enumerate()
            .map(|(index, (old, key))| {
                let mut entry = old.clone();
                entry["api_key"] = json!(seal(key.api_key.as_deref(), &format!("extra_keys/{index}/api_key")));
                entry["secret_key"] = json!(seal(key.secret_key.as_deref(), &format!("extra_keys/{index}/secret_key")));
                entry
            })
            .collect();
        fresh.extra_keys = Value::Array(resealed);
        if let Err(error) = self.store.put_provider_setting(&fresh).await {
            tracing::warn!(provider = %saved.provider, error = %error, "could not re-encrypt a provider's further keys");
        }
    }

    pub async fn provider_settings(&self, user: UserId) -> AppResult<ProviderSettings> {
        let saved = self.store.provider_settings(user).await?;
        let parked = self.store.parked_keys(&user.to_string()).await?;
        let mut providers = Vec::new();
        for provider in self.registry.providers() {
            let mine = saved.iter().find(|s| s.provider == provider.name);
            let keys = self.key_views(provider, mine, &parked).await;
            let server_key = self.settings.provider_keys.contains_key(provider.name);
            // The server's key is used only where the user has neither a key nor a base URL.
            let own_key = mine.is_some_and(|m| m.api_key.is_some());
            let check = mine.filter(|_| own_key).and_then(|m| m.check.as_ref());
            let status = match () {
                _ if !provider.needs_key => "no_key_needed",
                _ if own_key => match check.map(|c| c.outcome.as_str()) {
                    Some("working") => "working",
                    None | Some("unverified") => "unchecked",
                    Some(_) => "failing",
                },
                _ if server_key && !mine.is_some_and(|m| m.base_url.is_some()) => "server_key",
                _ => "no_key",
            };
            providers.push(ProviderView {
                name: provider.name.into(),
                capabilities: provider.capabilities().iter().map(|c| c.as_str().to_owned()).collect(),
                needs_key: provider.needs_key,
                has_secret_key: provider.has_secret_key,
                api_key: mine.and_then(|m| m.api_key_hint.clone()),
                secret_key: mine.and_then(|m| m.secret_hint.clone()),
                base_url: mine.and_then(|m| m.base_url.clone()),
                models: mine.map(|m| m.models.clone()).unwrap_or_else(|| json!({})),
                // Where the key's list lacks a built-in default, the first listed model stands in.
                default_models: provider
                    .capabilities()
                    .into_iter()
                    .filter_map(|c| {
                        let listed = crate::ai::key_check::listed(check.and_then(|k| k.models.as_ref()));
                        let built_in = provider.default_models.get(&c).map(String::as_str);
                        cinegen_providers::catalog::default_from(&listed, c, built_in)
                            .map(|m| (c.as_str().to_owned(), m))
                    })
                    .collect(),
                server_key,
                prices: mine.map(|m| crate::cost::prices::user_prices(&m.prices)).unwrap_or_default(),
                status: status.into(),
                ready: matches!(status, "no_key_needed" | "server_key" | "working"),
                check: check.map(|c| KeyCheckView {
                    at: c.at,
                    outcome: c.outcome.clone(),
                    message: c.message.clone(),
                    models: crate::ai::key_check::listed_views(c.models.as_ref()),
                }),
                keys,
            });
        }
        let mut defaults: BTreeMap<String, String> = BTreeMap::from([
            ("text".into(), self.settings.text_provider.clone()),
            ("image".into(), self.settings.image_provider.clone()),
            ("video".into(), self.settings.video_provider.clone()),
        ]);
        if let Some(row) = saved.iter().find(|s| s.provider == DEFAULTS_ROW)
            && let Some(chosen) = row.models.as_object()
        {
            for (capability, provider) in chosen {
                if let Some(name) = provider.as_str() {
                    defaults.insert(capability.clone(), name.to_owned());
                }
            }
        }
        let fallbacks = saved
            .iter()
            .find(|s| s.provider == super::fallback::FALLBACKS_ROW)
            .and_then(|row| row.models.as_object())
            .map(|chosen| {
                chosen
                    .iter()
                    .filter_map(|(capability, name)| Some((capability.clone(), name.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(ProviderSettings { providers, defaults, fallbacks })
    }

    /// The user's keys for `provider` as hints, each with its parking if its vendor refused it.
    async fn key_views(
        &self,
        provider: &Provider,
        mine: Option<&ProviderSettingRecord>,
        parked: &[cinegen_store::ParkedKey],
    ) -> Vec<KeyView> {
        let Some(saved) = mine.filter(|m| m.api_key.is_some()) else { return Vec::new() };
        let hints = std::iter::once(saved.api_key_hint.clone()).chain(
            saved.extra_keys.as_array().into_iter().flatten().map(|k| k["api_key_hint"].as_str().map(str::to_owned)),
        );
        let keys = self.key_ring(provider, mine).await.map(|ring| ring.keys).unwrap_or_default();
        hints
            .zip(keys)
            .map(|(shown, key)| {
                let fingerprint = key.api_key.as_deref().map(|k| super::key_ring::fingerprint(provider.name, k));
                let parking =
                    parked.iter().find(|p| p.provider == provider.name && Some(&p.fingerprint) == fingerprint.as_ref());
                KeyView {
                    hint: shown.unwrap_or_default(),
                    parked: parking.map(|p| ParkedView {
                        reason: p.reason.clone(),
                        message: p.message.clone(),
                        at: p.parked_at,
                    }),
                }
            })
            .collect()
    }

    /// Applies `change` after checking all of it; nothing is saved when any part is refused.
    pub async fn change_provider_settings(&self, user: UserId, change: SettingsChange) -> AppResult<ProviderSettings> {
        let saved = self.store.provider_settings(user).await?;
        let mut errors = ValidationErrors::default();
        let mut rows = Vec::new();
        for (name, edit) in change.providers {
            let field = |f: &str| format!("providers.{name}.{f}");
            let Some(provider) = self.registry.get(&name) else {
                errors.push(FieldError::new(format!("providers.{name}"), "is not a provider this server knows"));
                continue;
            };
            let now = Utc::now();
            let mut row =
                saved.iter().find(|s| s.provider == name).cloned().unwrap_or_else(|| empty_row(user, &name, now));
            row.updated_at = now;
            // A check vouches for the key and address it tried, no other.
            if edit.api_key.is_some() || edit.secret_key.is_some() || edit.base_url.is_some() {
                row.check = None;
            }
            if let Some(extra) = &edit.extra_keys {
                match self.seal_extra_keys(user, &name, provider, extra) {
                    Ok(sealed) => row.extra_keys = sealed,
                    Err((at, reason)) => errors.push(FieldError::new(field(&format!("extra_keys[{at}]")), reason)),
                }
            }
            for (label, value, sealed, shown) in [
                ("api_key", edit.api_key, &mut row.api_key, &mut row.api_key_hint),
                ("secret_key", edit.secret_key, &mut row.secret_key, &mut row.secret_hint),
            ] {
                match value {
                    None => {}
                    Some(None) => {
                        *sealed = None;
                        *shown = None;
                    }
                    Some(Some(key)) => {
                        let key = key.trim();
                        if key.is_empty()
                            || key.len() > 1000
                            || key.chars().any(|c| c.is_control() || c.is_whitespace())
                        {
                            errors.push(FieldError::new(field(label), "must be 1–1000 characters without spaces"));
                        } else {
                            *sealed = Some(self.cipher.encrypt(key, &seal_context(user, &name, label)));
                            *shown = Some(hint(key));
                        }
                    }
                }
            }
            if row.api_key.is_none() && row.extra_keys.as_array().is_some_and(|k| !k.is_empty()) {
                errors.push(FieldError::new(field("extra_keys"), "needs a first key (api_key) beside it"));
            }
            if row.secret_key.is_some() && !provider.has_secret_key {
                errors.push(FieldError::new(field("secret_key"), format!("provider '{name}' takes no secret key")));
            }
            match edit.base_url {
                None => {}
                Some(None) => row.base_url = None,
                Some(Some(url)) => match self.check_base_url(&url) {
                    Ok(url) => row.base_url = Some(url),
                    Err(reason) => errors.push(FieldError::new(field("base_url"), reason)),
                },
            }
            if row.base_url.is_some() && row.api_key.is_none() && provider.needs_key {
                errors.push(FieldError::new(
                    field("base_url"),
                    "needs your own API key beside it: the server's key is only ever sent to the server's own address",
                ));
            }
            if let Some(models) = edit.models {
                let mut kept = row.models.as_object().cloned().unwrap_or_default();
                for (capability, model) in models {
                    let offered = Capability::ALL.iter().any(|c| c.as_str() == capability && provider.offers(*c));
                    match model {
                        _ if !offered => errors.push(FieldError::new(
                            field(&format!("models.{capability}")),
                            format!("provider '{name}' offers no {capability} capability"),
                        )),
                        Value::Null => {
                            kept.remove(&capability);
                        }
                        Value::String(m) if !m.trim().is_empty() && m.len() <= 200 => {
                            kept.insert(capability, Value::String(m.trim().to_owned()));
                        }
                        _ => errors.push(FieldError::new(
                            field(&format!("models.{capability}")),
                            "must be a model name or null",
                        )),
                    }
                }
                row.models = Value::Object(kept);
            }
            if let Some(prices) = edit.prices {
                match crate::cost::prices::check_user_prices(&prices) {
                    Ok(()) => row.prices = serde_json::to_value(&prices).unwrap_or_else(|_| json!([])),
                    Err((at, reason)) => errors.push(FieldError::new(field(&format!("prices[{at}]")), reason)),
                }
            }
            rows.push(row);
        }
        let choices = [
            ("defaults", DEFAULTS_ROW, change.defaults, &Capability::ALL[..]),
            ("fallbacks", super::fallback::FALLBACKS_ROW, change.fallbacks, &super::fallback::CAPABILITIES[..]),
        ];
        for (field, row_name, chosen, capabilities) in choices {
            let Some(chosen) = chosen else { continue };
            let row = saved.iter().find(|s| s.provider == row_name);
            rows.push(self.choose_providers(user, row, row_name, field, chosen, capabilities, &mut errors));
        }
        errors.into_result().map_err(AppError::validation)?;
        for row in &rows {
            self.store.put_provider_setting(row).await?;
            // Keys saved again are tried again.
            if !row.provider.starts_with('@') {
                self.store.unpark_keys(&user.to_string(), &row.provider).await?;
            }
        }
        tracing::info!(user.id = %user, providers = rows.len(), "provider settings changed");
        self.provider_settings(user).await
    }

    /// The row `row_name` (capability → provider) with `chosen` applied: a provider that offers
    /// the capability is set, `null` removes the capability; anything else is an error at `field`.
    #[allow(clippy::too_many_arguments)]
    fn choose_providers(
        &self,
        user: UserId,
        saved: Option<&ProviderSettingRecord>,
        row_name: &str,
        field: &str,
        chosen: Map<String, Value>,
        capabilities: &[Capability],
        errors: &mut ValidationErrors,
    ) -> ProviderSettingRecord {
        let now = Utc::now();
        let mut row = saved.cloned().unwrap_or_else(|| empty_row(user, row_name, now));
        let mut kept = row.models.as_object().cloned().unwrap_or_default();
        let names: Vec<&str> = capabilities.iter().map(|c| c.as_str()).collect();
        for (capability, provider) in chosen {
            let Some(cap) = capabilities.iter().find(|c| c.as_str() == capability) else {
                errors.push(FieldError::new(format!("{field}.{capability}"), format!("must be {}", names.join(", "))));
                continue;
            };
            match provider {
                Value::Null => {
                    kept.remove(&capability);
                }
                Value::String(name) if self.registry.get(&name).is_some_and(|p| p.offers(*cap)) => {
                    kept.insert(capability, Value::String(name));
                }
                _ => errors.push(FieldError::new(
                    format!("{field}.{capability}"),
                    format!("must name a provider that offers {capability}"),
                )),
            }
        }
        row.models = Value::Object(kept);
        row.updated_at = now;
        row
    }

    /// Seals further keys for `provider` in the order given: `[{api_key, api_key_hint, secret_key,
    /// secret_hint}]`, or the index and reason of the first refused.
    fn seal_extra_keys(
        &self,
        user: UserId,
        name: &str,
        provider: &Provider,
        extra: &[ExtraKey],
    ) -> Result<Value, (usize, String)> {
        const MOST: usize = 9;
        if extra.len() > MOST {
            return Err((MOST, format!("at most {MOST} further keys")));
        }
        let mut sealed = Vec::new();
        for (index, key) in extra.iter().enumerate() {
            let clean = |value: &str| {
                let value = value.trim().to_owned();
                let bad = value.is_empty()
                    || value.len() > 1000
                    || value.chars().any(|c| c.is_control() || c.is_whitespace());
                (!bad).then_some(value)
            };
            let api_key = clean(&key.api_key).ok_or((index, "must be 1–1000 characters without spaces".to_owned()))?;
            let secret_key = match &key.secret_key {
                None => None,
                Some(_) if !provider.has_secret_key => {
                    return Err((index, format!("provider '{name}' takes no secret key")));
                }
                Some(secret) => Some(
                    clean(secret).ok_or((index, "secret_key must be 1–1000 characters without spaces".to_owned()))?,
                ),
            };
            if provider.has_secret_key && secret_key.is_none() {
                return Err((index, format!("provider '{name}' needs a secret key beside each access key")));
            }
            let context = |field: &str| seal_context(user, name, &format!("extra_keys/{index}/{field}"));
            sealed.push(json!({
                "api_key": self.cipher.encrypt(&api_key, &context("api_key")),
                "api_key_hint": hint(&api_key),
                "secret_key": secret_key.as_deref().map(|s| self.cipher.encrypt(s, &context("secret_key"))),
                "secret_hint": secret_key.as_deref().map(hint),
            }));
        }
        Ok(Value::Array(sealed))
    }

    /// A base URL the server may call with a user's key: https (http only where loopback fetches
    /// are allowed, for local emulators), no credentials in it, allowed by the operator (user
    /// base URLs may be forbidden, or limited to listed hosts). Where it resolves to is checked
    /// again on each call by the guarded client.
    fn check_base_url(&self, raw: &str) -> Result<String, String> {
        if !self.settings.allow_user_base_urls {
            return Err("is not accepted: this server does not allow base URLs of your own".into());
        }
        let url = url::Url::parse(raw.trim()).map_err(|_| "must be a URL".to_owned())?;
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && self.settings.fetch_allow_loopback);
        if !scheme_ok {
            return Err("must be an https:// URL".into());
        }
        if !url.username().is_empty() || url.password().is_some() || url.host_str().is_none() {
            return Err("must have a host and no user name or password".into());
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if !host_allowed(&self.settings.user_base_url_hosts, &host) {
            return Err(format!("names host '{host}', which this server does not allow"));
        }
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }
}

/// What a sealed key is bound to: its user, provider and field.
fn seal_context(user: UserId, provider: &str, field: &str) -> String {
    format!("{user}:{provider}:{field}")
}

/// Whether `host` is on the operator's list (`api.example.com` exactly, `.example.com` for any
/// of its subdomains); an empty list allows every host.
fn host_allowed(allowed: &[String], host: &str) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|entry| match entry.strip_prefix('.') {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == entry,
        })
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn hosts_match_exactly_or_by_subdomain() {
        let list = vec!["api.openai.com".to_owned(), ".volces.com".to_owned()];
        assert!(host_allowed(&list, "api.openai.com"));
        assert!(host_allowed(&list, "ark.cn-beijing.volces.com"));
        assert!(!host_allowed(&list, "volces.com.evil.example"));
        assert!(!host_allowed(&list, "evilvolces.com"));
        assert!(!host_allowed(&list, "api.openai.com.evil.example"));
        assert!(host_allowed(&[], "anything.example"));
    }
}
