//! Round trip: generated commands (`codec_support::gen`), printed by the small client-side
//! printer (`codec_support::printer`), decode to themselves.

mod codec_support;

use codec_support::*;
use proptest::prelude::*;
use tidings_engine::codec::{Decoded, Limits};

use codec_support::gen::command;
use codec_support::printer::print;

/// Limits roomy enough for anything generated, with the default depth.
const ROOMY: Limits = Limits {
    max_line: 1 << 20,
    max_literal: 1 << 20,
    max_small_literal: 1 << 20,
    max_depth: 64,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printed_commands_decode_to_themselves(cmd in command()) {
        let wire = print(&cmd);
        let items: Vec<_> = decode_chunks(ROOMY, [&wire[..]])
            .into_iter()
            .filter(|i| *i != Decoded::NeedContinuation)
            .collect();
        prop_assert_eq!(items, vec![Decoded::Command(cmd.clone())], "wire: {:?}", String::from_utf8_lossy(&wire));
    }

    #[test]
    fn pipelined_commands_decode_in_order_in_any_chunking(
        cmds in prop::collection::vec(command(), 1..5),
        chunk in 1usize..17,
    ) {
        let wire: Vec<u8> = cmds.iter().flat_map(print).collect();
        let items: Vec<_> = decode_chunks(ROOMY, wire.chunks(chunk))
            .into_iter()
            .filter(|i| *i != Decoded::NeedContinuation)
            .collect();
        let expected: Vec<_> = cmds.into_iter().map(Decoded::Command).collect();
        prop_assert_eq!(items, expected);
    }
}
