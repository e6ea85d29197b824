//! The vendors' own lists of the models a key can use. Where a vendor lists them, no model id
//! needs to be hard-coded: the key check asks, the settings page offers what came back, and a
//! capability whose built-in default is not on the list takes the first that is.

use crate::capability::{Credentials, ProviderError};
use crate::registry::Capability;
use serde::{Deserialize, Serialize};

/// A model the vendor lists for a key, with the capability it serves here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedModel {
    pub id: String,
    pub capability: Capability,
}

/// A vendor's model list: a free call, so it doubles as the check of a key.
#[async_trait::async_trait]
pub trait ModelCatalog: Send + Sync {
    async fn list_models(&self, credentials: &Credentials) -> Result<Vec<ListedModel>, ProviderError>;
}

/// The model a capability uses when nothing names one: the built-in default where the key's list
/// holds it (or there is no list), else the first listed model of the capability.
pub fn default_from(listed: &[ListedModel], capability: Capability, built_in: Option<&str>) -> Option<String> {
    let of_capability: Vec<&ListedModel> = listed.iter().filter(|m| m.capability == capability).collect();
    match built_in {
        Some(built_in) if of_capability.is_empty() || of_capability.iter().any(|m| m.id == built_in) => {
            Some(built_in.to_owned())
        }
        _ => of_capability.first().map(|m| m.id.clone()).or_else(|| built_in.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_default_stays_and_an_unlisted_one_gives_way() {
        let listed = vec![
            ListedModel { id: "veo-4.0-generate".into(), capability: Capability::Video },
            ListedModel { id: "gemini-3.5-flash".into(), capability: Capability::Text },
        ];
        assert_eq!(
            default_from(&listed, Capability::Text, Some("gemini-3.5-flash")).as_deref(),
            Some("gemini-3.5-flash")
        );
        assert_eq!(
            default_from(&listed, Capability::Video, Some("veo-3.1-generate-preview")).as_deref(),
            Some("veo-4.0-generate")
        );
        // Nothing listed for images: the built-in default stands.
        assert_eq!(default_from(&listed, Capability::Image, Some("img-1")).as_deref(), Some("img-1"));
        assert_eq!(default_from(&[], Capability::Video, None), None);
    }
}
