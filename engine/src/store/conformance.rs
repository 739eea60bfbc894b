//! The conformance suite every `Store` backend must pass. (Stub: being written.)
