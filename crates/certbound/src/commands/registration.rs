//! `certbound registration token create|list|revoke`: RFC 7591 §3 initial access tokens. A
//! token is printed once at creation; the store keeps only its SHA-256 hash.

use crate::cli::{InitialTokenCommand, RegistrationCommand};
use crate::config::Config;
use crate::serve::open_store;
use anyhow::{Result, bail};
use certbound_core::dynamic_registration::{RegistrationPolicy, new_initial_access_token};
use certbound_core::{Clock, OsRandom, SystemClock};
use serde_json::json;

/// Longest lifetime of an initial access token: ten years.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 86_400;

/// Runs a registration command.
pub async fn run(config: &Config, command: RegistrationCommand) -> Result<()> {
    let RegistrationCommand::Token(command) = command;
    let store = open_store(config).await?;
    let now = SystemClock.now();
    match command {
        InitialTokenCommand::Create {
            expires_in,
            uses,
            json: json_out,
        } => {
            if !(1..=MAX_EXPIRES_IN).contains(&expires_in) {
                bail!("--expires-in must be between 1 and {MAX_EXPIRES_IN} seconds");
            }
            if uses == 0 {
                bail!("--uses must be at least 1");
            }
            let (record, token) = new_initial_access_token(&OsRandom, now, expires_in, uses);
            store.insert_initial_access_token(&record).await?;
            if json_out {
                println!(
                    "{}",
                    json!({
                        "id": record.id,
                        "initial_access_token": token.expose(),
                        "expires_at": record.expires_at,
                        "uses": record.uses_left,
                    })
                );
            } else {
                println!("initial access token (shown only now): {}", token.expose());
                println!(
                    "id {}; expires at {} (Unix time); good for {} registration(s)",
                    record.id, record.expires_at, record.uses_left
                );
                println!(
                    "register with: curl -H 'Authorization: Bearer <token>' -H 'Content-Type: application/json' -d @metadata.json https://<host>/oauth2/register"
                );
            }
            if config.registration_policy != RegistrationPolicy::InitialAccessToken {
                eprintln!(
                    "note: [registration] policy is \"{}\", so this token is not needed or not accepted",
                    config.registration_policy
                );
            }
        }
        InitialTokenCommand::List { json: json_out } => {
            for t in store.list_initial_access_tokens().await? {
                let state = if t.is_usable(now) {
                    "usable"
                } else {
                    "spent or expired"
                };
                if json_out {
                    println!(
                        "{}",
                        json!({ "id": t.id, "created_at": t.created_at, "expires_at": t.expires_at, "uses_left": t.uses_left, "usable": t.is_usable(now) })
                    );
                } else {
                    println!(
                        "{}\texpires {}\t{} use(s) left\t{state}",
                        t.id, t.expires_at, t.uses_left
                    );
                }
            }
        }
        InitialTokenCommand::Revoke { id } => {
            if !store.delete_initial_access_token(&id).await? {
                bail!("no initial access token with id {id:?}");
            }
            println!("revoked initial access token {id}");
        }
    }
    Ok(())
}
