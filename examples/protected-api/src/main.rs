//! `protected-api`: run the example API against a certbound issuer.
//!
//! ```text
//! protected-api --listen 127.0.0.1:8443 --issuer https://localhost:9443/oauth2/token \
//!   --cert server.pem --key server-key.pem --ca certbound-data/tls/ca.pem
//! ```
//! Tokens are verified as RFC 9068 JWTs against the issuer's JWKS (`--audience` defaults to
//! the issuer).

use anyhow::{Context, Result, bail};
use certbound_resource::{Config, Validation, Verifier};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let args: Vec<String> = std::env::args().collect();
    let need =
        |n: &str| arg(&args, n).with_context(|| format!("{n} is required (see the module docs)"));
    let issuer = need("--issuer")?;
    let Some((origin, _)) = issuer.split_once("/oauth2/") else {
        bail!("--issuer must look like https://host:port/oauth2/token");
    };
    let mut config = Config::new(
        issuer.clone(),
        arg(&args, "--audience").unwrap_or_else(|| issuer.clone()),
        Validation::Jwt {
            jwks_uri: format!("{origin}/oauth2/jwks"),
        },
    );
    config.ca_pem = arg(&args, "--ca")
        .map(std::fs::read_to_string)
        .transpose()?;
    let verifier = Verifier::new(config)?;
    let tls = protected_api::tls_config(
        &std::fs::read_to_string(need("--cert")?)?,
        &std::fs::read_to_string(need("--key")?)?,
    )?;
    let listener = tokio::net::TcpListener::bind(
        arg(&args, "--listen").unwrap_or_else(|| "127.0.0.1:8443".into()),
    )
    .await?;
    println!(
        "protected API listening on https://{}",
        listener.local_addr()?
    );
    protected_api::serve(listener, tls, protected_api::router(verifier)).await
}
