//! `client_secret_post` (RFC 6749 §2.3.1): the secret arrives as `client_secret` in the body.

use super::{Presented, check_secret, failed};
use crate::OAuthError;
use crate::model::Client;

pub(super) fn authenticate(client: &Client, presented: &Presented<'_>) -> Result<(), OAuthError> {
    match (&presented.basic_secret, presented.post_secret) {
        (None, Some(secret)) => check_secret(client, secret),
        _ => Err(failed()),
    }
}
