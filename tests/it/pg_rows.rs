//! The user's tables on PostgreSQL through the store (`flowc::store::pg::rows`).
