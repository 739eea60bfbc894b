//! TEMPORARY STUB for type-checking the session; replaced on merge.
use crate::command::SearchKey;
use crate::types::{DateTime, Flag, Uid};
pub struct MessageView<'a> { pub seq: u32, pub uid: Uid, pub flags: &'a [Flag], pub recent: bool, pub size: u64, pub internal_date: DateTime, pub raw: &'a [u8], pub max_seq: u32, pub max_uid: u32 }
pub fn matches(_k: &SearchKey, _m: &MessageView<'_>) -> bool { false }
pub fn needs_content(_k: &SearchKey) -> bool { false }
pub fn charset_supported(_n: &str) -> bool { true }
