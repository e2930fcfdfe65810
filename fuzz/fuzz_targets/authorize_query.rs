//! Authorization request parameters (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1) as
//! `GET /oauth2/authorize` parses them, against a real SQLite store holding one registered
//! client. Half the inputs are prefixed with that client's id and redirect_uri, so the fuzzer
//! reaches the checks past the client look-up.
#![no_main]

use certbound_core::authorize::AuthorizationRequest;
use certbound_core::jose::JwsAlg;
use certbound_core::registration::{ClientMetadata, Registrar, build_client};
use certbound_core::{AuthServer, OAuthSettings, OsRandom};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, LazyLock};

struct World {
    runtime: tokio::runtime::Runtime,
    server: AuthServer,
    prefix: String,
    _dir: std::path::PathBuf,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = std::env::temp_dir().join(format!("certbound-fuzz-authorize-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let (server, prefix) = runtime.block_on(async {
        let store = certbound_store::sqlite::SqliteStore::open(&dir.join("certbound.db"))
            .await
            .expect("a SQLite store");
        let metadata = ClientMetadata::from_json(serde_json::json!({
            "client_name": "fuzz",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": ["https://client.example/cb"],
        }))
        .expect("metadata");
        let spec = metadata.to_spec(Registrar::Admin).expect("a spec");
        let (client, _) = build_client(spec, &OsRandom, 1_700_000_000).expect("a client");
        use certbound_core::store::ClientStore;
        store.insert_client(&client).await.expect("insert");
        let prefix = format!(
            "client_id={}&redirect_uri=https%3A%2F%2Fclient.example%2Fcb&",
            client.client_id
        );
        let settings = OAuthSettings::with_issuer("https://localhost:9443/oauth2/token");
        (AuthServer::new(Arc::new(store), settings, JwsAlg::ES256), prefix)
    });
    World {
        runtime,
        server,
        prefix,
        _dir: dir,
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(tail) = std::str::from_utf8(rest) else {
        return;
    };
    let world = &*WORLD;
    let query = if selector % 2 == 0 {
        format!("{}{tail}", world.prefix)
    } else {
        tail.to_owned()
    };
    world.runtime.block_on(async {
        if let Ok(request) = AuthorizationRequest::parse(&world.server, &query).await {
            let _ = request.query();
            let _ = request.query_after_login();
        }
    });
});
