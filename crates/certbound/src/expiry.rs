//! Registered client certificates close to expiry (rotation, issue 7): one log warning per
//! certificate at start and then daily, for those whose notAfter falls within
//! `[oauth.mutualtls] certificate_expiry_warning_days`, the same window as the console's
//! "expires soon" badge (`OAuthSettings::certificate_expiry_warning`).
//!
//! Reads clients from the store; it never changes them.

use crate::ops::metrics::ClientCertificates;
use certbound_core::model::Client;
use certbound_core::registration::certificates_expiring;
use certbound_core::store::{Store, StoreError, for_each_client_page};
use certbound_core::{Clock, SystemClock};
use std::sync::Arc;
use std::time::Duration;

const DAY: i64 = 86_400;

/// How far ahead certificate expiry is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryWindow {
    days: u32,
}

impl ExpiryWindow {
    /// A window of `days` days; 0 turns reporting off.
    pub fn days(days: u32) -> Self {
        ExpiryWindow { days }
    }

    /// The window in seconds (as `OAuthSettings::certificate_expiry_warning`).
    pub fn seconds(self) -> i64 {
        i64::from(self.days) * DAY
    }

    /// Whether reporting is on.
    pub fn is_enabled(self) -> bool {
        self.days > 0
    }
}

/// Logs one warning per certificate of `clients` expiring within `window`; returns how many.
pub fn report(clients: &[Client], now: i64, window: ExpiryWindow) -> usize {
    if !window.is_enabled() {
        return 0;
    }
    let expiring = certificates_expiring(clients, now, window.seconds());
    for (client, registered) in &expiring {
        let cert = &registered.certificate;
        let x5t = cert.thumbprint().to_base64url();
        let not_after = utc(cert.not_after());
        if cert.not_after() <= now {
            tracing::warn!(client_id = %client.client_id, x5t = %x5t, %not_after, "registered client certificate has expired: register its successor");
        } else {
            let days_left = (cert.not_after() - now) / DAY;
            tracing::warn!(client_id = %client.client_id, x5t = %x5t, %not_after, days_left, "registered client certificate expires soon: register its successor");
        }
    }
    expiring.len()
}

/// Goes over every registered client a page at a time (never all of them in memory): logs the
/// certificates expiring within `window` ([`report`]), updates the certificate metrics, and
/// hands each page to `also` (the start-up checks add theirs). Returns the number of clients.
pub async fn scan<F>(
    store: &dyn Store,
    now: i64,
    window: ExpiryWindow,
    mut also: F,
) -> Result<u64, StoreError>
where
    F: FnMut(&[Client]),
{
    let mut metrics = ClientCertificates::new(now, window.days);
    let clients = for_each_client_page(store, |page| {
        report(page, now, window);
        metrics.add(page);
        also(page);
    })
    .await?;
    metrics.publish();
    Ok(clients)
}

/// Reports every day from a day after now, in a background task (call inside the runtime;
/// the report at start is `serve`'s [`scan`], run beside serving).
pub fn spawn_daily(store: Arc<dyn Store>, window: ExpiryWindow) {
    if !window.is_enabled() {
        return;
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(DAY.unsigned_abs()));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if let Err(e) = scan(&*store, SystemClock.now(), window, |_| {}).await {
                tracing::warn!(error = %e, "certificate expiry report: cannot list clients");
            }
        }
    });
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn utc(unix: i64) -> String {
    crate::logging::clock::utc_second(unix).map_or_else(|| unix.to_string(), |t| t + "Z")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn window_in_seconds_and_empty_report() {
        let now = 1_800_000_000;
        let w = ExpiryWindow::days(30);
        assert_eq!(w.seconds(), 30 * DAY);
        assert_eq!(report(&[], now, w), 0);
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
    }
}
