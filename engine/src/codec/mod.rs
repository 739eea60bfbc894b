//! Incremental command decoder: frames lines and literals from any chunking of the input and
//! parses complete commands with the grammar in `parse`. (Stub: being written.)
