//! Providers by name, each with the capabilities it offers and its default models.

use crate::capability::{ImageModel, ProviderError, SpeechModel, TextModel, VideoModel};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Text,
    Image,
    Video,
    Speech,
}

impl Capability {
    pub const ALL: [Capability; 4] = [Self::Text, Self::Image, Self::Video, Self::Speech];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Video => "video",
            Self::Speech => "speech",
        }
    }
}

#[derive(Clone)]
pub struct Provider {
    pub name: &'static str,
    /// Whether calls need a key (the offline provider needs none).
    pub needs_key: bool,
    /// Whether the provider signs with a second, secret key (Kling).
    pub has_secret_key: bool,
    pub text: Option<Arc<dyn TextModel>>,
    pub image: Option<Arc<dyn ImageModel>>,
    pub video: Option<Arc<dyn VideoModel>>,
    pub speech: Option<Arc<dyn SpeechModel>>,
    /// The model used per capability when neither the request nor the user names one.
    pub default_models: BTreeMap<Capability, String>,
    /// Where a vendor takes only a fixed set of model names, that set per capability: a request
    /// naming another is refused before anything is queued. Absent: the vendor's catalogue is
    /// open (and grows without us), so the vendor judges the name.
    pub known_models: BTreeMap<Capability, &'static [&'static str]>,
    /// The vendor's list of the models a key can use, where it has one.
    pub catalog: Option<Arc<dyn crate::catalog::ModelCatalog>>,
}

impl Provider {
    pub fn capabilities(&self) -> Vec<Capability> {
        Capability::ALL.into_iter().filter(|c| self.offers(*c)).collect()
    }

    /// Whether `model` is a name this provider takes for `capability` (any, where its catalogue
    /// is open).
    pub fn takes_model(&self, capability: Capability, model: &str) -> bool {
        self.known_models.get(&capability).is_none_or(|known| known.contains(&model))
    }

    pub fn offers(&self, capability: Capability) -> bool {
        match capability {
            Capability::Text => self.text.is_some(),
            Capability::Image => self.image.is_some(),
            Capability::Video => self.video.is_some(),
            Capability::Speech => self.speech.is_some(),
        }
    }

    fn unsupported(&self, capability: &'static str) -> ProviderError {
        ProviderError::Unsupported { provider: self.name.into(), capability }
    }

    pub fn text(&self) -> Result<Arc<dyn TextModel>, ProviderError> {
        self.text.clone().ok_or_else(|| self.unsupported("text"))
    }

    pub fn image(&self) -> Result<Arc<dyn ImageModel>, ProviderError> {
        self.image.clone().ok_or_else(|| self.unsupported("image"))
    }

    pub fn video(&self) -> Result<Arc<dyn VideoModel>, ProviderError> {
        self.video.clone().ok_or_else(|| self.unsupported("video"))
    }

    pub fn speech(&self) -> Result<Arc<dyn SpeechModel>, ProviderError> {
        self.speech.clone().ok_or_else(|| self.unsupported("speech"))
    }
}

#[derive(Clone, Default)]
pub struct Registry {
    providers: BTreeMap<&'static str, Provider>,
}

impl Registry {
    pub fn register(&mut self, provider: Provider) {
        self.providers.insert(provider.name, provider);
    }

    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.providers.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.providers.keys().copied()
    }

    pub fn providers(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values()
    }
}
