//! The store conformance suite: every test body is written once, against `&Backend` (a fresh,
//! empty, migrated store), and instantiated per backend by `conformance_tests!`, so test names
//! carry the backend: `sqlite::grants::redeem_code_has_exactly_one_winner_among_50`,
//! `postgres::grants::...`.
//!
//! Run one backend with `cargo test -p certbound-store --test conformance sqlite::` (or
//! `postgres::`). The PostgreSQL instances need a server (`CERTBOUND_TEST_POSTGRES_URL`,
//! default `postgres://root@127.0.0.1:5432/test`); they fail, never skip, when it is absent.
//!
//! This suite checks what the `certbound-core` store traits promise; checks of one backend's
//! files or SQL stay beside that backend.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backend;
mod fixtures;

mod clients;
mod grants;
mod keys;
mod registration;
mod schema;
mod sessions;
mod tokens;
mod users;

/// Expands, for one backend factory, every `module { test, ... }` into
/// `mod module { #[tokio::test] async fn test() }` calling `crate::module::test(&backend)`.
/// A test function missing from the list is dead code, which clippy rejects.
macro_rules! instantiate {
    ($open:path; $($module:ident { $($test:ident),* $(,)? })*) => {
        $(
            mod $module {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $test() {
                        let backend = $open().await;
                        crate::$module::$test(&backend).await;
                    }
                )*
            }
        )*
    };
}

/// The whole suite for one backend: `conformance_tests!(name, factory)` where `factory` is an
/// `async fn() -> backend::Backend`.
macro_rules! conformance_tests {
    ($backend:ident, $open:path) => {
        mod $backend {
            instantiate! { $open;
                clients {
                    round_trip_keeps_every_field,
                    round_trip_keeps_absent_optional_fields,
                    every_subject_match_kind_round_trips,
                    certificates_are_listed_oldest_first,
                    duplicate_client_is_a_conflict,
                    pages_cover_every_client_once_in_id_order,
                    update_replaces_fields_and_certificate_set,
                    update_of_unknown_client_is_false_and_creates_nothing,
                    delete_cascades_to_tokens_codes_and_consents,
                    changes_from_another_store_reach_the_client_cache,
                    a_token_for_a_deleted_client_is_dangling,
                }
                users {
                    round_trip_keeps_every_field,
                    duplicate_user_is_a_conflict,
                    count_and_list_ordered_by_name,
                    update_replaces_password_admin_flag_and_claims,
                    update_user_claims_replaces_only_claims,
                    delete_removes_sessions_consents_and_kills_tokens,
                }
                tokens {
                    close_commits_every_write_already_accepted,
                    access_token_round_trip_keeps_every_field,
                    access_token_round_trip_keeps_absent_optional_fields,
                    revoke_access_token_is_idempotent_and_targeted,
                    revoke_tokens_of_client_counts_live_tokens,
                    revoke_tokens_of_user_revokes_their_live_grants,
                    a_token_with_a_subject_and_no_grant_is_refused,
                    revoke_by_client_or_user_marks_their_grants_revoked,
                    concurrent_inserts_and_lookups_each_get_their_own_answer,
                }
                grants {
                    code_round_trip_keeps_every_field,
                    redeem_code_once_then_already_used,
                    another_clients_code_reads_unknown_and_is_left_untouched,
                    redeem_code_has_exactly_one_winner_among_50,
                    refresh_token_round_trip_keeps_every_field,
                    use_refresh_token_once_and_never_when_revoked,
                    use_refresh_token_has_exactly_one_winner_among_50,
                    revoke_code_family_revokes_only_that_family,
                    store_grant_tokens_rotates_and_stores_both_or_nothing,
                    store_grant_tokens_of_a_revoked_grant_are_stored_revoked,
                    store_grant_tokens_for_a_deleted_client_is_dangling_and_stores_nothing,
                    store_grant_tokens_rotation_has_exactly_one_winner_among_50,
                    store_grant_tokens_sent_together_each_get_their_own_outcome,
                    find_code_reads_the_code_and_whether_it_was_redeemed,
                    store_grant_tokens_redeems_the_code_once_and_only_the_clients,
                    store_grant_tokens_redemption_has_exactly_one_winner_among_50,
                }
                sessions {
                    session_round_trip_and_delete,
                    consent_upsert_replaces_and_delete_reports,
                    find_user_with_consent_reads_both_in_one,
                }
                keys {
                    keys_round_trip_oldest_first,
                    set_key_retire_at_sets_and_clears,
                }
                registration {
                    initial_access_token_round_trip_and_conflict,
                    initial_access_token_uses_and_expiry,
                    initial_access_tokens_list_oldest_first_and_delete,
                    initial_access_token_last_use_has_exactly_one_winner_among_50,
                    initial_access_token_uses_are_not_oversold_under_concurrency,
                    replace_registration_token_is_compare_and_set,
                    replace_registration_token_has_exactly_one_winner_among_50,
                }
                schema {
                    reopening_keeps_data_and_migrations_are_idempotent,
                    newer_schema_is_refused_with_a_clear_message,
                    ping_answers_on_a_migrated_store,
                }
            }
        }
    };
}

conformance_tests!(sqlite, crate::backend::open_sqlite);
conformance_tests!(postgres, crate::backend::open_postgres);
