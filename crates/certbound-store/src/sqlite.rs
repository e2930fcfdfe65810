//! The SQLite backend (embedded default): WAL journal, `synchronous=FULL` so a token is durable
//! before it is returned, foreign keys on, a busy timeout so CLI commands work while the
//! server runs.

use crate::migrate::too_new;
use async_trait::async_trait;
use certbound_core::model::{
    AccessTokenRecord, Client, ClientAuthMethod, GrantType, RegisteredCertificate, User,
};
use certbound_core::secret::TokenHash;
use certbound_core::store::{ClientStore, StoreError, TokenStore, UserStore};
use certbound_mtls::{ClientCertificate, SubjectMatch, Thumbprint};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

/// Schema migrations (`migrations/sqlite/NNNN_*.sql`), applied in order; the version is the
/// index + 1.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/sqlite/0001_initial.sql")];

/// A SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS certbound_schema (version INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM certbound_schema")
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        let version = version.unwrap_or(0);
        if version > MIGRATIONS.len() as i64 {
            return Err(too_new(version, MIGRATIONS.len()));
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(err)?;
            sqlx::query("INSERT INTO certbound_schema (version) VALUES (?)")
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn certificates_of(
        &self,
        client_id: &str,
    ) -> Result<Vec<RegisteredCertificate>, StoreError> {
        let rows =
            sqlx::query("SELECT der FROM client_certificates WHERE client_id = ? ORDER BY rowid")
                .bind(client_id)
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
        rows.iter()
            .map(|r| {
                let der: Vec<u8> = r.try_get("der").map_err(err)?;
                let certificate = ClientCertificate::from_der(der)
                    .map_err(|e| StoreError::Corrupt(format!("stored certificate: {e}")))?;
                Ok(RegisteredCertificate { certificate })
            })
            .collect()
    }
}

fn client_from_row(
    r: &SqliteRow,
    certificates: Vec<RegisteredCertificate>,
) -> Result<Client, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("client {what}"));
    let auth_method: String = r.try_get("auth_method").map_err(err)?;
    let subject: Option<String> = r.try_get("subject").map_err(err)?;
    let grant_types: String = r.try_get("grant_types").map_err(err)?;
    let scopes: String = r.try_get("scopes").map_err(err)?;
    let secret_hash: Option<Vec<u8>> = r.try_get("secret_hash").map_err(err)?;
    let lifetime: Option<i64> = r.try_get("access_token_lifetime").map_err(err)?;
    Ok(Client {
        client_id: r.try_get("client_id").map_err(err)?,
        name: r.try_get("name").map_err(err)?,
        auth_method: auth_method
            .parse::<ClientAuthMethod>()
            .map_err(|_| corrupt("auth_method"))?,
        secret_hash: secret_hash
            .map(|h| {
                <[u8; 32]>::try_from(h.as_slice())
                    .map(TokenHash)
                    .map_err(|_| corrupt("secret_hash"))
            })
            .transpose()?,
        certificates,
        subject: subject
            .map(|s| serde_json::from_str::<SubjectMatch>(&s).map_err(|_| corrupt("subject")))
            .transpose()?,
        grant_types: grant_types
            .split_whitespace()
            .map(|g| g.parse::<GrantType>().map_err(|_| corrupt("grant_types")))
            .collect::<Result<_, _>>()?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        bound_tokens: r.try_get("bound_tokens").map_err(err)?,
        access_token_lifetime: lifetime.and_then(|l| u64::try_from(l).ok()),
        can_introspect: r.try_get("can_introspect").map_err(err)?,
        created_at: r.try_get("created_at").map_err(err)?,
    })
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        let subject = c
            .subject
            .as_ref()
            .map(|s| serde_json::to_string(s).map_err(|e| StoreError::Other(e.to_string())))
            .transpose()?;
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query(
            "INSERT INTO clients (client_id, name, auth_method, secret_hash, subject, grant_types, scopes, \
             bound_tokens, access_token_lifetime, can_introspect, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(&c.client_id)
        .bind(&c.name)
        .bind(c.auth_method.as_str())
        .bind(c.secret_hash.map(|h| h.0.to_vec()))
        .bind(subject)
        .bind(join(&c.grant_types))
        .bind(c.scopes.join(" "))
        .bind(c.bound_tokens)
        .bind(c.access_token_lifetime.map(|l| i64::try_from(l).unwrap_or(i64::MAX)))
        .bind(c.can_introspect)
        .bind(c.created_at)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        for cert in &c.certificates {
            sqlx::query(
                "INSERT INTO client_certificates (client_id, thumbprint, der) VALUES (?,?,?)",
            )
            .bind(&c.client_id)
            .bind(cert.thumbprint().to_base64url())
            .bind(cert.certificate.der().to_vec())
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn find_client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM clients WHERE client_id = ?")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        let certs = self.certificates_of(client_id).await?;
        client_from_row(&row, certs).map(Some)
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY created_at, client_id")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("client_id").map_err(err)?;
            out.push(client_from_row(row, self.certificates_of(&id).await?)?);
        }
        Ok(out)
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (username, password_hash, is_admin, created_at) VALUES (?,?,?,?)",
        )
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(u.is_admin)
        .bind(u.created_at)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| {
            Ok(User {
                username: r.try_get("username").map_err(err)?,
                password_hash: r.try_get("password_hash").map_err(err)?,
                is_admin: r.try_get("is_admin").map_err(err)?,
                created_at: r.try_get("created_at").map_err(err)?,
            })
        })
        .transpose()
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn insert_access_token(&self, t: &AccessTokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, client_id, subject, scope, issued_at, expires_at, cnf, revoked) \
             VALUES (?,?,?,?,?,?,?,?)",
        )
        .bind(t.hash.0.to_vec())
        .bind(&t.client_id)
        .bind(&t.subject)
        .bind(&t.scope)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(t.cnf.map(|c| c.to_base64url()))
        .bind(t.revoked)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<AccessTokenRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM access_tokens WHERE token_hash = ?")
            .bind(hash.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| {
            let cnf: Option<String> = r.try_get("cnf").map_err(err)?;
            let cnf = cnf
                .map(|c| {
                    Thumbprint::from_base64url(&c)
                        .ok_or_else(|| StoreError::Corrupt("token cnf".into()))
                })
                .transpose()?;
            Ok(AccessTokenRecord {
                hash: *hash,
                client_id: r.try_get("client_id").map_err(err)?,
                subject: r.try_get("subject").map_err(err)?,
                scope: r.try_get("scope").map_err(err)?,
                issued_at: r.try_get("issued_at").map_err(err)?,
                expires_at: r.try_get("expires_at").map_err(err)?,
                cnf,
                revoked: r.try_get("revoked").map_err(err)?,
            })
        })
        .transpose()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use certbound_core::store::Store;
    use certbound_mtls::DistinguishedName;

    /// The reference's public sample certificate (no private key exists in this repository).
    const BLOG_CERT: &str = "-----BEGIN CERTIFICATE-----
MIID3TCCAsWgAwIBAgIUJQW8iwYsAbyjc/oHti8DPLJH5ZcwDQYJKoZIhvcNAQEL
BQAwfjELMAkGA1UEBhMCU0wxEDAOBgNVBAgMB1dlc3Rlcm4xEDAOBgNVBAcMB0Nv
bG9tYm8xDTALBgNVBAoMBFdTTzIxDDAKBgNVBAsMA0lBTTENMAsGA1UEAwwER2Fn
YTEfMB0GCSqGSIb3DQEJARYQZ2FuZ2FuaUB3c28yLmNvbTAeFw0yMDAzMjQxMjQy
MDFaFw0zMDAzMjIxMjQyMDFaMH4xCzAJBgNVBAYTAlNMMRAwDgYDVQQIDAdXZXN0
ZXJuMRAwDgYDVQQHDAdDb2xvbWJvMQ0wCwYDVQQKDARXU08yMQwwCgYDVQQLDANJ
QU0xDTALBgNVBAMMBEdhZ2ExHzAdBgkqhkiG9w0BCQEWEGdhbmdhbmlAd3NvMi5j
b20wggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQC+reCEYOn2lnWgFsp0
TF0R1wQiD9C/N+dnv4xCa0rFiu4njDzWR/8tYFl0koaxXoP0+oGnT07KlkA66q0z
twikLZXphLdCBbJ1hSmNvor48FuSb6DgqWixrUa2LHlpaaV7RvlmG+IhZEgKDXdS
+/tK0hlcgRzENyOEdETDO5fFlKGGuwaGv6/w69h2LTKGu5nyDLF51rjQ18xp026b
tHC7se/XSlcp3X63xeOIcFv6m84AN2lnV+g8MOfu2wgWtsKaxn4BL64E7nHZNNLx
MRf7GtUm2bl9ydFX4aD1r1Oj4iqFWMNcfQ676Qshk8s7ui3LKWFXwNN/SRD0c/OR
tv23AgMBAAGjUzBRMB0GA1UdDgQWBBRDu/vqRafReh4fFHS3Nz4T6u9mUDAfBgNV
HSMEGDAWgBRDu/vqRafReh4fFHS3Nz4T6u9mUDAPBgNVHRMBAf8EBTADAQH/MA0G
CSqGSIb3DQEBCwUAA4IBAQB7NH51Yj4moEhMonnLUh3eTtf6DUnrpscx6td28rry
oDZPfCkJs4VHU9F50etw54FoHqoIaHp5UIB6l1OsVXytUmwrdxbqW7nfOItYwN1y
V093aI2aOeMQYmS+vrPkSkxySP6+wGCWe4gfMgpr6iu9xiWLpnILw5q71gmXWtS9
00S5aLbllGYe74jkyldLIdhS4TyEBIDgcpZrD8x/Z42al6T/6EANMpvu4Jopisg+
uwwkEGSM1I/kjiW+YkWC4oTZ1jMZUWC11WbcouLwjfaf6gt4zWitYCP0r0fLGk4b
SJfUFsnJNu6vDhx60TbRhIh9P2jxkmgNYPuAxFtF8v+h
-----END CERTIFICATE-----
";

    fn client(id: &str) -> Client {
        let cert = ClientCertificate::from_pem(BLOG_CERT).unwrap().remove(0);
        Client {
            client_id: id.into(),
            name: "playground2".into(),
            auth_method: ClientAuthMethod::SelfSignedTlsClientAuth,
            secret_hash: Some(TokenHash::of(b"s")),
            certificates: vec![RegisteredCertificate { certificate: cert }],
            subject: Some(SubjectMatch::SubjectDn(
                "CN=Gaga,O=WSO2".parse::<DistinguishedName>().unwrap(),
            )),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["a".into(), "b".into()],
            bound_tokens: true,
            access_token_lifetime: Some(60),
            can_introspect: true,
            created_at: 7,
        }
    }

    async fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn clients_round_trip_and_conflict() {
        let (_d, store) = open().await;
        let c = client("c1");
        store.insert_client(&c).await.unwrap();
        assert!(matches!(
            store.insert_client(&c).await,
            Err(StoreError::Conflict)
        ));
        let back = store.find_client("c1").await.unwrap().unwrap();
        assert_eq!(back.name, c.name);
        assert_eq!(back.auth_method, c.auth_method);
        assert_eq!(back.secret_hash, c.secret_hash);
        assert_eq!(back.subject, c.subject);
        assert_eq!(back.grant_types, c.grant_types);
        assert_eq!(back.scopes, c.scopes);
        assert_eq!(back.access_token_lifetime, Some(60));
        assert!(back.bound_tokens && back.can_introspect);
        assert_eq!(
            back.certificates[0].thumbprint().to_base64url(),
            "mt3KDY1hofQurloTbphKHCSrTlAGl5MlgXX6Xxj9c_E"
        );
        assert!(store.find_client("nope").await.unwrap().is_none());
        assert_eq!(store.list_clients().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn tokens_round_trip_and_go_with_their_client() {
        let (_d, store) = open().await;
        store.insert_client(&client("c1")).await.unwrap();
        let t = AccessTokenRecord {
            hash: TokenHash::of(b"tok"),
            client_id: "c1".into(),
            subject: None,
            scope: "a".into(),
            issued_at: 10,
            expires_at: 20,
            cnf: Some(Thumbprint::of_der(b"x")),
            revoked: false,
        };
        store.insert_access_token(&t).await.unwrap();
        let back = store.find_access_token(&t.hash).await.unwrap().unwrap();
        assert_eq!(back.cnf, t.cnf);
        assert_eq!((back.issued_at, back.expires_at), (10, 20));
        assert!(store.delete_client("c1").await.unwrap());
        assert!(
            store.find_access_token(&t.hash).await.unwrap().is_none(),
            "cascade"
        );
        assert!(!store.delete_client("c1").await.unwrap());
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path).await.unwrap();
        sqlx::query("INSERT INTO certbound_schema (version) VALUES (999)")
            .execute(&store.pool)
            .await
            .unwrap();
        store.pool.close().await;
        let Err(e) = SqliteStore::open(&path).await else {
            panic!("must refuse")
        };
        assert!(
            e.to_string().contains("newer than this certbound knows"),
            "{e}"
        );
        // Users are a trait object away from the protocol logic.
        let _: &dyn Store = &SqliteStore::open(&dir.path().join("other.db"))
            .await
            .unwrap();
    }
}
