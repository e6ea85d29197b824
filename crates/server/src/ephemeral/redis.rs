//! Counters and denylist in Redis, shared by every instance. Keys are prefixed `cinegen:`.

use super::{Counters, Denylist, Window};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use std::time::Duration;

/// Opens a self-reconnecting connection.
pub async fn connect(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)?;
    Ok(ConnectionManager::new(client).await?)
}

#[derive(Clone)]
pub struct RedisCounters {
    conn: ConnectionManager,
    increment: redis::Script,
    release: redis::Script,
}

impl RedisCounters {
    pub fn new(conn: ConnectionManager) -> Self {
        // INCRBY and the first PEXPIRE in one step, so a crash between them cannot leave a
        // counter that never expires.
        let increment = redis::Script::new(
            "local n = redis.call('INCRBY', KEYS[1], ARGV[2])
             if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
             return {n, redis.call('PTTL', KEYS[1])}",
        );
        // DECRBY only a live, positive counter: never below zero, never recreating an expired key.
        let release = redis::Script::new(
            "local n = tonumber(redis.call('GET', KEYS[1]) or '0')
             local by = math.min(n, tonumber(ARGV[1]))
             if by > 0 then redis.call('DECRBY', KEYS[1], by) end
             return 0",
        );
        Self { conn, increment, release }
    }
}

fn counter_key(key: &str) -> String {
    format!("cinegen:count:{key}")
}

fn window(count: u64, pttl_ms: i64) -> Window {
    if pttl_ms <= 0 {
        return Window { count: 0, resets_in_secs: 0 };
    }
    Window { count, resets_in_secs: (pttl_ms as u64).div_ceil(1000) }
}

#[async_trait::async_trait]
impl Counters for RedisCounters {
    async fn peek(&self, key: &str) -> anyhow::Result<Window> {
        let key = counter_key(key);
        let (count, pttl): (Option<u64>, i64) =
            redis::pipe().get(&key).pttl(&key).query_async(&mut self.conn.clone()).await?;
        Ok(window(count.unwrap_or(0), pttl))
    }

    async fn increment_by(&self, key: &str, by: u64, period: Duration) -> anyhow::Result<Window> {
        let (count, pttl): (u64, i64) = self
            .increment
            .key(counter_key(key))
            .arg(period.as_millis().max(1) as u64)
            .arg(by)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(window(count, pttl))
    }

    async fn release_by(&self, key: &str, by: u64) -> anyhow::Result<()> {
        let _: i64 = self.release.key(counter_key(key)).arg(by).invoke_async(&mut self.conn.clone()).await?;
        Ok(())
    }

    async fn reset(&self, key: &str) -> anyhow::Result<()> {
        let _: () = self.conn.clone().del(counter_key(key)).await?;
        Ok(())
    }
}

#[derive(Clone)]
pub struct RedisDenylist {
    conn: ConnectionManager,
}

impl RedisDenylist {
    pub fn new(conn: ConnectionManager) -> Self {
        Self { conn }
    }
}

fn deny_key(id: &str) -> String {
    format!("cinegen:deny:{id}")
}

#[async_trait::async_trait]
impl Denylist for RedisDenylist {
    async fn deny(&self, id: &str, ttl: Duration) -> anyhow::Result<()> {
        let ms = ttl.as_millis().max(1) as u64;
        let _: () = self.conn.clone().pset_ex(deny_key(id), 1, ms).await?;
        Ok(())
    }

    async fn any_denied(&self, ids: &[&str]) -> anyhow::Result<bool> {
        let keys: Vec<String> = ids.iter().map(|id| deny_key(id)).collect();
        let found: u64 = self.conn.clone().exists(keys).await?;
        Ok(found > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ephemeral::contract;

    fn redis_url() -> String {
        std::env::var("CINEGEN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    fn unique(tag: &str) -> String {
        format!("test:{tag}:{}", uuid::Uuid::new_v4())
    }

    #[tokio::test]
    async fn counters() {
        let conn = connect(&redis_url()).await.expect("Redis is needed for this test");
        let counters = RedisCounters::new(conn);
        contract::counters_count_within_a_window(&counters, &unique("count")).await;
        contract::counters_forget_closed_windows(&counters, &unique("short")).await;
    }

    #[tokio::test]
    async fn denylist() {
        let conn = connect(&redis_url()).await.expect("Redis is needed for this test");
        contract::denied_ids_expire(&RedisDenylist::new(conn), &unique("jti")).await;
    }
}
