//! Certificate revocation lists (PEM or DER) as loaded for trust stores.
#![no_main]

use certbound_mtls::RevocationList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(lists) = RevocationList::parse(data) {
        for crl in lists {
            let _ = crl.issuer();
            let _ = crl.is_expired(crl.next_update());
            let _ = crl.revoked_count();
        }
    }
});
