//! SEARCH evaluation: decides whether one message matches a `SearchKey`. (Stub: being written.)
