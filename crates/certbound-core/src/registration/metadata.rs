//! Client metadata as JSON (RFC 7591 §2, with the RFC 8705 §2.1.2, §2.2 and §3.4 members): the
//! one representation the admin API, dynamic registration (RFC 7591/7592) and the console
//! share. Parsing names the offending member in every error; it never touches storage.

use super::{ClientSpec, FieldError, field};
use crate::model::{Client, ClientAuthMethod, GrantType, TokenFormat};
use base64::Engine as _;
use certbound_mtls::{ClientCertificate, DistinguishedName, SubjectMatch};
use serde_json::{Map, Value, json};

/// Who is registering: an administrator may set certbound's own members (introspection,
/// lifetimes, the trust store, PEM certificates) and gets an error for members it does not
/// know; a client registering itself (RFC 7591 §2: "the authorization server MUST ignore any
/// client metadata sent by the client that it does not understand") gets them ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrar {
    /// The admin API and the console.
    Admin,
    /// RFC 7591 dynamic registration.
    SelfService,
}

/// The five RFC 8705 §2.1.2 subject members, exactly one of which a `tls_client_auth` client
/// registers.
const SUBJECT_MEMBERS: [&str; 5] = [
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
];

/// RFC 7591 members (and those of RFC 8705) certbound understands.
const STANDARD: [&str; 15] = [
    "client_name",
    "token_endpoint_auth_method",
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
    "jwks",
    "jwks_uri",
    "tls_client_certificate_bound_access_tokens",
    "redirect_uris",
    "grant_types",
    "response_types",
    "scope",
    "client_id",
];

/// certbound's own members, for administrators only.
const EXTENSIONS: [&str; 5] = [
    "certificates",
    "trust_store",
    "access_token_lifetime",
    "access_token_format",
    "introspection_allowed",
];

/// Read-only members a client may send back unchanged (RFC 7592 §2.2 updates echo them).
const READ_ONLY: [&str; 6] = [
    "client_secret",
    "client_secret_expires_at",
    "client_id_issued_at",
    "registration_access_token",
    "registration_client_uri",
    "certificate_details",
];

/// Largest accepted `jwks` value, serialized.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Parsed client metadata.
#[derive(Debug, Clone)]
pub struct ClientMetadata(Map<String, Value>);

impl ClientMetadata {
    /// Takes a JSON document; it must be an object.
    pub fn from_json(value: Value) -> Result<ClientMetadata, FieldError> {
        match value {
            Value::Object(map) => Ok(ClientMetadata(map)),
            _ => Err(field("body", "the client metadata must be a JSON object")),
        }
    }

    /// Validates the metadata into a [`ClientSpec`] (RFC 7591 §2 defaults apply:
    /// `client_secret_basic`, `["authorization_code"]`, `["code"]`).
    pub fn to_spec(&self, registrar: Registrar) -> Result<ClientSpec, FieldError> {
        if registrar == Registrar::Admin
            && let Some(unknown) = self.0.keys().find(|k| {
                !STANDARD.contains(&k.as_str())
                    && !EXTENSIONS.contains(&k.as_str())
                    && !READ_ONLY.contains(&k.as_str())
            })
        {
            return Err(field(unknown.clone(), "unknown client metadata member"));
        }
        let method = match self.string("token_endpoint_auth_method")? {
            None => ClientAuthMethod::ClientSecretBasic,
            Some(m) => m.parse().map_err(|_| {
                field(
                    "token_endpoint_auth_method",
                    "must be one of tls_client_auth, self_signed_tls_client_auth, client_secret_basic, client_secret_post, none",
                )
            })?,
        };
        let name = self.string("client_name")?.unwrap_or_default();
        let mut spec = ClientSpec::new(
            if name.is_empty() {
                "unnamed client".to_owned()
            } else {
                name
            },
            method,
        );
        spec.subject = self.subject(method)?;
        spec.jwks_uri = self.string("jwks_uri")?;
        spec.certificates = self.certificates(registrar)?;
        spec.grant_types = self.grant_types()?;
        spec.redirect_uris = self.strings("redirect_uris")?.unwrap_or_default();
        spec.scopes = self
            .string("scope")?
            .map(|s| {
                s.split(' ')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        spec.bound_tokens = self
            .bool("tls_client_certificate_bound_access_tokens")?
            .unwrap_or(false);
        if registrar == Registrar::Admin {
            self.admin_extensions(&mut spec)?;
        }
        Ok(spec)
    }

    /// The metadata of a registered client (RFC 7591 §3.2.1 response members, with certbound's
    /// own members and, per certificate, its details).
    pub fn of(client: &Client) -> Value {
        let mut v = json!({
            "client_id": client.client_id,
            "client_id_issued_at": client.created_at,
            "client_name": client.name,
            "token_endpoint_auth_method": client.auth_method.as_str(),
            "grant_types": client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "response_types": if client.grant_types.contains(&GrantType::AuthorizationCode) { vec!["code"] } else { vec![] },
            "redirect_uris": client.redirect_uris,
            "scope": client.scopes.join(" "),
            "tls_client_certificate_bound_access_tokens": client.bound_tokens || client.auth_method.is_mtls(),
            "access_token_lifetime": client.access_token_lifetime,
            "access_token_format": client.access_token_format.map(TokenFormat::as_str),
            "introspection_allowed": client.can_introspect,
        });
        let Value::Object(map) = &mut v else {
            return v;
        };
        if let Some(subject) = &client.subject {
            let (member, value) = subject_member(subject);
            map.insert(member.to_owned(), Value::String(value));
        }
        if let Some(store) = &client.trust_store {
            map.insert("trust_store".into(), Value::String(store.clone()));
        }
        if let Some(uri) = &client.jwks_uri {
            map.insert("jwks_uri".into(), Value::String(uri.clone()));
        }
        if !client.certificates.is_empty() {
            let keys: Vec<Value> = client
                .certificates
                .iter()
                .map(|r| jwk_of(&r.certificate))
                .collect();
            map.insert("jwks".into(), json!({ "keys": keys }));
            let details: Vec<Value> = client
                .certificates
                .iter()
                .map(|r| {
                    json!({
                        "x5t#S256": r.thumbprint().to_base64url(),
                        "subject": r.certificate.subject_dn().to_rfc4514(),
                        "issuer": r.certificate.issuer_rfc4514(),
                        "not_before": r.certificate.not_before(),
                        "not_after": r.certificate.not_after(),
                        "added_at": r.added_at,
                    })
                })
                .collect();
            map.insert("certificate_details".into(), Value::Array(details));
        }
        v
    }

    /// A member's value, when present and not null (RFC 7592 §2.2 checks of `client_id` and
    /// `client_secret`).
    pub fn member(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &'static str) -> Result<Option<String>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(field(name, "must be a string")),
        }
    }

    fn bool(&self, name: &'static str) -> Result<Option<bool>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(field(name, "must be true or false")),
        }
    }

    fn strings(&self, name: &'static str) -> Result<Option<Vec<String>>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) if items.len() <= 100 => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(field(name, "must be an array of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(field(name, "must be an array of at most 100 strings")),
        }
    }

    /// RFC 8705 §2.1.2: a `tls_client_auth` client registers exactly one subject member; no
    /// other method registers any.
    fn subject(&self, method: ClientAuthMethod) -> Result<Option<SubjectMatch>, FieldError> {
        let present: Vec<&str> = SUBJECT_MEMBERS
            .into_iter()
            .filter(|m| self.get(m).is_some())
            .collect();
        if method != ClientAuthMethod::TlsClientAuth {
            return match present.first() {
                Some(m) => Err(field(
                    *m,
                    "subject members are only used with tls_client_auth",
                )),
                None => Ok(None),
            };
        }
        let [member] = present.as_slice() else {
            return Err(field(
                present
                    .get(1)
                    .copied()
                    .unwrap_or("tls_client_auth_subject_dn"),
                "tls_client_auth needs exactly one of tls_client_auth_subject_dn, tls_client_auth_san_dns, tls_client_auth_san_uri, tls_client_auth_san_ip, tls_client_auth_san_email (RFC 8705 §2.1.2)",
            ));
        };
        let member = *member;
        let value = self.string(member)?.unwrap_or_default();
        if value.trim().is_empty() || value.len() > 1000 {
            return Err(field(
                member,
                "must be a non-empty string of at most 1000 characters",
            ));
        }
        let parsed = match member {
            "tls_client_auth_subject_dn" => SubjectMatch::SubjectDn(
                DistinguishedName::parse_rfc4514(&value)
                    .map_err(|_| field(member, "is not an RFC 4514 distinguished name"))?,
            ),
            "tls_client_auth_san_dns" => SubjectMatch::SanDns(value),
            "tls_client_auth_san_uri" => SubjectMatch::SanUri(value),
            "tls_client_auth_san_ip" => SubjectMatch::SanIp(
                value
                    .parse()
                    .map_err(|_| field(member, "is not an IPv4 or IPv6 address"))?,
            ),
            _ => SubjectMatch::SanEmail(value),
        };
        Ok(Some(parsed))
    }

    /// RFC 8705 §2.2: certificates come as the `x5c` of a `jwks`; administrators may also
    /// paste PEM (`certificates`), as in the console's "Application Certificate" field.
    fn certificates(&self, registrar: Registrar) -> Result<Vec<ClientCertificate>, FieldError> {
        let mut out = match self.get("jwks") {
            Some(jwks) => certificates_of_jwks(jwks)?,
            None => vec![],
        };
        if registrar == Registrar::Admin
            && let Some(pems) = self.strings("certificates")?
        {
            if !out.is_empty() {
                return Err(field("certificates", "give certificates or jwks, not both"));
            }
            for pem in pems {
                out.extend(ClientCertificate::from_pem(&pem).map_err(|_| {
                        field(
                            "certificates",
                            "is not a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
                        )
                    })?);
            }
        }
        Ok(out)
    }

    /// RFC 7591 §2.1: grant_types and response_types must be consistent; only `code` is a
    /// response type here.
    fn grant_types(&self) -> Result<Vec<GrantType>, FieldError> {
        let grants = match self.strings("grant_types")? {
            None => vec![GrantType::AuthorizationCode],
            Some(names) => {
                let mut out = Vec::new();
                for n in names {
                    let g: GrantType = n.parse().map_err(|_| {
                        field(
                            "grant_types",
                            "supported grant types are client_credentials, authorization_code and refresh_token",
                        )
                    })?;
                    if !out.contains(&g) {
                        out.push(g);
                    }
                }
                out
            }
        };
        let code = grants.contains(&GrantType::AuthorizationCode);
        match self.strings("response_types")? {
            None => {}
            Some(types) if types.iter().any(|t| t != "code") => {
                return Err(field(
                    "response_types",
                    "the only supported response type is code",
                ));
            }
            Some(types) if types.is_empty() == code => {
                return Err(field(
                    "response_types",
                    "response type code goes with the authorization_code grant type and only with it (RFC 7591 §2.1)",
                ));
            }
            Some(_) => {}
        }
        Ok(grants)
    }

    fn admin_extensions(&self, spec: &mut ClientSpec) -> Result<(), FieldError> {
        spec.trust_store = self.string("trust_store")?;
        spec.can_introspect = self.bool("introspection_allowed")?.unwrap_or(false);
        spec.access_token_lifetime = match self.get("access_token_lifetime") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| (1..=31_536_000).contains(n))
                    .ok_or_else(|| {
                        field(
                            "access_token_lifetime",
                            "must be a whole number of seconds from 1 to 31536000",
                        )
                    })?,
            ),
        };
        spec.access_token_format = self
            .string("access_token_format")?
            .map(|f| {
                f.parse::<TokenFormat>()
                    .map_err(|_| field("access_token_format", "must be opaque or jwt"))
            })
            .transpose()?;
        Ok(())
    }
}

/// The registered member and value of a subject match.
fn subject_member(subject: &SubjectMatch) -> (&'static str, String) {
    match subject {
        SubjectMatch::SubjectDn(dn) => (SUBJECT_MEMBERS[0], dn.to_rfc4514()),
        SubjectMatch::SanDns(v) => (SUBJECT_MEMBERS[1], v.clone()),
        SubjectMatch::SanUri(v) => (SUBJECT_MEMBERS[2], v.clone()),
        SubjectMatch::SanIp(ip) => (SUBJECT_MEMBERS[3], ip.to_string()),
        SubjectMatch::SanEmail(v) => (SUBJECT_MEMBERS[4], v.clone()),
    }
}

/// The certificates of a JWK set: the first `x5c` entry of every key (RFC 7517 §4.7: standard
/// base64 DER, the key's own certificate first). Every key must carry one. Used for `jwks` at
/// registration and for the key sets fetched from a `jwks_uri`.
pub fn certificates_of_jwks(jwks: &Value) -> Result<Vec<ClientCertificate>, FieldError> {
    if jwks.to_string().len() > MAX_JWKS_BYTES {
        return Err(field("jwks", "is larger than 64 KiB"));
    }
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| field("jwks", "must be a JWK set: an object with a keys array"))?;
    if keys.is_empty() {
        return Err(field("jwks", "has no keys"));
    }
    keys.iter()
        .map(|key| {
            let first = key
                .get("x5c")
                .and_then(Value::as_array)
                .and_then(|c| c.first())
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    field(
                        "jwks",
                        "every key needs an x5c member with its certificate (RFC 8705 §2.2)",
                    )
                })?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(first)
                .map_err(|_| {
                    field(
                        "jwks",
                        "x5c entries are standard base64 DER (RFC 7517 §4.7)",
                    )
                })?;
            let cert = ClientCertificate::from_der(der)
                .map_err(|_| field("jwks", "an x5c entry is not an X.509 certificate"))?;
            if let Some(x5t) = key.get("x5t#S256").and_then(Value::as_str)
                && x5t != cert.thumbprint().to_base64url()
            {
                return Err(field(
                    "jwks",
                    "a key's x5t#S256 does not match its x5c certificate",
                ));
            }
            Ok(cert)
        })
        .collect()
}

/// A registered certificate as a JWK with `x5c` and `x5t#S256`.
fn jwk_of(cert: &ClientCertificate) -> Value {
    let mut key = Map::new();
    if let Some(jwk) = cert.public_jwk() {
        key.insert("kty".into(), Value::String(jwk.kty.to_owned()));
        for (k, v) in jwk.params {
            key.insert(k.into(), Value::String(v));
        }
    }
    key.insert(
        "x5c".into(),
        json!([base64::engine::general_purpose::STANDARD.encode(cert.der())]),
    );
    key.insert(
        "x5t#S256".into(),
        Value::String(cert.thumbprint().to_base64url()),
    );
    Value::Object(key)
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
