//! Open connections that live on a session — the live task feed's sockets — and the sweep that
//! ends them once their session is over. Logout, a replayed refresh token, and a password reset
//! all end a session in the database, so one query every couple of seconds for all the sockets
//! of this process notices each of them, whichever instance the session ended on.

use cinegen_domain::SessionId;
use cinegen_store::Store;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often open connections are checked against their sessions.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Sessions are checked in chunks of this many ids per query.
const CHUNK: usize = 500;

#[derive(Clone, Default)]
pub struct LiveSessions {
    open: Arc<Mutex<HashMap<u64, (SessionId, CancellationToken)>>>,
    next: Arc<AtomicU64>,
}

/// One watched connection: `ended()` resolves once its session is over. Dropping it stops the
/// watch.
pub struct Watch {
    id: u64,
    token: CancellationToken,
    sessions: LiveSessions,
}

impl Watch {
    pub async fn ended(&self) {
        self.token.cancelled().await;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.sessions.open.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

impl LiveSessions {
    pub fn watch(&self, family: SessionId) -> Watch {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        self.open.lock().unwrap_or_else(|e| e.into_inner()).insert(id, (family, token.clone()));
        Watch { id, token, sessions: self.clone() }
    }

    /// Ends every watched connection whose session is no longer live; answers how many.
    pub async fn sweep(&self, store: &dyn Store) -> cinegen_store::StoreResult<usize> {
        let families: Vec<SessionId> = {
            let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            open.values().map(|(family, _)| *family).collect::<HashSet<_>>().into_iter().collect()
        };
        let mut live = HashSet::with_capacity(families.len());
        for chunk in families.chunks(CHUNK) {
            live.extend(store.live_families(chunk, chrono::Utc::now()).await?);
        }
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mut ended = 0;
        for (family, token) in open.values() {
            if !live.contains(family) && !token.is_cancelled() {
                token.cancel();
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Sweeps every [`SWEEP_EVERY`] until the process ends.
    pub async fn run(self, store: Arc<dyn Store>) {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if self.open.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
                continue;
            }
            if let Err(error) = self.sweep(store.as_ref()).await {
                tracing::warn!(error = %error, "could not check the sessions of open connections");
            }
        }
    }
}
