//! Running queued tasks: handlers by task type, a pool of workers that claim tasks with a lease,
//! renew it while a handler works, retry transient failures with backoff, and finish by
//! compare-and-set, so a task is never run twice at once and never paid for twice.

pub mod backoff;
pub mod batch;
pub mod budget;
mod completer;
pub mod handler;
pub mod kind;
pub mod runtime;
pub mod service;

pub use crate::live::TaskEvents;
pub use handler::{TaskContext, TaskError, TaskHandler};
pub use runtime::{WorkerConfig, WorkerPool};
pub use service::TaskService;
