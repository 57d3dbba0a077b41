//! How many round trips bosun made to its targets in this run: each command, upload
//! or download that waits for a target's answer counts one, whatever the transport.
//! Set `BOSUN_ROUND_TRIPS=1` and bosun prints the count when it exits; the benchmark
//! divides it by the tasks run to report round trips per task (bench/RESULTS.md).

use std::sync::atomic::{AtomicU64, Ordering};

static ROUND_TRIPS: AtomicU64 = AtomicU64::new(0);

/// Counts one round trip.
pub fn record() {
    ROUND_TRIPS.fetch_add(1, Ordering::Relaxed);
}

/// The round trips counted so far.
pub fn count() -> u64 {
    ROUND_TRIPS.load(Ordering::Relaxed)
}

/// Whether the count is wanted at exit (`BOSUN_ROUND_TRIPS` set and not `0`).
pub fn wanted() -> bool {
    std::env::var("BOSUN_ROUND_TRIPS").is_ok_and(|v| !v.is_empty() && v != "0")
}
