//! `certbound client create|list|show|update|cert add|cert retire|delete`. Updates and
//! certificate changes go through the same core functions as the admin API.

use crate::cli::{
    AuthMethodArg, CertCommand, ClientCommand, CreateClient, GrantTypeArg, UpdateClient,
};
use crate::config::Config;
use crate::serve::open_store;
use anyhow::{Context, Result, bail};
use certbound_core::audit;
use certbound_core::model::{Client, ClientAuthMethod, GrantType, TokenFormat};
use certbound_core::registration::{self, ClientMetadata, ClientSpec, Registrar, build_client};
use certbound_core::secret::Secret;
use certbound_core::store::{ClientPages, Store};
use certbound_core::{Clock, OsRandom, SystemClock};
use certbound_mtls::{ClientCertificate, DistinguishedName, SubjectMatch, Thumbprint};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;

/// Runs a client command.
pub async fn run(config: &Config, command: ClientCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        ClientCommand::Create(args) => {
            let json_out = args.json;
            let spec = spec_from_args(*args)?;
            spec.check_trust_store(|n| config.trust_stores.iter().any(|s| s.name == n))
                .map_err(|e| anyhow::anyhow!("invalid client: {e}"))?;
            let (client, secret) = build_client(spec, &OsRandom, SystemClock.now())
                .map_err(|e| anyhow::anyhow!("invalid client: {e}"))?;
            store.insert_client(&client).await?;
            audit::client_created(super::operator(), &client.client_id, client.auth_method);
            print(&client, secret.as_ref(), json_out);
        }
        ClientCommand::List { json: json_out } => list(store.as_ref(), json_out).await?,
        ClientCommand::Show { id, json: json_out } => {
            let Some(client) = store.find_client(&id).await? else {
                bail!(
                    "no client with client_id {id:?}; `certbound client list` shows the registered ones"
                );
            };
            print(&client, None, json_out);
        }
        ClientCommand::Update(args) => update(store.as_ref(), *args).await?,
        ClientCommand::Cert(c) => certificate(store.as_ref(), c).await?,
        ClientCommand::Delete { id, json: json_out } => {
            if !store.delete_client(&id).await? {
                bail!(
                    "no client with client_id {id:?}; `certbound client list` shows the registered ones"
                );
            }
            audit::client_deleted(super::operator(), &id);
            if json_out {
                println!("{}", json!({ "deleted": id }));
            } else {
                println!("deleted client {id} and its tokens");
            }
        }
    }
    Ok(())
}

/// `client list`: every client by client_id, read and printed a page at a time
/// ([`ClientPages`]), so that a store of a million clients is listed in constant memory.
/// `--json` prints one JSON array. A closed output (`| head`) stops the reading quietly.
async fn list(store: &dyn Store, json_out: bool) -> Result<()> {
    match print_all(store, json_out).await {
        Err(e)
            if e.downcast_ref::<std::io::Error>().map(std::io::Error::kind)
                == Some(std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        done => done,
    }
}

async fn print_all(store: &dyn Store, json_out: bool) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut pages = ClientPages::new(store);
    let mut open = "[";
    while let Some(page) = pages.next().await? {
        for c in &page {
            if json_out {
                write!(
                    out,
                    "{}{}",
                    std::mem::replace(&mut open, ","),
                    describe(c, None)
                )?;
            } else {
                writeln!(out, "{}\t{}\t{}", c.client_id, c.auth_method, c.name)?;
            }
        }
    }
    if json_out {
        writeln!(out, "{}", if open == "[" { "[]" } else { "]" })?;
    }
    out.flush()?;
    Ok(())
}

async fn find(store: &dyn Store, id: &str) -> Result<Client> {
    let client = store.find_client(id).await?.with_context(|| {
        format!(
            "no client with client_id {id:?}; `certbound client list` shows the registered ones"
        )
    })?;
    Ok(Arc::unwrap_or_clone(client))
}

async fn save(store: &dyn Store, client: &Client) -> Result<()> {
    if !store.update_client(client).await? {
        bail!("the client {:?} was deleted meanwhile", client.client_id);
    }
    Ok(())
}

/// `client update`: the registered metadata with the given options replaced, validated as the
/// admin API validates a PUT.
async fn update(store: &dyn Store, args: UpdateClient) -> Result<()> {
    let existing = find(store, &args.id).await?;
    let mut metadata = ClientMetadata::of(&existing);
    let Some(map) = metadata.as_object_mut() else {
        bail!("the client's metadata is not an object");
    };
    if let Some(name) = args.name {
        map.insert("client_name".into(), json!(name));
    }
    if !args.redirect_uri.is_empty() || args.clear_redirect_uris {
        map.insert("redirect_uris".into(), json!(args.redirect_uri));
    }
    if !args.scope.is_empty() {
        let scopes: Vec<&str> = args
            .scope
            .iter()
            .flat_map(|s| s.split_whitespace())
            .collect();
        map.insert("scope".into(), json!(scopes.join(" ")));
    }
    if !args.grant_type.is_empty() {
        let grants: Vec<&str> = args
            .grant_type
            .iter()
            .map(|g| grant_type(*g).as_str())
            .collect();
        map.insert("grant_types".into(), json!(grants));
        // response_types follow the grant types (RFC 7591 §2.1 defaults).
        map.remove("response_types");
    }
    if let Some(seconds) = args.access_token_lifetime {
        map.insert("access_token_lifetime".into(), json!(seconds));
    }
    if args.default_access_token_lifetime {
        map.insert("access_token_lifetime".into(), Value::Null);
    }
    if let Some(format) = args.access_token_format {
        map.insert("access_token_format".into(), json!(format));
    }
    if args.default_access_token_format {
        map.insert("access_token_format".into(), Value::Null);
    }
    let spec = ClientMetadata::from_json(metadata)
        .and_then(|m| m.to_spec(Registrar::Admin))
        .map_err(|e| anyhow::anyhow!("invalid client: {e}"))?;
    let (client, secret) =
        registration::update_client(&existing, spec, &OsRandom, SystemClock.now())
            .map_err(|e| anyhow::anyhow!("invalid client: {e}"))?;
    save(store, &client).await?;
    audit::client_updated(super::operator(), &client.client_id, secret.is_some());
    print(&client, secret.as_ref(), args.json);
    Ok(())
}

/// `client cert add|retire`: one step of a certificate rotation.
async fn certificate(store: &dyn Store, command: CertCommand) -> Result<()> {
    let (id, json_out) = match &command {
        CertCommand::Add { id, json, .. } | CertCommand::Retire { id, json, .. } => (id, *json),
    };
    let mut client = find(store, id).await?;
    match &command {
        CertCommand::Add { cert, .. } => {
            let text = std::fs::read_to_string(cert)
                .with_context(|| format!("cannot read the certificate file {}", cert.display()))?;
            let certificate = registration::certificate_from_pem(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?;
            let x5t = *certificate.thumbprint();
            registration::add_certificate(&mut client, certificate, SystemClock.now())
                .map_err(|e| anyhow::anyhow!("cannot add the certificate: {e}"))?;
            save(store, &client).await?;
            audit::certificate_added(super::operator(), id, &x5t);
        }
        CertCommand::Retire { x5t, .. } => {
            let thumbprint = Thumbprint::from_base64url(x5t)
                .context("--x5t is not a base64url SHA-256 thumbprint")?;
            registration::retire_certificate(&mut client, &thumbprint)
                .map_err(|e| anyhow::anyhow!("cannot retire the certificate: {e}"))?;
            save(store, &client).await?;
            audit::certificate_retired(super::operator(), id, &thumbprint);
        }
    }
    print(&client, None, json_out);
    Ok(())
}

fn grant_type(g: GrantTypeArg) -> GrantType {
    match g {
        GrantTypeArg::ClientCredentials => GrantType::ClientCredentials,
        GrantTypeArg::AuthorizationCode => GrantType::AuthorizationCode,
        GrantTypeArg::RefreshToken => GrantType::RefreshToken,
    }
}

fn spec_from_args(args: CreateClient) -> Result<ClientSpec> {
    let auth_method = match args.auth_method {
        AuthMethodArg::TlsClientAuth => ClientAuthMethod::TlsClientAuth,
        AuthMethodArg::SelfSignedTlsClientAuth => ClientAuthMethod::SelfSignedTlsClientAuth,
        AuthMethodArg::ClientSecretBasic => ClientAuthMethod::ClientSecretBasic,
        AuthMethodArg::ClientSecretPost => ClientAuthMethod::ClientSecretPost,
        AuthMethodArg::None => ClientAuthMethod::None,
    };
    let mut certificates = Vec::new();
    for path in &args.cert {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the certificate file {}", path.display()))?;
        let certs = ClientCertificate::from_pem(&text)
            .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
        certificates.extend(certs);
    }
    let subject = if let Some(dn) = args.subject_dn {
        let dn = dn
            .parse::<DistinguishedName>()
            .context("--subject-dn is not an RFC 4514 DN")?;
        Some(SubjectMatch::SubjectDn(dn))
    } else if let Some(v) = args.san_dns {
        Some(SubjectMatch::SanDns(v))
    } else if let Some(v) = args.san_uri {
        Some(SubjectMatch::SanUri(v))
    } else if let Some(v) = args.san_ip {
        Some(SubjectMatch::SanIp(v))
    } else {
        args.san_email.map(SubjectMatch::SanEmail)
    };
    let grant_types = if args.grant_type.is_empty() {
        vec![GrantType::ClientCredentials]
    } else {
        args.grant_type.iter().map(|g| grant_type(*g)).collect()
    };
    let scopes = args
        .scope
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect();
    let access_token_format = args
        .access_token_format
        .as_deref()
        .map(|f| {
            f.parse::<TokenFormat>()
                .map_err(|_| anyhow::anyhow!("--access-token-format must be opaque or jwt"))
        })
        .transpose()?;
    Ok(ClientSpec {
        access_token_format,
        name: args.name,
        auth_method,
        certificates,
        subject,
        trust_store: args.trust_store,
        jwks_uri: args.jwks_uri,
        grant_types,
        redirect_uris: args.redirect_uri,
        scopes,
        bound_tokens: args.bound_tokens,
        access_token_lifetime: args.access_token_lifetime,
        can_introspect: args.introspect,
    })
}

/// The client's registration metadata, with RFC 7591 / RFC 8705 member names.
fn describe(c: &Client, secret: Option<&Secret>) -> Value {
    let mut v = json!({
        "client_id": c.client_id,
        "client_name": c.name,
        "token_endpoint_auth_method": c.auth_method.as_str(),
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "redirect_uris": c.redirect_uris,
        "scope": c.scopes.join(" "),
        "tls_client_certificate_bound_access_tokens": c.bound_tokens || c.auth_method.is_mtls(),
        "access_token_lifetime": c.access_token_lifetime,
        "access_token_format": c.access_token_format.map(TokenFormat::as_str),
        "introspection_allowed": c.can_introspect,
        "created_at": c.created_at,
        "certificates": c.certificates.iter().map(|r| json!({
            "x5t#S256": r.thumbprint().to_base64url(),
            "subject": r.certificate.subject_dn().to_rfc4514(),
            "not_after": r.certificate.not_after(),
        })).collect::<Vec<_>>(),
    });
    if let (Some(subject), Some(obj)) = (&c.subject, v.as_object_mut()) {
        obj.insert(
            subject.metadata_name().to_owned(),
            Value::String(subject.value_string()),
        );
    }
    if let (Some(secret), Some(obj)) = (secret, v.as_object_mut()) {
        obj.insert(
            "client_secret".to_owned(),
            Value::String(secret.expose().to_owned()),
        );
    }
    v
}

fn print(c: &Client, secret: Option<&Secret>, json_out: bool) {
    if json_out {
        println!("{}", describe(c, secret));
        return;
    }
    println!("client_id:   {}", c.client_id);
    println!("name:        {}", c.name);
    println!("auth method: {}", c.auth_method);
    if let Some(s) = &c.subject {
        println!("{}: {}", s.metadata_name(), s.value_string());
    }
    for r in &c.certificates {
        println!(
            "certificate: x5t#S256={} subject={}",
            r.thumbprint(),
            r.certificate.subject_dn().to_rfc4514()
        );
    }
    if let Some(secret) = secret {
        println!(
            "client_secret: {} (shown once; store it now)",
            secret.expose()
        );
    }
}
