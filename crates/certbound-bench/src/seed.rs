//! `seed`: bulk-fills a certbound SQLite database for the scale test with clients (each with a
//! registered self-signed certificate) and live, certificate-bound access tokens, shaped like
//! the server's own rows so its indexes are exercised as in production. The schema comes from
//! certbound-store's migrations; rows are generated inside SQLite (recursive CTE, randomblob)
//! in large transactions with `synchronous=OFF` on this connection only. Refuses a database
//! that holds clients it did not seed, unless `--force`.

use crate::cli::SeedArgs;
use anyhow::{Context, Result, anyhow, bail};
use certbound_mtls::Thumbprint;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteSynchronous};
use sqlx::{Connection, Executor};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// `clients.name` of every seeded client: how a later run recognises its own rows.
const SEED_NAME: &str = "certbound-bench seed";
/// Distinct certificates shared by the seeded clients (client rowid modulo this).
const TEMPLATES: i64 = 16;
/// Seeded tokens were issued up to this many seconds ago ...
const ISSUED_SPREAD: i64 = 1800;
/// ... and live this long: still valid during a long scale run.
const TOKEN_LIFETIME: i64 = 86_400;

pub fn main(args: SeedArgs) -> Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(seed(&args))
}

async fn seed(args: &SeedArgs) -> Result<()> {
    if !args.force {
        refuse_foreign(&args.db).await?;
    }
    let url = format!("sqlite://{}", args.db.display());
    // Creates the file if needed and runs the migrations, exactly as the server would.
    drop(
        certbound_store::open(&url)
            .await
            .map_err(|e| anyhow!("opening {url}: {e}"))?,
    );
    let mut conn = connect(&args.db).await?;
    let started = Instant::now();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let now = i64::try_from(now)?;
    templates(&mut conn).await?;
    let (lo, hi) = clients(&mut conn, args, now).await?;
    if args.tokens > 0 && hi == lo {
        bail!("no seeded clients to give tokens to (use --clients > 0)");
    }
    tokens(&mut conn, args, now, lo, hi).await?;
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    conn.close().await?;
    let secs = started.elapsed().as_secs_f64();
    let rows = args.clients * 2 + args.tokens;
    let bytes = std::fs::metadata(&args.db).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "seeded {} clients (+ certificates) and {} tokens into {} in {secs:.1} s ({:.0} rows/s)",
        args.clients,
        args.tokens,
        args.db.display(),
        rows as f64 / secs.max(1e-9),
    );
    println!(
        "{}",
        json!({
            "clients": args.clients, "tokens": args.tokens, "rows": rows,
            "seconds": (secs * 10.0).round() / 10.0,
            "rows_per_s": (rows as f64 / secs.max(1e-9)).round(),
            "db_bytes": bytes,
        })
    );
    Ok(())
}

/// Fails when `db` exists and holds a client this tool did not seed.
async fn refuse_foreign(db: &Path) -> Result<()> {
    if !db.exists() {
        return Ok(());
    }
    let options = SqliteConnectOptions::new().filename(db).read_only(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    let has_clients: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'clients'",
    )
    .fetch_one(&mut conn)
    .await?;
    if has_clients == 0 {
        return Ok(());
    }
    let foreign: i64 = sqlx::query_scalar("SELECT count(*) FROM clients WHERE name <> ?")
        .bind(SEED_NAME)
        .fetch_one(&mut conn)
        .await?;
    if foreign > 0 {
        bail!(
            "{} holds {foreign} client(s) not created by `seed`: refusing to touch it (--force to seed anyway)",
            db.display()
        );
    }
    Ok(())
}

/// This connection only: no fsync, a big page cache, no foreign-key checks (the rows are
/// consistent by construction). The server's own connections keep their settings.
async fn connect(db: &Path) -> Result<SqliteConnection> {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .synchronous(SqliteSynchronous::Off)
        .foreign_keys(false)
        .pragma("cache_size", "-1048576")
        .pragma("temp_store", "MEMORY");
    SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("opening {}", db.display()))
}

/// A temporary table of [`TEMPLATES`] real self-signed certificates and their thumbprints.
async fn templates(conn: &mut SqliteConnection) -> Result<()> {
    conn.execute("CREATE TEMP TABLE bench_certs (i INTEGER PRIMARY KEY, der BLOB NOT NULL, thumbprint TEXT NOT NULL)")
        .await?;
    for i in 0..TEMPLATES {
        let name = format!("seed-client-{i}.bench.invalid");
        let cert = rcgen::generate_simple_self_signed(vec![name])?.cert;
        let der = cert.der().to_vec();
        sqlx::query("INSERT INTO bench_certs (i, der, thumbprint) VALUES (?, ?, ?)")
            .bind(i)
            .bind(&der)
            .bind(Thumbprint::of_der(&der).to_base64url())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Inserts the clients and their certificates; returns the rowid range `(lo, hi]` they got.
async fn clients(conn: &mut SqliteConnection, args: &SeedArgs, now: i64) -> Result<(i64, i64)> {
    let lo: i64 = sqlx::query_scalar("SELECT coalesce(max(rowid), 0) FROM clients")
        .fetch_one(&mut *conn)
        .await?;
    let mut done = 0;
    while done < args.clients {
        let n = args.batch.min(args.clients - done);
        let mut tx = conn.begin().await?;
        // client_id: 24 characters of [0-9A-F], within the server's own alphabet.
        sqlx::query(
            "INSERT INTO clients (client_id, name, auth_method, secret_hash, subject, grant_types, scopes, \
             bound_tokens, access_token_lifetime, can_introspect, redirect_uris, access_token_format, \
             trust_store, jwks_uri, registration_token_hash, created_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
             SELECT hex(randomblob(12)), ?2, 'self_signed_tls_client_auth', NULL, NULL, 'client_credentials', '', \
             1, NULL, 0, '', NULL, NULL, NULL, NULL, ?3 FROM n",
        )
        .bind(i64::try_from(n)?)
        .bind(SEED_NAME)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        done += n;
    }
    let hi: i64 = sqlx::query_scalar("SELECT coalesce(max(rowid), 0) FROM clients")
        .fetch_one(&mut *conn)
        .await?;
    if u64::try_from(hi - lo)? != args.clients {
        bail!("expected {} new client rows, got {}", args.clients, hi - lo);
    }
    let mut tx = conn.begin().await?;
    sqlx::query(
        "INSERT INTO client_certificates (client_id, thumbprint, der, added_at) \
         SELECT c.client_id, b.thumbprint, b.der, ?3 FROM clients c \
         JOIN bench_certs b ON b.i = c.rowid % ?4 WHERE c.rowid > ?1 AND c.rowid <= ?2",
    )
    .bind(lo)
    .bind(hi)
    .bind(now)
    .bind(TEMPLATES)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((lo, hi))
}

/// Inserts live tokens keyed as the server keys its opaque tokens (`secret::generate_keyed`:
/// the issue second and a sequence number in front of 24 hash bytes), a seeded client each
/// (spread by a multiplicative hash of the row number), bound to that client's certificate,
/// expiring in the future.
async fn tokens(
    conn: &mut SqliteConnection,
    args: &SeedArgs,
    now: i64,
    lo: i64,
    hi: i64,
) -> Result<()> {
    let mut done = 0;
    while done < args.tokens {
        let n = args.batch.min(args.tokens - done);
        let mut tx = conn.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO access_tokens (token_hash, client_id, subject, scope, issued_at, expires_at, cnf, revoked, claims, code_hash) \
             WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2), \
             t(r, iat, i) AS (SELECT ?3 + 1 + (i * 2654435761) % (?4 - ?3), ?5 - (i * 7919) % ?6, i FROM n) \
             SELECT unhex(printf('%08x%08x', t.iat, t.i % 4294967296) || hex(randomblob(24))), c.client_id, NULL, 'default', t.iat, t.iat + ?7, b.thumbprint, 0, '', NULL \
             FROM t JOIN clients c ON c.rowid = t.r JOIN bench_certs b ON b.i = t.r % ?8",
        )
        .bind(i64::try_from(done)?)
        .bind(i64::try_from(done + n - 1)?)
        .bind(lo)
        .bind(hi)
        .bind(now)
        .bind(ISSUED_SPREAD)
        .bind(TOKEN_LIFETIME)
        .bind(TEMPLATES)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != n {
            bail!(
                "expected {n} token rows, inserted {}",
                inserted.rows_affected()
            );
        }
        tx.commit().await?;
        done += n;
        eprintln!("  tokens: {done}/{}", args.tokens);
    }
    Ok(())
}
