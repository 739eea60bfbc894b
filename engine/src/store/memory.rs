//! `MemoryStore`: every account, mailbox and message in memory. (Stub: being written.)

/// In-memory store (being written).
#[derive(Debug, Default)]
pub struct MemoryStore {}
