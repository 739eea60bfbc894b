//! The `tidings` binary. (Being written.)
fn main() {}
