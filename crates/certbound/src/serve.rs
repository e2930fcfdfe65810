//! `certbound serve`: open the store, seed the first admin, load TLS, and run the HTTPS
//! accept loop that attaches each connection's peer certificate to its requests.

use crate::client_keys::JwksUriKeys;
use crate::config::{Config, TlsSource};
use crate::devtls::DevTls;
use crate::expiry::{self, ExpiryWindow};
use crate::fsutil::{create_private_dir, write_private};
use crate::http::{self, AppState};
use crate::listener;
use crate::tls::{self, ClientCerts};
use anyhow::{Context, Result};
use certbound_core::registration::build_user;
use certbound_core::secret::{self, Secret};
use certbound_core::store::Store;
use certbound_core::trust_stores::TrustStores;
use certbound_core::{AuthServer, OAuthSettings, OsRandom, SystemClock};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Opens the configured store once, migrating it (creating the data directory when needed).
/// CLI commands use this and fail fast with the store's message when the database is down.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    Ok(open_migrated(config).await?.store)
}

/// Opens and migrates the configured store, with its schema version (`certbound migrate`).
pub async fn open_migrated(config: &Config) -> Result<certbound_store::Opened> {
    create_private_dir(&config.data_dir)?;
    certbound_store::open_with(&config.storage_url, &config.storage_options)
        .await
        .with_context(|| {
            format!(
                "cannot open the store {}",
                certbound_store::redact(&config.storage_url)
            )
        })
}

/// For `serve`: opens the store, retrying with backoff (1 s doubling to 30 s, each attempt
/// logged) while the database is unavailable, so nodes may start before their database.
/// Any other failure (a bad URL, a schema newer than this build) ends the start at once.
async fn open_store_retrying(config: &Config) -> Result<Arc<dyn Store>> {
    let mut delay = std::time::Duration::from_secs(1);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        create_private_dir(&config.data_dir)?;
        match certbound_store::open_with(&config.storage_url, &config.storage_options).await {
            Ok(opened) => {
                if attempt > 1 {
                    tracing::info!(attempt, "storage is available");
                }
                return Ok(opened.store);
            }
            Err(certbound_core::store::StoreError::Unavailable(msg)) => {
                tracing::warn!(
                    attempt,
                    retry_in_secs = delay.as_secs(),
                    "storage unavailable: {msg}"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(30));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot open the store {}",
                    certbound_store::redact(&config.storage_url)
                )));
            }
        }
    }
}

/// Runs the server until interrupted.
pub async fn run(config: Config) -> Result<()> {
    crate::ops::metrics::set_start_time(certbound_core::Clock::now(&SystemClock));
    let store = open_store_retrying(&config).await?;
    seed_admin(&config, store.as_ref()).await?;
    let (cert_file, key_file, generated) = crate::devtls::server_files(&config)?;
    if matches!(config.tls, TlsSource::Development) {
        let ca = DevTls::paths(&config.data_dir).ca_cert;
        if generated {
            tracing::info!(path = %ca.display(), "generated a development TLS CA and server certificate");
        }
        println!(
            "development TLS CA: {} (use curl --cacert {})",
            ca.display(),
            ca.display()
        );
    }
    let main_certs = if config.request_client_certificate {
        ClientCerts::Request
    } else {
        ClientCerts::Off
    };
    let server_cert = Arc::new(tls::ServerCert::load(&cert_file, &key_file)?);
    let main_tls = TlsAcceptor::from(tls::server_config(
        &server_cert,
        main_certs,
        config.tls_profile,
    )?);
    crate::ops::metrics::set_server_certificate(&cert_file);
    let now = certbound_core::Clock::now(&SystemClock);
    let trust_stores = crate::trust_stores::load(&config.trust_stores, now).await?;
    let expiry = ExpiryWindow::days(config.certificate_expiry_warning_days);
    // Checks over every registered client (trust store names, certificate expiry) run beside
    // serving, not before it: with a million clients they take a while, and start-up must not.
    {
        let (store, stores) = (Arc::clone(&store), Arc::clone(&trust_stores));
        tokio::spawn(async move {
            let checks = expiry::scan(&*store, now, expiry, |page| {
                crate::trust_stores::check_clients(&stores, page)
            });
            match checks.await {
                Ok(clients) => {
                    tracing::info!(clients, "start-up checks of the registered clients done")
                }
                Err(e) => tracing::warn!(error = %e, "start-up client checks: cannot list clients"),
            }
        });
    }
    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "cannot listen on {}: is another server using it? Choose another with --listen",
            config.listen
        )
    })?;
    let local = listener.local_addr()?;
    let mut listeners = vec![(listener, Some(main_tls.clone()))];
    if config.listen_is_default {
        let v6 = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, local.port()));
        match TcpListener::bind(v6).await {
            Ok(l) => listeners.push((l, Some(main_tls.clone()))),
            Err(e) => {
                tracing::debug!(error = %e, "IPv6 loopback not available; listening on IPv4 only")
            }
        }
    }
    let issuer = config.issuer_for(local.port());
    // RFC 8705 §5: the alias listener requires a certificate, so the main one need not ask.
    let mut alias_base = None;
    if let Some(addr) = config.mtls_listen {
        let l = TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on server.mtls.listen {addr}: is another server using it?")
        })?;
        let port = l.local_addr()?.port();
        let base = config
            .mtls_url
            .clone()
            .unwrap_or_else(|| format!("https://{}:{port}", issuer_host(&issuer)));
        println!("listening on {base} (mutual TLS endpoint aliases, certificate required)");
        alias_base = Some(base);
        let tls = TlsAcceptor::from(tls::server_config(
            &server_cert,
            ClientCerts::Require,
            config.tls_profile,
        )?);
        listeners.push((l, Some(tls)));
    }
    let mut settings = settings(&config, issuer.clone(), trust_stores);
    settings.mtls_alias_base = alias_base;
    let store_handle = Arc::clone(&store);
    let mut server = AuthServer::new(store, settings, config.signing_alg);
    server.keys = Arc::new(
        certbound_core::keyring::KeyRing::new(config.signing_alg)
            .with_cache_seconds(config.signing_key_refresh_interval),
    );
    server.throttle = Arc::new(certbound_core::login::LoginThrottle::new(
        config.rate_limits.sign_in_failures,
    ));
    server.client_keys = Some(Arc::new(JwksUriKeys::new(&config.jwks_uri)?));
    // The report at start runs in the task above; this one repeats it daily.
    expiry::spawn_daily(Arc::clone(&server.store), expiry);
    server
        .keys
        .ensure(
            server.store.as_ref(),
            certbound_core::Clock::now(&SystemClock),
        )
        .await?;
    let http_listener = match config.http_listen {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on server.http_listen {addr}: is another server using it?")
        })?),
        None => None,
    };
    let http_addr = http_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let server = Arc::new(server);
    let ops_addr = match config.ops {
        Some(ops) => crate::ops::start(ops, Arc::clone(&server)).await?,
        None => None,
    };
    let app = http::router(AppState {
        server,
        max_body_bytes: config.max_body_bytes,
        proxy: config.proxy.clone().map(Arc::new),
        limits: Arc::new(crate::rate_limit::RateLimits::new(
            &config.rate_limits.requests,
        )),
    });
    if let Some(addr) = ops_addr {
        println!("operations endpoints on http://{addr} (/healthz, /readyz, /metrics)");
    }
    println!("issuer: {issuer}");
    if let Some(addr) = http_addr {
        println!("listening on http://{addr} (plain HTTP, for a TLS-terminating proxy)");
        if config.proxy.is_none() {
            tracing::warn!(%addr, "plain HTTP listener without [oauth.mutualtls] client_certificate_header: clients behind it cannot use mutual TLS");
        }
    }
    println!("listening on https://{local}");
    tracing::info!(%local, %issuer, "certbound started");
    log_registration_policy(&config);
    listeners.extend(http_listener.map(|l| (l, None)));
    // A renewed server certificate is served from the next handshake on (SIGHUP, or a change
    // of its files); open connections keep theirs.
    tls::watch(Arc::clone(&server_cert), config.tls_reload_check);
    listener::run(listeners, app, config.limits, config.shutdown_timeout).await;
    close_store(store_handle.as_ref()).await;
    Ok(())
}

/// Flushes and closes the store at shutdown (the group-commit writer commits what it holds),
/// within a bound so a stuck connection cannot keep the process alive.
async fn close_store(store: &dyn Store) {
    const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
    match tokio::time::timeout(CLOSE_TIMEOUT, store.close()).await {
        Ok(()) => tracing::info!("storage closed; certbound stopped"),
        Err(_) => tracing::warn!(
            timeout_secs = CLOSE_TIMEOUT.as_secs(),
            "storage did not close in time; stopping anyway"
        ),
    }
}

/// Says at start who may register clients (RFC 7591), loudly when anyone may.
fn log_registration_policy(config: &Config) {
    use certbound_core::dynamic_registration::RegistrationPolicy;
    match config.registration_policy {
        RegistrationPolicy::Open => tracing::warn!(
            "[registration] policy = \"open\": anyone who can reach this server can register clients at /oauth2/register"
        ),
        policy => tracing::info!(%policy, "dynamic client registration policy"),
    }
}

/// The host (and nothing else) of an issuer URL.
fn issuer_host(issuer: &str) -> &str {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// The protocol settings of a validated configuration.
pub fn settings(config: &Config, issuer: String, trust_stores: Arc<TrustStores>) -> OAuthSettings {
    OAuthSettings {
        access_token_audience: config
            .access_token_audience
            .clone()
            .unwrap_or_else(|| issuer.clone()),
        issuer,
        access_token_lifetime: config.access_token_lifetime,
        access_token_format: config.access_token_format,
        mtls_alias_base: None,
        trust_stores,
        certificate_expiry_warning: ExpiryWindow::days(config.certificate_expiry_warning_days)
            .seconds(),
        legacy_x5t_sha256: config.legacy_x5t_sha256,
        code_lifetime: config.code_lifetime,
        id_token_lifetime: config.id_token_lifetime,
        refresh_token_lifetime: config.refresh_token_lifetime,
        refresh_token_idle_lifetime: config.refresh_token_idle_lifetime,
        refresh_token_rotation: config.refresh_token_rotation,
        refresh_token_reuse_grace: config.refresh_token_reuse_grace,
        session_lifetime: config.session_lifetime,
        require_pkce: config.require_pkce,
        registration_policy: config.registration_policy,
    }
}

/// On first start with no users, creates `admin` with `CERTBOUND_ADMIN_PASSWORD` or a random
/// password that is printed once and written to a 0600 file.
async fn seed_admin(config: &Config, store: &dyn Store) -> Result<()> {
    if store.count_users().await? > 0 {
        return Ok(());
    }
    let (password, generated) = match std::env::var("CERTBOUND_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (Secret::new(p), false),
        _ => (secret::generate(&OsRandom), true),
    };
    let user = build_user(
        "admin",
        &password,
        true,
        &OsRandom,
        certbound_core::Clock::now(&SystemClock),
    )
    .map_err(|e| anyhow::anyhow!("CERTBOUND_ADMIN_PASSWORD is not usable: {e}"))?;
    store.insert_user(&user).await?;
    if generated {
        let path = config.data_dir.join("admin-password");
        write_private(&path, password.expose().as_bytes())?;
        println!(
            "created user 'admin' with password {} (also saved in {}, readable only by you)",
            password.expose(),
            path.display()
        );
    } else {
        println!("created user 'admin' with the password from CERTBOUND_ADMIN_PASSWORD");
    }
    Ok(())
}
