//! The service-provider form of the console: its raw values (kept as typed, so a form that
//! fails validation is shown again as entered), their translation into RFC 7591/8705 client
//! metadata for `ClientMetadata::to_spec` (the one validator the API and registration share),
//! and the mapping of a metadata member back to the form field that shows its error. No
//! storage and no HTTP here.

use crate::http::extract::FormPairs;
use certbound_core::model::{Client, ClientAuthMethod, GrantType};
use certbound_core::registration::FieldError;
use certbound_mtls::{ClientCertificate, SubjectAltName, SubjectMatch};
use serde_json::{Map, Value, json};

/// The DN/SAN members a `tls_client_auth` client may be matched by (RFC 8705 §2.1.2), as
/// `(form value, label)`; the metadata member is `tls_client_auth_<value>`.
pub const SUBJECT_MEMBERS: [(&str, &str); 5] = [
    ("subject_dn", "Subject DN"),
    ("san_dns", "SAN DNS name"),
    ("san_uri", "SAN URI"),
    ("san_ip", "SAN IP address"),
    ("san_email", "SAN email"),
];

/// Fields of the form that can be repeated.
pub const REPEATABLE: [&str; 1] = ["grant_type"];

/// What the administrator typed.
#[derive(Debug, Clone, Default)]
pub struct ClientForm {
    /// Service provider name (`client_name`).
    pub name: String,
    /// "Application Certificate": one or more PEM blocks.
    pub certificate: String,
    /// Callback URLs, one per line (`redirect_uris`).
    pub redirect_uris: String,
    /// `token_endpoint_auth_method`.
    pub auth_method: String,
    /// Which DN/SAN member, for `tls_client_auth` (a [`SUBJECT_MEMBERS`] value).
    pub subject_member: String,
    /// Its value.
    pub subject_value: String,
    /// Trust store name (`tls_client_auth`, optional).
    pub trust_store: String,
    /// `jwks_uri` (`self_signed_tls_client_auth`, instead of a pasted certificate).
    pub jwks_uri: String,
    /// Checked grant types.
    pub grant_types: Vec<String>,
    /// Space-separated scopes.
    pub scope: String,
    /// "" (server default), "opaque" or "jwt".
    pub token_format: String,
    /// Access token lifetime in seconds; "" for the server default.
    pub lifetime: String,
    /// `tls_client_certificate_bound_access_tokens`.
    pub bound_tokens: bool,
    /// May call introspection.
    pub introspection: bool,
}

impl ClientForm {
    /// The form of a new service provider: the reference's flow (a pasted self-signed
    /// certificate, a callback URL, code and client_credentials grants).
    pub fn blank() -> Self {
        ClientForm {
            auth_method: ClientAuthMethod::SelfSignedTlsClientAuth
                .as_str()
                .to_owned(),
            subject_member: "subject_dn".to_owned(),
            grant_types: GrantType::ALL
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            bound_tokens: true,
            ..ClientForm::default()
        }
    }

    /// The submitted form.
    pub fn from_pairs(form: &FormPairs) -> Self {
        let text = |k: &str| form.get(k).unwrap_or_default().to_owned();
        ClientForm {
            name: text("name"),
            certificate: text("certificate"),
            redirect_uris: text("redirect_uris"),
            auth_method: text("auth_method"),
            subject_member: text("subject_member"),
            subject_value: text("subject_value"),
            trust_store: text("trust_store"),
            jwks_uri: text("jwks_uri"),
            grant_types: form.all("grant_type"),
            scope: text("scope"),
            token_format: text("token_format"),
            lifetime: text("lifetime"),
            bound_tokens: form.get("bound_tokens").is_some(),
            introspection: form.get("introspection").is_some(),
        }
    }

    /// The form of a registered client, for its edit page (certificates as PEM).
    pub fn of(client: &Client) -> Self {
        let (member, value) = match &client.subject {
            Some(s) => subject_form_value(s),
            None => ("subject_dn", String::new()),
        };
        ClientForm {
            name: client.name.clone(),
            certificate: client
                .certificates
                .iter()
                .map(|r| r.certificate.to_pem())
                .collect::<Vec<_>>()
                .join(""),
            redirect_uris: client.redirect_uris.join("\n"),
            auth_method: client.auth_method.as_str().to_owned(),
            subject_member: member.to_owned(),
            subject_value: value,
            trust_store: client.trust_store.clone().unwrap_or_default(),
            jwks_uri: client.jwks_uri.clone().unwrap_or_default(),
            grant_types: client
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scope: client.scopes.join(" "),
            token_format: client
                .access_token_format
                .map(|f| f.as_str().to_owned())
                .unwrap_or_default(),
            lifetime: client
                .access_token_lifetime
                .map(|l| l.to_string())
                .unwrap_or_default(),
            bound_tokens: client.bound_tokens,
            introspection: client.can_introspect,
        }
    }

    /// Whether a grant type is checked.
    pub fn has_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// The client metadata this form asks for (admin members included). The pasted PEM is
    /// parsed here so a bad one is reported on its field whatever the method. For
    /// `tls_client_auth` the certificate is not registered (such clients are matched by
    /// subject and CA); when the subject value is left empty it is taken from the certificate
    /// (the subject DN, or the first SAN of the chosen kind).
    pub fn to_metadata(&self) -> Result<Value, FieldError> {
        let method = self.auth_method.as_str();
        let mut m = Map::new();
        m.insert("client_name".into(), json!(self.name.trim()));
        m.insert("token_endpoint_auth_method".into(), json!(method));
        let uris: Vec<&str> = self
            .redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        m.insert("redirect_uris".into(), json!(uris));
        m.insert("grant_types".into(), json!(self.grant_types));
        let pem = self.certificate.trim();
        let certificates = if pem.is_empty() {
            vec![]
        } else {
            ClientCertificate::from_pem(pem).map_err(|_| {
                error(
                    "certificates",
                    "is not a PEM certificate: paste the whole -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE----- block",
                )
            })?
        };
        if method == ClientAuthMethod::TlsClientAuth.as_str() {
            self.insert_subject(&mut m, certificates.first())?;
        } else if !pem.is_empty() {
            m.insert("certificates".into(), json!([pem]));
        }
        let optional = [
            ("scope", &self.scope),
            ("trust_store", &self.trust_store),
            ("jwks_uri", &self.jwks_uri),
            ("access_token_format", &self.token_format),
        ];
        for (member, value) in optional {
            if !value.trim().is_empty() {
                m.insert(member.into(), json!(value.trim()));
            }
        }
        if !self.lifetime.trim().is_empty() {
            let seconds: u64 = self.lifetime.trim().parse().map_err(|_| {
                error(
                    "access_token_lifetime",
                    "must be a whole number of seconds from 1 to 31536000",
                )
            })?;
            m.insert("access_token_lifetime".into(), json!(seconds));
        }
        m.insert(
            "tls_client_certificate_bound_access_tokens".into(),
            json!(self.bound_tokens),
        );
        m.insert("introspection_allowed".into(), json!(self.introspection));
        Ok(Value::Object(m))
    }

    fn insert_subject(
        &self,
        m: &mut Map<String, Value>,
        certificate: Option<&ClientCertificate>,
    ) -> Result<(), FieldError> {
        let member = self.subject_member.as_str();
        if !SUBJECT_MEMBERS.iter().any(|(v, _)| *v == member) {
            return Err(error(
                "tls_client_auth_subject_dn",
                "choose which subject DN or SAN value identifies the client",
            ));
        }
        let typed = self.subject_value.trim();
        let value = match (typed.is_empty(), certificate) {
            (false, _) => typed.to_owned(),
            (true, Some(cert)) => derive_subject(cert, member).ok_or_else(|| {
                error(
                    &format!("tls_client_auth_{member}"),
                    "the pasted certificate has no value of this kind; type the value",
                )
            })?,
            (true, None) => return Ok(()),
        };
        m.insert(format!("tls_client_auth_{member}"), json!(value));
        Ok(())
    }
}

/// The value of a DN/SAN member as found in a certificate.
pub fn derive_subject(cert: &ClientCertificate, member: &str) -> Option<String> {
    if member == "subject_dn" {
        return Some(cert.subject_dn().to_rfc4514()).filter(|d| !d.is_empty());
    }
    cert.subject_alt_names()
        .iter()
        .find_map(|san| match (member, san) {
            ("san_dns", SubjectAltName::Dns(v))
            | ("san_uri", SubjectAltName::Uri(v))
            | ("san_email", SubjectAltName::Email(v)) => Some(v.clone()),
            ("san_ip", SubjectAltName::Ip(_)) => san.ip_addr().map(|ip| ip.to_string()),
            _ => None,
        })
}

/// The form member and value of a registered subject match.
pub fn subject_form_value(subject: &SubjectMatch) -> (&'static str, String) {
    match subject {
        SubjectMatch::SubjectDn(dn) => ("subject_dn", dn.to_rfc4514()),
        SubjectMatch::SanDns(v) => ("san_dns", v.clone()),
        SubjectMatch::SanUri(v) => ("san_uri", v.clone()),
        SubjectMatch::SanIp(ip) => ("san_ip", ip.to_string()),
        SubjectMatch::SanEmail(v) => ("san_email", v.clone()),
    }
}

/// The form field that shows an error about a metadata member; `None`: shown above the form.
pub fn form_field(member: &str) -> Option<&'static str> {
    Some(match member {
        "client_name" => "name",
        "certificates" | "jwks" | "certificate" => "certificate",
        "redirect_uris" => "redirect_uris",
        "token_endpoint_auth_method" => "auth_method",
        m if m.starts_with("tls_client_auth_") => "subject",
        "trust_store" => "trust_store",
        "jwks_uri" => "jwks_uri",
        "grant_types" | "response_types" => "grant_types",
        "scope" => "scope",
        "access_token_format" => "token_format",
        "access_token_lifetime" => "lifetime",
        "introspection" | "introspection_allowed" => "introspection",
        _ => return None,
    })
}

fn error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use certbound_core::registration::{ClientMetadata, Registrar};

    fn cert_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["app.example".into()]).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "playground2");
        p.self_signed(&key).unwrap().pem()
    }

    fn spec_of(form: &ClientForm) -> Result<certbound_core::registration::ClientSpec, FieldError> {
        ClientMetadata::from_json(form.to_metadata()?)?.to_spec(Registrar::Admin)
    }

    #[test]
    fn a_pasted_certificate_registers_a_self_signed_client() {
        let mut f = ClientForm::blank();
        f.name = "playground2".into();
        f.certificate = cert_pem();
        f.redirect_uris = "http://localhost:8080/playground2/oauth2client\n".into();
        let spec = spec_of(&f).unwrap();
        assert_eq!(spec.certificates.len(), 1);
        assert_eq!(spec.redirect_uris.len(), 1);
    }

    #[test]
    fn tls_client_auth_takes_the_subject_from_the_certificate_when_left_empty() {
        let mut f = ClientForm::blank();
        f.auth_method = "tls_client_auth".into();
        f.certificate = cert_pem();
        f.grant_types = vec!["client_credentials".into()];
        let spec = spec_of(&f).unwrap();
        assert!(
            spec.certificates.is_empty(),
            "not registered for PKI clients"
        );
        let (member, value) = subject_form_value(spec.subject.as_ref().unwrap());
        assert_eq!((member, value.as_str()), ("subject_dn", "CN=playground2"));
        f.subject_member = "san_dns".into();
        let (_, value) = subject_form_value(spec_of(&f).unwrap().subject.as_ref().unwrap());
        assert_eq!(value, "app.example");
        f.subject_member = "san_email".into();
        let e = spec_of(&f).unwrap_err();
        assert_eq!(form_field(&e.field), Some("subject"));
    }

    #[test]
    fn errors_land_on_their_fields() {
        let mut f = ClientForm::blank();
        f.certificate = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----".into();
        assert_eq!(
            form_field(&spec_of(&f).unwrap_err().field),
            Some("certificate")
        );
        f.certificate = String::new();
        f.lifetime = "soon".into();
        assert_eq!(
            form_field(&spec_of(&f).unwrap_err().field),
            Some("lifetime")
        );
    }
}
