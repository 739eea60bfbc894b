//! FileStore accounts: argon2-hashed passwords, the default mailboxes with their special-use
//! attributes, password change, deletion (with the account's mail) and persistence.

use tidings_engine::command::MailboxName;
use tidings_engine::store::{Store, StoreError};
use tidings_engine::types::SpecialUse;
use tidings_host::store::{FileStore, DB_FILE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_authenticate_passwd_delete() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(dir.path()).expect("open");
    store.add_user("alice", "correct horse").expect("add alice");
    store.add_user("bob", "hunter2").expect("add bob");
    assert_eq!(
        store.add_user("alice", "again"),
        Err(StoreError::AlreadyExists)
    );
    assert!(store.add_user("", "pw").is_err(), "empty user name refused");
    assert_eq!(store.list_users().expect("list"), vec!["alice", "bob"]);

    let acct = store
        .authenticate("alice", b"correct horse")
        .await
        .expect("auth")
        .expect("right password accepted");
    assert_eq!(acct.name, "alice");
    assert_eq!(store.authenticate("alice", b"wrong").await, Ok(None));
    assert_eq!(store.authenticate("alice", b"").await, Ok(None));
    assert_eq!(store.authenticate("carol", b"hunter2").await, Ok(None));

    let list = store.list_mailboxes(&acct).await.expect("list");
    let got: Vec<(&str, Option<SpecialUse>, bool)> = list
        .iter()
        .map(|m| (m.name.as_str(), m.special_use, m.subscribed))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Archive", Some(SpecialUse::Archive), true),
            ("Drafts", Some(SpecialUse::Drafts), true),
            ("INBOX", None, true),
            ("Junk", Some(SpecialUse::Junk), true),
            ("Sent", Some(SpecialUse::Sent), true),
            ("Trash", Some(SpecialUse::Trash), true),
        ]
    );

    store
        .set_password("alice", "battery staple")
        .expect("passwd");
    assert_eq!(
        store.authenticate("alice", b"correct horse").await,
        Ok(None)
    );
    assert!(store
        .authenticate("alice", b"battery staple")
        .await
        .expect("auth")
        .is_some());
    assert!(matches!(
        store.set_password("carol", "x"),
        Err(StoreError::Cannot(_))
    ));

    // Passwords are stored as argon2id PHC strings, never in clear.
    drop(store);
    let db = std::fs::read(dir.path().join(DB_FILE)).expect("read db");
    let find = |needle: &[u8]| db.windows(needle.len()).any(|w| w == needle);
    assert!(find(b"$argon2id$"), "no PHC string in the database");
    assert!(
        !find(b"battery staple") && !find(b"hunter2"),
        "cleartext password"
    );

    let store = FileStore::open(dir.path()).expect("reopen");
    assert!(
        store
            .authenticate("alice", b"battery staple")
            .await
            .expect("auth")
            .is_some(),
        "accounts persist"
    );
    store
        .create_mailbox(&acct, &MailboxName::new("Projects/X"), None)
        .await
        .expect("create");
    store.delete_user("alice").expect("delete");
    assert!(matches!(
        store.delete_user("alice"),
        Err(StoreError::Cannot(_))
    ));
    assert_eq!(store.list_users().expect("list"), vec!["bob"]);
    assert_eq!(
        store.authenticate("alice", b"battery staple").await,
        Ok(None)
    );
    assert!(
        store.list_mailboxes(&acct).await.is_err(),
        "a deleted account's handle reaches nothing"
    );
    // Re-adding the name starts from scratch.
    store.add_user("alice", "new").expect("re-add");
    let acct = store
        .authenticate("alice", b"new")
        .await
        .expect("auth")
        .expect("alice again");
    let names: Vec<String> = store
        .list_mailboxes(&acct)
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.name.0.into())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("Projects")),
        "{names:?}"
    );
}

#[test]
fn account_methods_work_outside_a_runtime() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(dir.path()).expect("open");
    store.add_user("dave", "pw").expect("add");
    assert_eq!(store.list_users().expect("list"), vec!["dave"]);
    store.delete_user("dave").expect("delete");
    assert!(store.list_users().expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_whose_names_are_prefixes_stay_apart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(dir.path()).expect("open");
    for user in ["al", "alice", "al/x"] {
        store.add_user(user, "pw").expect("add");
    }
    let al = store
        .authenticate("al", b"pw")
        .await
        .expect("auth")
        .expect("al");
    store
        .create_mailbox(&al, &MailboxName::new("Mine"), None)
        .await
        .expect("create");
    store
        .set_subscribed(&al, &MailboxName::new("Mine"), true)
        .await
        .expect("subscribe");
    for user in ["alice", "al/x"] {
        let other = store
            .authenticate(user, b"pw")
            .await
            .expect("auth")
            .expect(user);
        let names: Vec<String> = store
            .list_mailboxes(&other)
            .await
            .expect("list")
            .into_iter()
            .map(|m| m.name.0.into())
            .collect();
        assert_eq!(names.len(), 6, "{user} sees {names:?}");
        assert!(!names.contains(&"Mine".to_string()));
        let subs = store.subscriptions(&other).await.expect("subs");
        assert_eq!(subs.len(), 6, "{user} subscriptions {subs:?}");
    }
    assert_eq!(store.list_mailboxes(&al).await.expect("list").len(), 7);
    store.delete_user("al").expect("delete al");
    let alice = store
        .authenticate("alice", b"pw")
        .await
        .expect("auth")
        .expect("alice survives al's deletion");
    assert_eq!(store.list_mailboxes(&alice).await.expect("list").len(), 6);
}
