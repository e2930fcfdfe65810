//! Storage traits. One implementation per backend lives in `certbound-store`; the protocol
//! logic only ever sees these traits (DESIGN rule 3). Tokens and secrets cross this boundary
//! only as hashes (DESIGN rule 4).

use crate::model::{AccessTokenRecord, Client, User};
use crate::secret::TokenHash;
use async_trait::async_trait;

/// A storage failure. Its text is for logs only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached right now (the request may be retried).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A record with the same key exists.
    #[error("already exists")]
    Conflict,
    /// A stored record could not be decoded (corruption or a newer schema).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// Any other backend error.
    #[error("storage error: {0}")]
    Other(String),
}

/// Registered clients.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Inserts a new client; `Conflict` if the id exists.
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Looks a client up by id.
    async fn find_client(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    /// All clients, ordered by creation time.
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Deletes a client and every token issued to it; returns whether it existed.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
}

/// Local users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a new user; `Conflict` if the name exists.
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    /// Looks a user up by name.
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Number of users (used to seed the first admin).
    async fn count_users(&self) -> Result<u64, StoreError>;
}

/// Issued access tokens, keyed by their hash.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token record durably before the token is handed out.
    async fn insert_access_token(&self, token: &AccessTokenRecord) -> Result<(), StoreError>;
    /// Looks a token up by the hash of its value.
    async fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<AccessTokenRecord>, StoreError>;
}

/// Everything the server needs from storage.
pub trait Store: ClientStore + UserStore + TokenStore {}
impl<T: ClientStore + UserStore + TokenStore> Store for T {}
