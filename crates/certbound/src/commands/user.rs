//! `certbound user create`.

use crate::config::Config;
use crate::serve::open_store;
use anyhow::{Context, Result, bail};
use certbound_core::registration::build_user;
use certbound_core::secret::Secret;
use certbound_core::store::StoreError;
use certbound_core::{Clock, OsRandom, SystemClock};

/// Creates a user with a password read from the first line of standard input.
pub async fn create(config: &Config, name: &str, admin: bool) -> Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = Secret::new(line.trim_end_matches(['\r', '\n']));
    let user = build_user(name, &password, admin, &OsRandom, SystemClock.now())
        .map_err(|e| anyhow::anyhow!("invalid user: {e}"))?;
    let store = open_store(config).await?;
    match store.insert_user(&user).await {
        Ok(()) => {
            println!("created user {name}{}", if admin { " (admin)" } else { "" });
            Ok(())
        }
        Err(StoreError::Conflict) => bail!("a user named {name:?} already exists"),
        Err(e) => Err(e.into()),
    }
}
