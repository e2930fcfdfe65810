//! `certbound user create|update|list|delete`.

use crate::config::Config;
use crate::serve::open_store;
use anyhow::{Context, Result, bail};
use certbound_core::registration::{build_user_with_claims, leaves_no_admin, validate_claims};
use certbound_core::secret::Secret;
use certbound_core::store::StoreError;
use certbound_core::{Clock, OsRandom, SystemClock};
use std::collections::BTreeMap;

/// Parses `NAME=VALUE` pairs.
fn parse_claims(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--claim {p:?} is not NAME=VALUE"))
        })
        .collect()
}

/// Creates a user with a password read from the first line of standard input.
pub async fn create(config: &Config, name: &str, admin: bool, claims: &[String]) -> Result<()> {
    let claims = parse_claims(claims)?;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = Secret::new(line.trim_end_matches(['\r', '\n']));
    let user = build_user_with_claims(name, &password, admin, claims, &OsRandom, SystemClock.now())
        .map_err(|e| anyhow::anyhow!("invalid user: {e}"))?;
    let store = open_store(config).await?;
    match store.insert_user(&user).await {
        Ok(()) => {
            certbound_core::audit::user_created(super::operator(), name, admin);
            println!("created user {name}{}", if admin { " (admin)" } else { "" });
            Ok(())
        }
        Err(StoreError::Conflict) => bail!("a user named {name:?} already exists"),
        Err(e) => Err(e.into()),
    }
}

/// Sets or removes (empty value) profile attributes.
pub async fn update(config: &Config, name: &str, claims: &[String]) -> Result<()> {
    let changes = parse_claims(claims)?;
    let store = open_store(config).await?;
    let Some(user) = store.find_user(name).await? else {
        bail!("no user named {name:?}");
    };
    let mut claims = user.claims;
    for (k, v) in changes {
        if v.is_empty() {
            claims.remove(&k);
        } else {
            claims.insert(k, v);
        }
    }
    validate_claims(&claims).map_err(|e| anyhow::anyhow!("invalid claims: {e}"))?;
    store.update_user_claims(name, &claims).await?;
    certbound_core::audit::user_updated(super::operator(), name, user.is_admin, false);
    println!("updated user {name}");
    Ok(())
}

/// Lists users (never their password hashes).
pub async fn list(config: &Config, json_out: bool) -> Result<()> {
    let store = open_store(config).await?;
    let users = store.list_users().await?;
    if json_out {
        let all: Vec<serde_json::Value> = users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "username": u.username,
                    "is_admin": u.is_admin,
                    "claims": u.claims,
                    "created_at": u.created_at,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(all));
    } else {
        for u in &users {
            println!(
                "{}\t{}",
                u.username,
                if u.is_admin { "admin" } else { "user" }
            );
        }
    }
    Ok(())
}

/// Deletes a user, refusing to delete the last administrator.
pub async fn delete(config: &Config, name: &str) -> Result<()> {
    let store = open_store(config).await?;
    let users = store.list_users().await?;
    if leaves_no_admin(&users, name, false) {
        bail!("{name:?} is the last administrator; make another user an administrator first");
    }
    if !store.delete_user(name).await? {
        bail!("no user named {name:?}");
    }
    certbound_core::audit::user_deleted(super::operator(), name);
    println!("deleted user {name} with their sessions, consents and tokens");
    Ok(())
}
