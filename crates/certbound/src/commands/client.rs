//! `certbound client create|list|show|delete`.

use crate::cli::{AuthMethodArg, ClientCommand, CreateClient, GrantTypeArg};
use crate::config::Config;
use crate::serve::open_store;
use anyhow::{Context, Result, bail};
use certbound_core::model::{Client, ClientAuthMethod, GrantType, TokenFormat};
use certbound_core::registration::{ClientSpec, build_client};
use certbound_core::secret::Secret;
use certbound_core::{Clock, OsRandom, SystemClock};
use certbound_mtls::{ClientCertificate, DistinguishedName, SubjectMatch};
use serde_json::{Value, json};

/// Runs a client command.
pub async fn run(config: &Config, command: ClientCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        ClientCommand::Create(args) => {
            let json_out = args.json;
            let spec = spec_from_args(*args)?;
            let (client, secret) = build_client(spec, &OsRandom, SystemClock.now())
                .map_err(|e| anyhow::anyhow!("invalid client: {e}"))?;
            store.insert_client(&client).await?;
            print(&client, secret.as_ref(), json_out);
        }
        ClientCommand::List { json: json_out } => {
            let clients = store.list_clients().await?;
            if json_out {
                let all: Vec<Value> = clients.iter().map(|c| describe(c, None)).collect();
                println!("{}", Value::Array(all));
            } else {
                for c in &clients {
                    println!("{}\t{}\t{}", c.client_id, c.auth_method, c.name);
                }
            }
        }
        ClientCommand::Show { id, json: json_out } => {
            let Some(client) = store.find_client(&id).await? else {
                bail!(
                    "no client with client_id {id:?}; `certbound client list` shows the registered ones"
                );
            };
            print(&client, None, json_out);
        }
        ClientCommand::Delete { id, json: json_out } => {
            if !store.delete_client(&id).await? {
                bail!(
                    "no client with client_id {id:?}; `certbound client list` shows the registered ones"
                );
            }
            if json_out {
                println!("{}", json!({ "deleted": id }));
            } else {
                println!("deleted client {id} and its tokens");
            }
        }
    }
    Ok(())
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
        args.grant_type
            .iter()
            .map(|g| match g {
                GrantTypeArg::ClientCredentials => GrantType::ClientCredentials,
                GrantTypeArg::AuthorizationCode => GrantType::AuthorizationCode,
                GrantTypeArg::RefreshToken => GrantType::RefreshToken,
            })
            .collect()
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
