//! What an operator watches and keeps: the catalogue of metrics (names, help, buckets; one place),
//! the values read fresh at each scrape (the queue, the connection pool), and backups.

pub mod backup;
pub mod metrics;
pub mod scrape;
