//! RFC 7591 client metadata as dynamic registration (and the admin API) read it: JSON, then
//! the checks that turn it into a client, for both registrars.
#![no_main]

use certbound_core::registration::{ClientMetadata, Registrar};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(metadata) = ClientMetadata::from_json(value) else {
        return;
    };
    for registrar in [Registrar::SelfService, Registrar::Admin] {
        let _ = metadata.to_spec(registrar);
    }
});
