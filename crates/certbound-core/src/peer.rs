//! The client certificate presented on a request, as the TLS layer (or, later, a trusted
//! proxy's header) delivered it: the leaf and any intermediates the client sent.

use certbound_mtls::{ClientCertificate, Thumbprint};

/// A peer certificate chain, parsed at accept time (DESIGN rule 11).
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
