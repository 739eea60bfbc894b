//! The rows of the `fields` table: each blob's decoded, folded Subject/From/To/Cc/Bcc/Date
//! (the message cache's field set), computed at delivery so that the first header SEARCH of a
//! mailbox after a restart reads one redb row per message instead of every message file.
//!
//! A row is [`searchable_fields`] of the blob's header block for every name of
//! [`CACHED_FIELDS`], each field tagged with its bit, in message order. Keeping the fields of
//! some bits, in order, is therefore exactly what the file path computes for those names, so
//! answers do not depend on where they came from. A row also records the bits it was computed
//! for: should [`CACHED_FIELDS`] grow, older rows answer only for the names they cover and
//! searches for a new name read the file, as searches of stores without rows do.

use std::sync::Arc;

use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use tidings_engine::search::{searchable_fields, Field};
use tidings_engine::store::StoreResult;

use super::blobs::header_block;
use super::message_cache::{bit_names, CACHED_FIELDS};
use super::schema::{decode, encode, OrBackend};

/// The bits of every name in [`CACHED_FIELDS`]: what a row written now covers.
const ALL_BITS: u8 = ((1u16 << CACHED_FIELDS.len()) - 1) as u8;

/// One row of `fields` (postcard), its strings borrowed from the stored bytes when read.
#[derive(Debug, Serialize, Deserialize)]
struct FieldsRec<'a> {
    /// The [`CACHED_FIELDS`] bits the row was computed for.
    covers: u8,
    /// The blob's fields with those names, in message order: (bit index, name as written,
    /// folded value).
    #[serde(borrow)]
    fields: Vec<(u8, &'a str, &'a str)>,
}

/// The bit index of a field named `name` (as [`searchable_fields`] matches names), if it is
/// one of [`CACHED_FIELDS`].
fn bit_index(name: &str) -> Option<u8> {
    let name = name.trim();
    let i = CACHED_FIELDS
        .iter()
        .position(|n| name.eq_ignore_ascii_case(n))?;
    u8::try_from(i).ok()
}

/// The encoded row for a message with these bytes (as stored in its blob).
pub(crate) fn row_of(raw: &[u8]) -> StoreResult<Vec<u8>> {
    let fields = searchable_fields(header_block(raw), &bit_names(ALL_BITS));
    let rec = FieldsRec {
        covers: ALL_BITS,
        fields: fields
            .iter()
            .filter_map(|f| Some((bit_index(&f.name)?, f.name.as_str(), f.value.as_str())))
            .collect(),
    };
    encode(&rec)
}

/// The fields named by `bits`, in message order, from an encoded row: what
/// [`searchable_fields`] gives for the blob's header block and `bit_names(bits)`. `None` if
/// the row does not cover all of `bits` (the caller reads the file).
pub(crate) fn fields_in(row: &[u8], bits: u8) -> StoreResult<Option<Arc<[Field]>>> {
    let rec: FieldsRec = decode(row)?;
    if rec.covers & bits != bits {
        return Ok(None);
    }
    let fields: Vec<Field> = rec
        .fields
        .iter()
        // A bit index past 7 (a corrupt row) names no field asked.
        .filter(|(i, _, _)| bits.checked_shr(u32::from(*i)).is_some_and(|b| b & 1 == 1))
        .map(|&(_, name, value)| Field {
            name: name.to_string(),
            value: value.to_string(),
        })
        .collect();
    Ok(Some(fields.into()))
}

/// [`fields_in`] of the row of each `(blob, bits)` asked, in the order asked; `None` where
/// there is no row or it does not cover the bits. Blobs delivered one after another have
/// neighbouring ids, so when the ids asked are dense the rows are read by one range scan (a
/// header search of a fresh 10,000-message mailbox answered from rows: 5.8 ms with a lookup
/// per message, 4.7 ms with the scan); when they are few, one lookup each. A blob may be asked more
/// than once (copies in one mailbox).
pub(crate) fn lookup(
    table: &impl ReadableTable<u64, &'static [u8]>,
    asked: &[(u64, u8)],
) -> StoreResult<Vec<Option<Arc<[Field]>>>> {
    let mut out = vec![None; asked.len()];
    let mut order: Vec<usize> = (0..asked.len()).collect();
    order.sort_unstable_by_key(|&i| asked[i].0);
    let (Some(&first), Some(&last)) = (order.first(), order.last()) else {
        return Ok(out);
    };
    let (first, last) = (asked[first].0, asked[last].0);
    if (last - first) / 4 > asked.len() as u64 {
        for i in order {
            let (blob, bits) = asked[i];
            if let Some(row) = table.get(blob).bk()? {
                out[i] = fields_in(row.value(), bits)?;
            }
        }
        return Ok(out);
    }
    let mut wanted = order.into_iter().peekable();
    for item in table.range(first..=last).bk()? {
        let (k, v) = item.bk()?;
        let blob = k.value();
        while wanted.next_if(|&i| asked[i].0 < blob).is_some() {}
        while let Some(i) = wanted.next_if(|&i| asked[i].0 == blob) {
            out[i] = fields_in(v.value(), asked[i].1)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages whose header fields need decoding, unfolding or care with names.
    const TRICKY: &[&[u8]] = &[
        b"Subject: =?UTF-8?B?SGVsbG8=?= =?UTF-8?Q?_W=C3=B6rld?=\r\n\
From: =?ISO-8859-1?Q?Fran=E7ois?= <f@example.fr>\r\n\
To: a long\r\n  list\r\n\tof <x@example.org>, undisclosed-recipients:;\r\n\
Subject: second\r\n\
cc : spaced@example.org\r\n\
BCC: Upper <u@example.org>\r\n\
Date: Mon, 1 Jan 2024 12:00:00 +0000\r\n\
X-Other: not cached\r\n\r\nSubject: in the body\r\n",
        b"From: bare-lf@example.org\nSubject: bare\n LF folding\n\nbody\n",
        b"Subject: =?utf-8?q?malformed=ZZ?= =?unknown?B?AAAA?=\r\n\r\n",
        b"Subject: no body, no blank line\r\nTo: t@example.org\r\n",
        b"X-Only: nothing cached\r\n\r\nbody",
        b"",
        b"Subject: \xff\xfe not utf-8 \xe9t\xe9\r\nFrom: \xc3\xa9 ok\r\n\r\n",
    ];

    /// The golden corpus, if this checkout has it (`shared/testdata/golden`).
    fn golden() -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/testdata/golden/messages");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.expect("dir entry").path();
            let name = path.display().to_string();
            out.push((name, std::fs::read(&path).expect("read message")));
        }
        out
    }

    #[test]
    fn every_subset_of_a_row_is_what_the_file_gives() {
        let mut messages: Vec<(String, Vec<u8>)> = TRICKY
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("tricky {i}"), m.to_vec()))
            .collect();
        messages.extend(golden());
        for (name, raw) in &messages {
            let row = row_of(raw).expect("encode");
            for bits in 0..=ALL_BITS {
                let from_row = fields_in(&row, bits).expect("decode").expect("covered");
                let from_file = searchable_fields(header_block(raw), &bit_names(bits));
                assert_eq!(&from_row[..], &from_file[..], "{name}, bits {bits:#08b}");
            }
        }
        let first = fields_in(&row_of(TRICKY[0]).expect("row"), ALL_BITS)
            .expect("decode")
            .expect("covered");
        let values: Vec<&str> = first.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(values.len(), 7, "{values:?}");
        assert_eq!(values[0], "hello wörld", "decoded and folded");
    }

    #[test]
    fn a_row_answers_only_for_the_names_it_covers() {
        let older = encode(&FieldsRec {
            covers: 0b11,
            fields: vec![(0, "Subject", "hello"), (1, "From", "a@example.org")],
        })
        .expect("encode");
        let subject = fields_in(&older, 0b1).expect("decode").expect("covered");
        assert_eq!(subject.len(), 1);
        assert_eq!(subject[0].value, "hello");
        assert!(fields_in(&older, 0b101).expect("decode").is_none());
        assert!(fields_in(b"\xff\xff\xff", 0b1).is_err(), "corrupt row");
        let odd = encode(&FieldsRec {
            covers: 0b1,
            fields: vec![(200, "X", "bit past 7"), (0, "Subject", "hello")],
        })
        .expect("encode");
        let fields = fields_in(&odd, 0b1).expect("decode").expect("covered");
        assert_eq!(fields.len(), 1, "a bit index past 7 matches nothing");
    }

    #[test]
    fn lookups_answer_in_the_order_asked_whether_scanned_or_looked_up() {
        use redb::backends::InMemoryBackend;
        let db = redb::Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .expect("in-memory database");
        let subject = |blob: u64| format!("Subject: blob {blob}\r\n\r\n").into_bytes();
        let txn = db.begin_write().expect("write");
        {
            let mut table = txn.open_table(super::super::schema::FIELDS).expect("table");
            // Rows for blobs 1..=100 except every tenth; 7 has a row covering no names.
            for blob in (1..=100u64).filter(|b| b % 10 != 0) {
                let row = match blob {
                    7 => encode(&FieldsRec {
                        covers: 0,
                        fields: Vec::new(),
                    })
                    .expect("encode"),
                    _ => row_of(&subject(blob)).expect("row"),
                };
                table.insert(blob, row.as_slice()).expect("insert");
            }
        }
        txn.commit().expect("commit");
        let txn = db.begin_read().expect("read");
        let table = txn.open_table(super::super::schema::FIELDS).expect("table");
        let value = |f: &Option<Arc<[Field]>>| f.as_ref().map(|f| f[0].value.clone());
        for asked in [
            (1..=100u64).map(|b| (b, 1)).collect::<Vec<_>>(), // dense: one scan
            vec![(90, 1), (3, 1), (3, 1), (50, 1), (51, 1), (7, 1)], // sparse, repeated
            vec![(5, 1), (4, 1), (10, 1), (6, 1), (7, 1), (5, 1)], // dense, unordered
            vec![(5, 0b11), (5, 1)],
            vec![],
        ] {
            let got = lookup(&table, &asked).expect("lookup");
            let want: Vec<Option<String>> = asked
                .iter()
                .map(|&(blob, _)| {
                    // No row, or (7) a row that does not cover Subject.
                    let answered = blob % 10 != 0 && blob <= 100 && blob != 7;
                    answered.then(|| format!("blob {blob}"))
                })
                .collect();
            let got: Vec<Option<String>> = got.iter().map(value).collect();
            assert_eq!(got, want, "{asked:?}");
        }
    }

    #[test]
    fn rows_are_small() {
        let raw = b"Subject: hello\r\nFrom: a@example.org\r\nX-Big: big\r\n\r\nbody";
        let row = row_of(raw).expect("row");
        assert!(row.len() < 40, "{} bytes", row.len());
    }
}
