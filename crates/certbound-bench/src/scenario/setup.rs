//! Everything a scenario needs before the clock starts: URLs resolved from the arguments, TLS
//! connectors, the fixed request, a minted token to introspect, a signed-in session with
//! consent, each refresh worker's first refresh token and each redeem worker's codes.

use super::Worker;
use super::code::{CodeFlow, CodeWorker, FlowConfig, authorize_path};
use super::fixed::FixedWorker;
use super::redeem::RedeemWorker;
use super::refresh::RefreshWorker;
use crate::cli::{LoadArgs, Mode, ScenarioKind};
use crate::form::{enc, json_string};
use crate::http::{self, Channel, Outgoing, Target, parse_headers};
use crate::session;
use crate::stats::round3;
use anyhow::{Context, Result, anyhow, bail};
use hyper::Method;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue};
use std::sync::Arc;
use tokio_rustls::TlsConnector;

/// Workers ready to run, the URL they measure, and what the setup itself measured (for the
/// report line).
pub struct Prepared {
    pub workers: Vec<Worker>,
    pub url: String,
    pub setup: Vec<(&'static str, serde_json::Value)>,
}

/// Resolves the arguments and prepares one worker per unit of concurrency.
pub async fn prepare(args: &LoadArgs) -> Result<Prepared> {
    let client = http::connector(&args.cacert, args.cert.as_deref(), args.key.as_deref())?;
    match args.scenario {
        ScenarioKind::Static => {
            let url = required(&args.url, "--url")?;
            let body = body_arg(args)?.unwrap_or_default();
            fixed(args, url, client, vec![body]).await
        }
        ScenarioKind::Introspect => introspect(args, client).await,
        ScenarioKind::Code | ScenarioKind::Refresh | ScenarioKind::Redeem => {
            code_or_refresh(args, client).await
        }
    }
}

fn required<'a>(v: &'a Option<String>, flag: &str) -> Result<&'a str> {
    v.as_deref()
        .ok_or_else(|| anyhow!("this scenario needs {flag}"))
}

/// `--body` or the contents of `--body-file`.
fn body_arg(args: &LoadArgs) -> Result<Option<Bytes>> {
    match (&args.body, &args.body_file) {
        (Some(b), _) => Ok(Some(Bytes::from(b.clone()))),
        (None, Some(f)) => Ok(Some(Bytes::from(
            std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        ))),
        (None, None) => Ok(None),
    }
}

/// The user's `-H` headers, plus a form `Content-Type` when there is a body and none was given.
fn headers_for(args: &LoadArgs, body: &Bytes) -> Result<HeaderMap> {
    let mut headers = parse_headers(&args.headers)?;
    if !body.is_empty() && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    Ok(headers)
}

/// One fixed-request worker per unit of concurrency. With several bodies each request sends
/// the next one, worker `i` starting at body `i`, so concurrent workers send different ones.
async fn fixed(
    args: &LoadArgs,
    url: &str,
    connector: TlsConnector,
    bodies: Vec<Bytes>,
) -> Result<Prepared> {
    let target = Target::parse(url, connector)?;
    let method = Method::from_bytes(args.method.as_bytes()).context("bad --method")?;
    let requests = bodies
        .into_iter()
        .map(|body| {
            Ok(Outgoing {
                method: method.clone(),
                path: target.path.clone(),
                headers: headers_for(args, &body)?,
                body,
            })
        })
        .collect::<Result<Arc<[Outgoing]>>>()?;
    if requests.is_empty() {
        bail!("no request to send");
    }
    let expect: Option<Arc<[u8]>> = match (&args.expect_substring, args.scenario) {
        (Some(s), _) => Some(s.as_bytes().into()),
        (None, ScenarioKind::Introspect) => Some(br#""active":true"#.as_slice().into()),
        (None, _) => None,
    };
    let workers = (0..args.concurrency)
        .map(|i| {
            Worker::Fixed(FixedWorker {
                channel: Channel::new(target.endpoint.clone(), args.mode),
                requests: Arc::clone(&requests),
                next: i % requests.len(),
                expect: expect.clone(),
            })
        })
        .collect();
    Ok(Prepared {
        workers,
        url: url.to_owned(),
        setup: Vec::new(),
    })
}

/// Mints `--introspect-tokens` tokens at `--token-url` with the client certificate, then
/// introspects them (one: every request the same token; several: each the next one).
async fn introspect(args: &LoadArgs, client: TlsConnector) -> Result<Prepared> {
    let o = &args.oauth;
    let url = o
        .introspect_url
        .as_deref()
        .or(args.url.as_deref())
        .ok_or_else(|| anyhow!("introspect needs --introspect-url (or --url)"))?;
    let bodies = match body_arg(args)? {
        Some(b) => vec![b],
        None => mint(args, client.clone(), o.introspect_tokens.max(1))
            .await?
            .iter()
            .map(|token| Bytes::from(format!("token={}&token_type_hint=access_token", enc(token))))
            .collect(),
    };
    fixed(args, url, client, bodies).await
}

/// Mints `n` access tokens, one after the other on one connection.
async fn mint(args: &LoadArgs, client: TlsConnector, n: usize) -> Result<Vec<String>> {
    let o = &args.oauth;
    let token_url = required(&o.token_url, "--token-url")?;
    let body = match &o.mint_body {
        Some(b) => b.clone(),
        None => format!(
            "grant_type=client_credentials&client_id={}",
            enc(required(&o.client_id, "--client-id (or --mint-body)")?)
        ),
    };
    let target = Target::parse(token_url, client)?;
    let mut channel = Channel::new(target.endpoint, Mode::Reuse);
    let request = Outgoing::form(&target.path, &HeaderMap::new(), body);
    let mut tokens = Vec::with_capacity(n);
    for _ in 0..n {
        let r = channel
            .send(&request)
            .await
            .map_err(|f| anyhow!("minting a token at {token_url}: {}", f.as_str()))?;
        if !r.is_success() {
            bail!("minting a token at {token_url}: {} {}", r.status, r.text());
        }
        tokens.push(
            json_string(&r.body, "access_token")
                .ok_or_else(|| anyhow!("no access_token in {}", r.text()))?,
        );
    }
    Ok(tokens)
}

/// Signs in once, then gives every worker a code flow (and, for refresh, its first grant; for
/// redeem, its codes).
async fn code_or_refresh(args: &LoadArgs, client: TlsConnector) -> Result<Prepared> {
    let o = &args.oauth;
    let token_url = o
        .token_url
        .as_deref()
        .or(args.url.as_deref())
        .ok_or_else(|| anyhow!("this scenario needs --token-url (or --url)"))?;
    let client_id = required(&o.client_id, "--client-id")?;
    let username = required(&o.username, "--username")?;
    let password = required(&o.password, "--password")?;
    let browser = http::connector(&args.cacert, None, None)?;
    let authorize = Target::parse(required(&o.authorize_url, "--authorize-url")?, browser)?;
    let token = Target::parse(token_url, client)?;
    let path = authorize_path(&authorize.path, client_id, &o.redirect_uri, &o.scope);

    let mut first = Channel::new(authorize.endpoint.clone(), Mode::Reuse);
    let jar = session::sign_in(&mut first, &path, username, password)
        .await
        .context("signing in and consenting")?;
    let cookie = jar
        .header()
        .ok_or_else(|| anyhow!("signed in, but the server set no cookie"))?;
    let expect: Arc<[u8]> = args
        .expect_substring
        .as_deref()
        .unwrap_or("\"access_token\"")
        .as_bytes()
        .into();
    let config = Arc::new(FlowConfig {
        authorize: Outgoing::get(&path).with_header(COOKIE, cookie),
        token_path: token.path.clone(),
        token_headers: parse_headers(&args.headers)?,
        client_id: client_id.to_owned(),
        redirect_uri: o.redirect_uri.clone(),
        expect,
    });
    let mut workers = Vec::with_capacity(args.concurrency);
    for i in 0..args.concurrency {
        let flow = CodeFlow {
            config: config.clone(),
            browser: Channel::new(authorize.endpoint.clone(), args.mode),
            client: Channel::new(token.endpoint.clone(), args.mode),
        };
        workers.push(match args.scenario {
            ScenarioKind::Code => Worker::Code(CodeWorker { flow }),
            ScenarioKind::Redeem => Worker::Redeem(RedeemWorker {
                flow,
                codes: Default::default(),
            }),
            _ => {
                let mut w = RefreshWorker { flow, token: None };
                let t = w
                    .grant()
                    .await
                    .map_err(|k| anyhow!("first refresh token of worker {i}: {k}"))?;
                w.token = Some(t);
                Worker::Refresh(w)
            }
        });
    }
    let setup = if args.scenario == ScenarioKind::Redeem {
        mint_codes(args, &mut workers).await?
    } else {
        Vec::new()
    };
    Ok(Prepared {
        workers,
        url: token_url.to_owned(),
        setup,
    })
}

/// The end of the line on standard error that says the codes are minted and the load begins.
const MINTING_DONE: &str = "the measured load starts";

/// Redemptions per second the default `--codes-per-worker` provides for.
const REDEEM_RATE_PROVIDED: f64 = 32_000.0;

/// Every redeem worker mints its codes, all workers at once; returns what the report shows of it.
async fn mint_codes(
    args: &LoadArgs,
    workers: &mut Vec<Worker>,
) -> Result<Vec<(&'static str, serde_json::Value)>> {
    let per_worker = args.oauth.codes_per_worker.unwrap_or_else(|| {
        let total = REDEEM_RATE_PROVIDED * (args.warmup + args.duration);
        (total / args.concurrency as f64).ceil() as usize
    });
    if per_worker == 0 {
        bail!("--codes-per-worker must be at least 1");
    }
    let Some(budget) = std::time::Duration::try_from_secs_f64(args.oauth.mint_seconds)
        .ok()
        .filter(|d| !d.is_zero())
    else {
        bail!("--mint-seconds must be a positive number of seconds");
    };
    let started = std::time::Instant::now();
    let deadline = started + budget;
    let tasks: Vec<_> = std::mem::take(workers)
        .into_iter()
        .map(|w| {
            tokio::spawn(async move {
                let Worker::Redeem(mut r) = w else {
                    return Ok(w);
                };
                r.mint(per_worker, deadline)
                    .await
                    .map(|()| Worker::Redeem(r))
            })
        })
        .collect();
    for t in tasks {
        let w = t
            .await
            .context("a minting task failed")?
            .map_err(|e| anyhow!(e))?;
        workers.push(w);
    }
    let secs = started.elapsed().as_secs_f64();
    let minted: usize = workers
        .iter()
        .map(|w| match w {
            Worker::Redeem(r) => r.codes.len(),
            _ => 0,
        })
        .sum();
    // `scripts/instructions redeem` waits for this line to start counting: the minting (the
    // sign-ins' Argon2, the authorize requests) is not part of a redemption's cost.
    eprintln!("{minted} codes minted in {secs:.1} s; {MINTING_DONE}");
    Ok(vec![
        ("codes_minted", serde_json::json!(minted)),
        ("mint_s", serde_json::json!(round3(secs))),
        (
            "mint_stopped_at_deadline",
            serde_json::json!(minted < per_worker * workers.len()),
        ),
    ])
}
