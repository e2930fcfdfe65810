//! The client certificate presented on a request, as the TLS layer or a trusted proxy's header
//! delivered it: the leaf and any intermediates sent with it.

use crate::{ClientCertificate, Thumbprint};

/// A presented certificate chain, parsed once per connection or request.
#[derive(Debug, Clone)]
pub struct PeerCertificate {
    /// The client's own certificate.
    pub leaf: ClientCertificate,
    /// Intermediate CA certificates sent after it, used to build a path for `tls_client_auth`.
    pub intermediates: Vec<ClientCertificate>,
}

impl PeerCertificate {
    /// Thumbprint of the leaf (RFC 8705 §3.1).
    pub fn thumbprint(&self) -> &Thumbprint {
        self.leaf.thumbprint()
    }
}
