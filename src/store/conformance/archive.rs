//! Archive paging and retention, for every store.

use super::{chan, msg, q};
use crate::store::*;

/// A channel with messages 1..=10; even ones from b@y; ts = seq * 1000.
fn ten(s: &dyn Store) {
    let mut changes = vec![
        Change::PutChannel(chan("room")),
        Change::PutChannel(chan("side")),
    ];
    for seq in 1..=10 {
        changes.push(Change::Archive(msg(
            "room",
            seq,
            if seq % 2 == 0 { "b@y" } else { "a@x" },
        )));
    }
    changes.push(Change::Archive(msg("side", 1, "a@x")));
    s.apply(&changes).expect("ten");
}

fn seqs(p: &ArchivePage) -> Vec<u64> {
    p.messages.iter().map(|m| m.seq).collect()
}

pub(crate) fn page_forward(s: &dyn Store) {
    ten(s);
    let mut query = q("room", 4);
    query.want_count = true;
    let p = s.archive_page(&query).expect("page 1");
    assert_eq!(
        (seqs(&p), p.complete, p.first_is_first, p.count),
        (vec![1, 2, 3, 4], false, true, Some(10))
    );
    query.after_id = Some(msg("room", 4, "").id);
    let p = s.archive_page(&query).expect("page 2");
    assert_eq!(
        (seqs(&p), p.complete, p.first_is_first),
        (vec![5, 6, 7, 8], false, false)
    );
    query.after_id = Some(msg("room", 8, "").id);
    let p = s.archive_page(&query).expect("page 3");
    assert_eq!((seqs(&p), p.complete), (vec![9, 10], true));
    query.after_id = Some(msg("room", 10, "").id);
    let p = s.archive_page(&query).expect("past the end");
    assert_eq!(
        (seqs(&p), p.complete, p.first_is_first),
        (vec![], true, false)
    );
    // An exact fit is complete: nothing is left in that direction.
    let p = s.archive_page(&q("room", 10)).expect("all");
    assert!(p.complete && p.first_is_first && p.count.is_none());
    let p = s.archive_page(&q("room", 0)).expect("count only");
    assert_eq!((seqs(&p), p.complete), (vec![], false));
}

pub(crate) fn page_backward(s: &dyn Store) {
    ten(s);
    let mut query = q("room", 4);
    query.before_id = Some(String::new());
    let p = s.archive_page(&query).expect("last page");
    assert_eq!(
        (seqs(&p), p.complete, p.first_is_first),
        (vec![7, 8, 9, 10], false, false)
    );
    query.before_id = Some(msg("room", 7, "").id);
    let p = s.archive_page(&query).expect("previous");
    assert_eq!((seqs(&p), p.complete), (vec![3, 4, 5, 6], false));
    query.before_id = Some(msg("room", 3, "").id);
    let p = s.archive_page(&query).expect("first");
    assert_eq!(
        (seqs(&p), p.complete, p.first_is_first),
        (vec![1, 2], true, true)
    );
    // Both bounds: the last page of what lies between them.
    query.after_id = Some(msg("room", 2, "").id);
    query.before_id = Some(msg("room", 9, "").id);
    let p = s.archive_page(&query).expect("between");
    assert_eq!((seqs(&p), p.complete), (vec![5, 6, 7, 8], false));
}

pub(crate) fn page_filters(s: &dyn Store) {
    ten(s);
    let mut query = q("room", 3);
    query.start = Some(3000);
    query.end = Some(8000);
    query.want_count = true;
    let p = s.archive_page(&query).expect("window");
    assert_eq!(
        (seqs(&p), p.complete, p.count),
        (vec![3, 4, 5], false, Some(6))
    );
    query.with = Some("b@y".into());
    let p = s.archive_page(&query).expect("with");
    assert_eq!(
        (seqs(&p), p.complete, p.count),
        (vec![4, 6, 8], true, Some(3))
    );
    // Paging after an id that the filter excludes still works.
    query.after_id = Some(msg("room", 5, "").id);
    let p = s.archive_page(&query).expect("after excluded id");
    assert_eq!((seqs(&p), p.first_is_first), (vec![6, 8], false));
    query.after_id = Some(msg("room", 1, "").id);
    let p = s
        .archive_page(&query)
        .expect("after an id before the window");
    assert_eq!((seqs(&p), p.first_is_first), (vec![4, 6, 8], true));
    let mut by_id = q("room", 10);
    by_id.ids = vec![
        msg("room", 9, "").id,
        msg("room", 2, "").id,
        "missing".into(),
    ];
    let p = s.archive_page(&by_id).expect("ids");
    assert_eq!((seqs(&p), p.complete), (vec![2, 9], true));
    let side = s.archive_page(&q("side", 10)).expect("side");
    assert_eq!(seqs(&side), vec![1]);
}

pub(crate) fn page_unknown_id(s: &dyn Store) {
    ten(s);
    let other_channel = msg("side", 1, "").id;
    for (after, before) in [
        (Some("nope".to_string()), None),
        (None, Some("nope".to_string())),
        (Some(other_channel), None),
    ] {
        let mut query = q("room", 3);
        query.after_id = after;
        query.before_id = before;
        let err = s.archive_page(&query).expect_err("unknown id");
        assert!(matches!(err, StoreError::UnknownArchiveId(_)), "{err:?}");
        assert_eq!(err.class(), ErrorClass::ItemNotFound);
    }
}

pub(crate) fn prune_keeps_heads(s: &dyn Store) {
    ten(s);
    assert_eq!(s.prune_archive(5000).expect("prune"), 5);
    assert_eq!(
        seqs(&s.archive_page(&q("room", 10)).expect("page")),
        vec![5, 6, 7, 8, 9, 10]
    );
    assert_eq!(s.prune_archive(i64::MAX).expect("prune all"), 6);
    let heads = s.load().expect("load").archive_heads;
    assert_eq!(heads, vec![("room".into(), 10), ("side".into(), 1)]);
    let mut query = q("room", 3);
    query.after_id = Some(msg("room", 4, "").id);
    assert!(matches!(
        s.archive_page(&query),
        Err(StoreError::UnknownArchiveId(_))
    ));
}
