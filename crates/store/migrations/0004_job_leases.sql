-- Leases that let one instance at a time run a scheduled job.

CREATE TABLE job_leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    locked_until {time} NOT NULL
);
