//! `none` (RFC 7591 §2): a public client identified only by its client_id. It must not send
//! a secret; a certificate it presents may still bind its tokens (RFC 8705 §4).

use super::{Presented, failed};
use crate::OAuthError;
use crate::model::Client;

pub(super) fn authenticate(_client: &Client, presented: &Presented<'_>) -> Result<(), OAuthError> {
    if presented.has_secret() {
        return Err(failed());
    }
    Ok(())
}
