//! TEMPORARY STUB for type-checking the session; replaced by the real codec on merge.
#![allow(missing_docs, dead_code)]
use crate::command::Command;
use crate::response::Status;
#[derive(Debug, Clone, Default)]
pub struct Limits { pub max_line: usize, pub max_literal: usize, pub max_small_literal: usize, pub max_depth: usize }
pub struct Decoder;
pub enum Decoded { Command(Command), NeedContinuation, Line(Vec<u8>), Error(DecodeError) }
pub struct DecodeError { pub tag: Option<String>, pub message: String }
impl DecodeError { pub fn response(&self) -> (Status, Option<&'static str>) { (Status::Bad, None) } }
impl Decoder {
    pub fn new(_l: Limits) -> Self { Decoder }
    pub fn feed(&mut self, _b: &[u8]) {}
    pub fn next(&mut self) -> Option<Decoded> { None }
    pub fn expect_line(&mut self) {}
    pub fn discard_buffered(&mut self) -> usize { 0 }
}
pub fn encode_mailbox(s: &str) -> String { s.to_string() }
