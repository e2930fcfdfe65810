//! `certbound keys rotate|list`, `certbound consent revoke` and `certbound token revoke`.

use crate::cli::{ConsentCommand, KeysCommand, TokenCommand};
use crate::config::Config;
use crate::serve::open_store;
use anyhow::{Result, bail};
use certbound_core::keyring::KeyRing;
use certbound_core::{Clock, SystemClock};
use serde_json::json;

/// Runs a keys command.
pub async fn run(config: &Config, command: KeysCommand) -> Result<()> {
    let store = open_store(config).await?;
    let now = SystemClock.now();
    match command {
        KeysCommand::Rotate => {
            // Old keys stay published while tokens they signed may still be presented.
            let keep = i64::try_from(config.id_token_lifetime.max(config.access_token_lifetime))
                .unwrap_or(i64::MAX);
            let key = KeyRing::new(config.signing_alg)
                .rotate(store.as_ref(), now, keep.saturating_add(60))
                .await?;
            println!(
                "new signing key {} ({}); previous keys stay published for {keep} s",
                key.kid(),
                key.alg().as_str()
            );
        }
        KeysCommand::List { json: json_out } => {
            for k in store.list_keys().await? {
                let state = match k.retire_at() {
                    None => "active".to_owned(),
                    Some(t) if t > now => format!("published until {t}"),
                    Some(_) => "retired".to_owned(),
                };
                if json_out {
                    println!(
                        "{}",
                        json!({ "kid": k.kid(), "alg": k.alg().as_str(), "created_at": k.created_at(), "retire_at": k.retire_at() })
                    );
                } else {
                    println!("{}\t{}\t{}", k.kid(), k.alg().as_str(), state);
                }
            }
        }
    }
    Ok(())
}

/// Runs a consent command.
pub async fn consent(config: &Config, command: ConsentCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        ConsentCommand::Revoke { user, client } => {
            if !store.delete_consent(&user, &client).await? {
                bail!("user {user:?} has no remembered consent for client {client:?}");
            }
            println!("forgot the consent of {user} for {client}");
        }
    }
    Ok(())
}

/// Runs a token command.
pub async fn token(config: &Config, command: TokenCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        TokenCommand::Revoke {
            client: Some(client),
            ..
        } => {
            let n = store.revoke_tokens_of_client(&client).await?;
            println!("revoked {n} tokens of client {client}");
        }
        TokenCommand::Revoke {
            user: Some(user), ..
        } => {
            let n = store.revoke_tokens_of_user(&user).await?;
            println!(
                "revoked {n} grants of user {user}, and every access and refresh token issued from them"
            );
        }
        TokenCommand::Revoke { .. } => bail!("name --client ID or --user NAME"),
    }
    Ok(())
}
