//! An error and its causes as one line, for messages and logs (reqwest and rustls put the
//! reason that matters in the sources, not in the top-level message).

/// `e`, then each of its sources, joined by `": "`.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
