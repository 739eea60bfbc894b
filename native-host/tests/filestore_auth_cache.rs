//! FileStore's auth cache: a repeated successful login skips argon2 (counted as a hit), while
//! wrong passwords, unknown users, changed passwords, deleted accounts, expired entries and a
//! disabled cache always take the full argon2 path (counted as misses).

use std::time::Duration;

use tidings_engine::store::Store;
use tidings_host::store::FileStore;

/// `(hits, misses)` of the store's auth cache.
fn counts(store: &FileStore) -> (u64, u64) {
    let s = store.auth_cache_stats();
    (s.hits, s.misses)
}

async fn ok(store: &FileStore, user: &str, password: &str) -> bool {
    store
        .authenticate(user, password.as_bytes())
        .await
        .expect("authenticate")
        .is_some()
}

fn open(dir: &tempfile::TempDir) -> FileStore {
    let store = FileStore::open(dir.path()).expect("open");
    store.add_user("alice", "correct horse").expect("add alice");
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_login_is_a_hit_and_wrong_passwords_never_are() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    assert!(ok(&store, "alice", "correct horse").await);
    assert_eq!(counts(&store), (0, 1));
    assert!(ok(&store, "alice", "correct horse").await);
    assert_eq!(
        counts(&store),
        (1, 1),
        "the second login comes from the cache"
    );

    for wrong in ["wrong", "", "correct horse ", "Correct horse"] {
        assert!(!ok(&store, "alice", wrong).await, "{wrong:?}");
    }
    assert!(!ok(&store, "carol", "correct horse").await, "unknown user");
    assert!(
        !ok(&store, "ALICE", "correct horse").await,
        "another user name"
    );
    assert_eq!(counts(&store), (1, 7), "every failure went to argon2");

    // A wrong password does not evict the entry.
    assert!(ok(&store, "alice", "correct horse").await);
    assert_eq!(counts(&store), (2, 7));
    assert_eq!(store.auth_cache_stats().entries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_password_and_delete_user_invalidate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    assert!(ok(&store, "alice", "correct horse").await);
    assert!(ok(&store, "alice", "correct horse").await);
    assert_eq!(counts(&store), (1, 1));

    store
        .set_password("alice", "battery staple")
        .expect("passwd");
    assert_eq!(store.auth_cache_stats().entries, 0);
    assert!(!ok(&store, "alice", "correct horse").await, "old password");
    assert!(ok(&store, "alice", "battery staple").await, "new password");
    assert!(ok(&store, "alice", "battery staple").await);
    assert_eq!(counts(&store), (2, 3));

    store.delete_user("alice").expect("delete");
    assert_eq!(store.auth_cache_stats().entries, 0);
    assert!(!ok(&store, "alice", "battery staple").await);
    // Re-created with the same password: a new hash, verified afresh.
    store.add_user("alice", "battery staple").expect("re-add");
    assert!(ok(&store, "alice", "battery staple").await);
    assert_eq!(counts(&store), (2, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_entries_take_the_full_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir).with_auth_cache(Duration::from_millis(1), 10);
    assert!(ok(&store, "alice", "correct horse").await);
    // Sleeping at least the TTL guarantees expiry (the clock is monotonic).
    std::thread::sleep(Duration::from_millis(5));
    assert!(ok(&store, "alice", "correct horse").await);
    assert_eq!(counts(&store), (0, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_cache_never_caches() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (ttl, size) in [(Duration::ZERO, 10), (Duration::from_secs(3600), 0)] {
        let store = FileStore::open(dir.path())
            .expect("open")
            .with_auth_cache(ttl, size);
        if store.list_users().expect("list").is_empty() {
            store.add_user("alice", "correct horse").expect("add alice");
        }
        for _ in 0..3 {
            assert!(ok(&store, "alice", "correct horse").await);
        }
        assert_eq!(counts(&store), (0, 3));
        assert_eq!(store.auth_cache_stats().entries, 0);
        drop(store);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_share_the_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    let other = store.clone();
    assert!(ok(&store, "alice", "correct horse").await);
    assert!(ok(&other, "alice", "correct horse").await);
    assert_eq!(counts(&other), (1, 1));
}
