//! Store errors: the few outcomes callers branch on, and everything else as `Database`.

use thiserror::Error;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique constraint refused the write; the payload names the constraint (e.g. `users_email`).
    #[error("unique constraint violated: {0}")]
    Conflict(&'static str),
    /// Storing the file would pass the owner's quota; nothing was written.
    #[error("storage quota exceeded")]
    QuotaExceeded,
    /// Work would pass a monthly spending cap; nothing was written.
    #[error("{} budget of {} exceeded", .0.scope, .0.currency)]
    BudgetExceeded(crate::budgets::BudgetRefusal),
    /// The owner already has as many unfinished uploads as allowed; nothing was written.
    #[error("too many unfinished uploads")]
    TooManyPending,
    /// A row the operation needs does not exist.
    #[error("not found")]
    NotFound,
    /// A project change refused itself; nothing was written.
    #[error(transparent)]
    Rejected(#[from] cinegen_domain::project::ChangeError),
    /// Stored data that cannot be read back (a bug or a hand edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database URL or options are unusable.
    #[error("database configuration: {0}")]
    Config(String),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Database(sqlx::Error),
    /// A write could not be made and the cause was reported elsewhere (a batched write that
    /// failed for every caller in it).
    #[error("database write failed: {0}")]
    WriteFailed(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error
            && db.is_unique_violation()
        {
            return Self::Conflict(constraint_name(db.as_ref()));
        }
        Self::Database(error)
    }
}

/// Names a violated unique constraint in engine-neutral terms. PostgreSQL reports the index name;
/// SQLite reports `table.column` in the message.
fn constraint_name(db: &dyn sqlx::error::DatabaseError) -> &'static str {
    let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
    if text.contains("users_email") || text.contains("users.email") {
        "users_email"
    } else if text.contains("token_hash") {
        "sessions_token_hash"
    } else if text.contains("idempotency_key") {
        "tasks_idempotency_key"
    } else if text.contains("storage_key") {
        "files_storage_key"
    } else {
        "unknown"
    }
}
