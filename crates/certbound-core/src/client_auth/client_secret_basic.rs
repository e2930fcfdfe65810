//! `client_secret_basic` (RFC 6749 §2.3.1): the secret arrives in the HTTP Basic header.

use super::{Presented, check_secret, failed};
use crate::OAuthError;
use crate::model::Client;

pub(super) fn authenticate(client: &Client, presented: &Presented<'_>) -> Result<(), OAuthError> {
    match (&presented.basic_secret, presented.post_secret) {
        (Some(secret), None) => check_secret(client, secret),
        _ => Err(failed()),
    }
}
