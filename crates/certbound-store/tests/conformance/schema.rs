//! Migrations: reopening a database keeps its data, and a database written by a newer
//! certbound is refused with a message that says so.

use crate::backend::Backend;
use crate::fixtures::*;

pub async fn reopening_keeps_data_and_migrations_are_idempotent(b: &Backend) {
    b.store().insert_client(&client("c1")).await.unwrap();
    b.store().insert_user(&user("alice")).await.unwrap();
    for _ in 0..2 {
        let again = b.reopen().await.unwrap();
        assert_same_client(
            &again.find_client("c1").await.unwrap().unwrap(),
            &client("c1"),
        );
        assert_eq!(again.count_users().await.unwrap(), 1);
    }
}

pub async fn newer_schema_is_refused_with_a_clear_message(b: &Backend) {
    b.record_schema_version(999).await;
    let Err(e) = b.reopen().await else {
        panic!("a schema newer than this certbound must be refused")
    };
    let text = e.to_string();
    assert!(
        text.contains("the database schema is version 999, newer than this certbound knows"),
        "unclear refusal: {text}"
    );
    assert!(
        text.contains("upgrade certbound"),
        "unclear refusal: {text}"
    );
}

pub async fn ping_answers_on_a_migrated_store(b: &Backend) {
    b.store().ping().await.unwrap();
    b.reopen().await.unwrap().ping().await.unwrap();
}
