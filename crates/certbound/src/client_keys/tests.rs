//! Cache, rate limit, single-flight and stale rules of [`JwksUriKeys`], with a fake fetcher and
//! a fake clock (no network, no sleeping).

#![allow(clippy::unwrap_used)]

use super::*;
use std::sync::atomic::AtomicU64;

const URI: &str = "https://client.example/jwks";

#[derive(Default)]
struct Fake {
    answer: Mutex<Option<Result<Vec<Thumbprint>, KeySourceError>>>,
    calls: AtomicU64,
    delay: Duration,
}

#[async_trait]
impl Fetch for Arc<Fake> {
    async fn fetch(&self, _uri: &str) -> Result<Vec<Thumbprint>, KeySourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.answer.lock().unwrap().clone().unwrap()
    }
}

impl Fake {
    fn serve(&self, answer: Result<Vec<Thumbprint>, KeySourceError>) {
        *self.answer.lock().unwrap() = Some(answer);
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

struct Setup {
    keys: Arc<JwksUriKeys>,
    fake: Arc<Fake>,
    millis: Arc<AtomicU64>,
}

impl Setup {
    fn new(delay: Duration) -> Setup {
        let fake = Arc::new(Fake {
            delay,
            ..Fake::default()
        });
        let millis = Arc::new(AtomicU64::new(0));
        let base = Instant::now();
        let clock = millis.clone();
        let now: Now = Arc::new(move || base + Duration::from_millis(clock.load(Ordering::SeqCst)));
        let config = JwksUriConfig::default();
        let keys = Arc::new(JwksUriKeys::with(Box::new(fake.clone()), &config, now));
        Setup { keys, fake, millis }
    }
    fn advance(&self, secs: u64) {
        self.millis.fetch_add(secs * 1000, Ordering::SeqCst);
    }
    async fn get(&self, presented: &Thumbprint) -> Result<Vec<Thumbprint>, KeySourceError> {
        self.keys.thumbprints(URI, presented).await
    }
}

fn t(name: &str) -> Thumbprint {
    Thumbprint::of_der(name.as_bytes())
}

fn fetch_failed() -> KeySourceError {
    KeySourceError::Fetch("connection refused".into())
}

#[tokio::test]
async fn a_fresh_set_is_used_without_fetching() {
    let s = Setup::new(Duration::ZERO);
    s.fake.serve(Ok(vec![t("a")]));
    assert_eq!(s.get(&t("a")).await.unwrap(), vec![t("a")]);
    s.advance(299);
    assert_eq!(s.get(&t("a")).await.unwrap(), vec![t("a")]);
    assert_eq!(s.fake.calls(), 1);
    s.advance(1);
    s.get(&t("a")).await.unwrap();
    assert_eq!(s.fake.calls(), 2, "refetched after the 300 s TTL");
}

#[tokio::test]
async fn an_unknown_certificate_refetches_once_per_interval() {
    let s = Setup::new(Duration::ZERO);
    s.fake.serve(Ok(vec![t("a")]));
    s.get(&t("a")).await.unwrap();
    s.advance(10);
    s.fake.serve(Ok(vec![t("b")]));
    // Rotation: b is found by the refetch, a is then gone.
    assert_eq!(s.get(&t("b")).await.unwrap(), vec![t("b")]);
    assert_eq!(s.get(&t("a")).await.unwrap(), vec![t("b")]);
    assert_eq!(s.get(&t("c")).await.unwrap(), vec![t("b")]);
    assert_eq!(
        s.fake.calls(),
        2,
        "a and c within the interval do not refetch"
    );
    s.advance(9);
    s.get(&t("c")).await.unwrap();
    assert_eq!(s.fake.calls(), 2);
    s.advance(1);
    s.get(&t("c")).await.unwrap();
    assert_eq!(s.fake.calls(), 3);
}

#[tokio::test]
async fn concurrent_requests_share_one_fetch() {
    let s = Setup::new(Duration::from_millis(200));
    s.fake.serve(Ok(vec![t("a")]));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let keys = s.keys.clone();
            let presented = if i % 2 == 0 { t("a") } else { t("x") };
            tokio::spawn(async move { keys.thumbprints(URI, &presented).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), vec![t("a")]);
    }
    assert_eq!(s.fake.calls(), 1);
}

#[tokio::test]
async fn failures_are_rate_limited_too() {
    let s = Setup::new(Duration::ZERO);
    s.fake.serve(Err(fetch_failed()));
    assert!(matches!(
        s.get(&t("a")).await,
        Err(KeySourceError::Fetch(_))
    ));
    assert!(matches!(
        s.get(&t("a")).await,
        Err(KeySourceError::Fetch(_))
    ));
    assert_eq!(s.fake.calls(), 1);
    s.advance(10);
    s.fake.serve(Ok(vec![t("a")]));
    s.get(&t("a")).await.unwrap();
    assert_eq!(s.fake.calls(), 2);
}

#[tokio::test]
async fn a_stale_set_accepts_its_certificates_while_fetching_fails() {
    let s = Setup::new(Duration::ZERO);
    s.fake.serve(Ok(vec![t("a")]));
    s.get(&t("a")).await.unwrap();
    s.advance(300);
    s.fake.serve(Err(fetch_failed()));
    assert_eq!(
        s.get(&t("a")).await.unwrap(),
        vec![t("a")],
        "stale-if-error"
    );
    assert!(
        s.get(&t("b")).await.is_err(),
        "an unknown certificate is not accepted"
    );
    s.advance(3600);
    assert!(s.get(&t("a")).await.is_err(), "past stale_if_error");
    assert_eq!(s.fake.calls(), 3);
}

#[tokio::test]
async fn a_failed_refetch_for_an_unknown_certificate_reports_the_failure() {
    let s = Setup::new(Duration::ZERO);
    s.fake.serve(Ok(vec![t("a")]));
    s.get(&t("a")).await.unwrap();
    s.advance(10);
    s.fake.serve(Err(fetch_failed()));
    assert!(matches!(
        s.get(&t("b")).await,
        Err(KeySourceError::Fetch(_))
    ));
    assert_eq!(
        s.get(&t("a")).await.unwrap(),
        vec![t("a")],
        "a is still in the fresh set"
    );
    assert_eq!(s.fake.calls(), 2);
}

#[tokio::test]
async fn a_forbidden_address_drops_the_set() {
    let s = Setup::new(Duration::ZERO);
    s.fake.serve(Ok(vec![t("a")]));
    s.get(&t("a")).await.unwrap();
    s.advance(300);
    s.fake
        .serve(Err(KeySourceError::Forbidden("now 10.0.0.1".into())));
    assert!(matches!(
        s.get(&t("a")).await,
        Err(KeySourceError::Forbidden(_))
    ));
    s.advance(1);
    assert!(matches!(
        s.get(&t("a")).await,
        Err(KeySourceError::Forbidden(_))
    ));
    assert_eq!(s.fake.calls(), 2);
}

#[tokio::test]
async fn uris_are_cached_separately() {
    let s = Setup::new(Duration::ZERO);
    s.fake.serve(Ok(vec![t("a")]));
    s.keys
        .thumbprints("https://one/jwks", &t("a"))
        .await
        .unwrap();
    s.keys
        .thumbprints("https://two/jwks", &t("a"))
        .await
        .unwrap();
    assert_eq!(s.fake.calls(), 2);
}
