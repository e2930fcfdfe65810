//! The console's askama page types (templates `console_*.html`) and the small view models they
//! show: rows of the service-provider list, certificate details with their expiry badge,
//! choices of the form's selects. Formatting only; no storage, no HTTP.

use super::ConsoleNav;
use super::forms::{ClientForm, SUBJECT_MEMBERS};
use askama::Template;
use certbound_core::model::{Client, ClientAuthMethod, GrantType, RegisteredCertificate};
use certbound_core::registration::FieldError;

/// The console sign-in page.
#[derive(Template)]
#[template(path = "console_login.html")]
pub struct LoginPage<'a> {
    /// CSRF token.
    pub csrf: &'a str,
    /// The username typed before, after a failure.
    pub username: &'a str,
    /// A message after a failure.
    pub error: Option<&'a str>,
}

/// Expiry state of a certificate, shown as a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Valid beyond the warning window.
    Fine,
    /// Expires within the warning window.
    Soon,
    /// Already expired.
    Expired,
}

impl Expiry {
    /// The state of a certificate expiring at `not_after`.
    pub fn of(not_after: i64, now: i64, window: i64) -> Self {
        if not_after < now {
            Expiry::Expired
        } else if not_after < now.saturating_add(window) {
            Expiry::Soon
        } else {
            Expiry::Fine
        }
    }
}

/// One registered certificate, as shown on the detail page.
pub struct CertView {
    /// Subject DN (RFC 4514).
    pub subject: String,
    /// Issuer DN (RFC 4514).
    pub issuer: String,
    /// notBefore, formatted.
    pub not_before: String,
    /// notAfter, formatted.
    pub not_after: String,
    /// `x5t#S256`.
    pub x5t: String,
    /// Registration time, formatted.
    pub added: String,
    /// Expiry badge.
    pub expiry: Expiry,
}

impl CertView {
    /// The view of a registered certificate at `now`.
    pub fn of(r: &RegisteredCertificate, now: i64, window: i64) -> Self {
        let c = &r.certificate;
        CertView {
            subject: c.subject_dn().to_rfc4514(),
            issuer: c.issuer_rfc4514(),
            not_before: date(c.not_before()),
            not_after: date(c.not_after()),
            x5t: c.thumbprint().to_base64url(),
            added: date(r.added_at),
            expiry: Expiry::of(c.not_after(), now, window),
        }
    }
}

/// One row of the service-provider list.
pub struct ClientRow {
    /// Name.
    pub name: String,
    /// client_id.
    pub client_id: String,
    /// Auth method.
    pub auth_method: &'static str,
    /// The certificate subject (earliest-expiring certificate), or the registered DN/SAN.
    pub subject: String,
    /// Earliest certificate expiry, formatted ("" when the client has no certificate).
    pub expires: String,
    /// Badge of that certificate.
    pub expiry: Expiry,
}

impl ClientRow {
    /// The row of a client at `now`.
    pub fn of(c: &Client, now: i64, window: i64) -> Self {
        let earliest = c
            .certificates
            .iter()
            .min_by_key(|r| r.certificate.not_after());
        let subject = match (earliest, &c.subject) {
            (Some(r), _) => r.certificate.subject_dn().to_rfc4514(),
            (None, Some(s)) => {
                let (member, value) = super::forms::subject_form_value(s);
                format!("{}: {value}", member_label(member))
            }
            (None, None) if c.jwks_uri.is_some() => "(published at its jwks_uri)".to_owned(),
            (None, None) => String::new(),
        };
        ClientRow {
            name: c.name.clone(),
            client_id: c.client_id.clone(),
            auth_method: c.auth_method.as_str(),
            subject,
            expires: earliest
                .map(|r| date(r.certificate.not_after()))
                .unwrap_or_default(),
            expiry: earliest
                .map(|r| Expiry::of(r.certificate.not_after(), now, window))
                .unwrap_or(Expiry::Fine),
        }
    }
}

/// An option of a select, or a checkbox.
pub struct Choice {
    /// Submitted value.
    pub value: &'static str,
    /// Label.
    pub label: &'static str,
    /// Selected / checked.
    pub on: bool,
}

/// Errors shown next to the form fields (one at a time: validation stops at the first).
#[derive(Default)]
pub struct FieldErrors {
    /// The field that failed (a `forms::form_field` name) and the message.
    pub field: Option<(&'static str, String)>,
    /// An error not tied to a field, shown above the form.
    pub general: Option<String>,
}

impl FieldErrors {
    /// Places a validation error next to its field.
    pub fn of(e: &FieldError) -> Self {
        match super::forms::form_field(&e.field) {
            Some(f) => FieldErrors {
                field: Some((f, e.message.clone())),
                general: None,
            },
            None => FieldErrors {
                field: None,
                general: Some(format!("{}: {}", e.field, e.message)),
            },
        }
    }

    /// The message for a field, if it is the one that failed.
    pub fn on(&self, field: &str) -> Option<&str> {
        match &self.field {
            Some((f, m)) if *f == field => Some(m.as_str()),
            _ => None,
        }
    }
}

/// The create and edit page.
#[derive(Template)]
#[template(path = "console_form.html")]
pub struct FormPage {
    /// Page header.
    pub nav: ConsoleNav,
    /// "Add service provider" or "Edit …".
    pub title: String,
    /// Where the form posts.
    pub action: String,
    /// Where "Cancel" goes.
    pub cancel: String,
    /// The values.
    pub form: ClientForm,
    /// Auth method options.
    pub methods: Vec<Choice>,
    /// DN/SAN member options.
    pub members: Vec<Choice>,
    /// Grant type checkboxes.
    pub grants: Vec<Choice>,
    /// Token format options.
    pub formats: Vec<Choice>,
    /// Validation errors.
    pub errors: FieldErrors,
}

impl FormPage {
    /// A form page for these values.
    pub fn new(
        nav: ConsoleNav,
        title: String,
        action: String,
        cancel: String,
        form: ClientForm,
    ) -> Self {
        let methods = ClientAuthMethod::ALL
            .iter()
            .map(|m| Choice {
                value: m.as_str(),
                label: m.as_str(),
                on: form.auth_method == m.as_str(),
            })
            .collect();
        let members = SUBJECT_MEMBERS
            .iter()
            .map(|(v, l)| Choice {
                value: v,
                label: l,
                on: form.subject_member == *v,
            })
            .collect();
        let grants = GrantType::ALL
            .iter()
            .map(|g| Choice {
                value: g.as_str(),
                label: g.as_str(),
                on: form.has_grant(g.as_str()),
            })
            .collect();
        let formats = [
            ("", "Server default"),
            ("opaque", "Opaque"),
            ("jwt", "JWT (RFC 9068)"),
        ]
        .into_iter()
        .map(|(value, label)| Choice {
            value,
            label,
            on: form.token_format == value,
        })
        .collect();
        FormPage {
            nav,
            title,
            action,
            cancel,
            form,
            methods,
            members,
            grants,
            formats,
            errors: FieldErrors::default(),
        }
    }
}

/// The service-provider list.
#[derive(Template)]
#[template(path = "console_list.html")]
pub struct ListPage {
    /// Page header.
    pub nav: ConsoleNav,
    /// The clients.
    pub rows: Vec<ClientRow>,
    /// A notice after an action.
    pub notice: Option<&'static str>,
    /// The warning window in days.
    pub window_days: i64,
    /// Whether this is the first page (no `?after=`).
    pub first: bool,
    /// The next page's address, when there is one.
    pub next: Option<String>,
}

/// The detail page of a service provider, with certificate rotation.
#[derive(Template)]
#[template(path = "console_detail.html")]
pub struct DetailPage {
    /// Page header.
    pub nav: ConsoleNav,
    /// The client.
    pub client: Client,
    /// Its registered DN/SAN, as "label: value".
    pub subject: Option<String>,
    /// Its certificates.
    pub certs: Vec<CertView>,
    /// Certificates can be added/retired here (self-signed, not jwks_uri).
    pub rotation: bool,
    /// Grant types, comma-separated.
    pub grants: String,
    /// A notice after an action.
    pub notice: Option<&'static str>,
    /// An error of the last certificate action.
    pub cert_error: Option<String>,
    /// The PEM typed into "add certificate", after an error.
    pub new_certificate: String,
    /// The warning window in days.
    pub window_days: i64,
}

/// After creation (or an edit that gave the client a secret): the client id and the secret,
/// shown this once.
#[derive(Template)]
#[template(path = "console_created.html")]
pub struct CreatedPage {
    /// Page header.
    pub nav: ConsoleNav,
    /// Heading.
    pub heading: &'static str,
    /// The client.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// The plaintext secret, for secret methods.
    pub secret: Option<String>,
    /// Its auth method.
    pub auth_method: &'static str,
}

/// Delete confirmation.
#[derive(Template)]
#[template(path = "console_delete.html")]
pub struct DeletePage {
    /// Page header.
    pub nav: ConsoleNav,
    /// The client.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// Set when the box was not ticked.
    pub error: Option<&'static str>,
}

/// A console message page (not found, and the like).
#[derive(Template)]
#[template(path = "console_message.html")]
pub struct MessagePage {
    /// Page header.
    pub nav: ConsoleNav,
    /// Heading.
    pub heading: &'static str,
    /// Text.
    pub message: String,
}

/// The label of a DN/SAN member.
pub fn member_label(member: &str) -> &'static str {
    SUBJECT_MEMBERS
        .iter()
        .find(|(v, _)| *v == member)
        .map_or("Subject", |(_, l)| *l)
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn date(t: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t) {
        Ok(d) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        ),
        Err(_) => t.to_string(),
    }
}
