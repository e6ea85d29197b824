//! What an operator watches: the catalogue of metrics (names, help, buckets; one place), and the
//! values read fresh at each scrape (the queue, the connection pool).

pub mod metrics;
pub mod scrape;
