//! The SQLite write of a batch of grants (code redemptions and refreshes), inside the group
//! commit's transaction: what each grant consumes, then the tokens of those that won, a few
//! statements for the whole batch rather than a trigger run once per grant.
//!
//! The writer's transaction holds SQLite's write lock from its first statement here to its
//! commit, so a revocation of a grant (on another connection) commits either before this
//! write (its flag is seen here and the new tokens are stored revoked) or after it (and
//! look-ups see it through the code row, migration 0010).

use super::err;
use super::group_commit::{insert_access, insert_refresh, placeholders};
use certbound_core::model::{AccessTokenRecord, RefreshTokenRecord};
use certbound_core::store::{GrantStored, GrantTokens, StoreError};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Row};
use std::collections::{HashMap, HashSet};

/// Stores a batch of grants; the outcomes come back in the order of `grants`.
///
/// - A rotation (RFC 9700 §4.14.2) marks the refresh token used if it is unused, unrevoked
///   and its grant live; a redemption (RFC 6749 §4.1.2) adds the code's key to
///   `code_redemptions` if the code is the client's. Either happens at most once: a used
///   token or a redeemed code is not changed again, and when two grants of the batch consume
///   the same one, the first in the batch wins.
/// - A grant that consumed what it had to (or had nothing to consume) gets its access token
///   and refresh token inserted, revoked if the grant is revoked; the others get nothing
///   stored (`AlreadyUsed`).
pub(super) async fn grant(
    c: &mut SqliteConnection,
    grants: &[&GrantTokens],
) -> Result<Vec<GrantStored>, StoreError> {
    let rotated = rotate(&mut *c, grants).await?;
    let redeemed = redeem(&mut *c, grants).await?;
    let mut rotation_taken = HashSet::new();
    let mut code_taken = HashSet::new();
    let won: Vec<bool> = grants
        .iter()
        .map(|t| {
            if t.redeem {
                redeemed.contains_key(t.family.0.as_slice()) && code_taken.insert(t.family.0)
            } else if let Some((used, _)) = &t.rotate {
                rotated.contains(used.0.as_slice()) && rotation_taken.insert(used.0)
            } else {
                true
            }
        })
        .collect();
    let winners: Vec<&GrantTokens> = grants
        .iter()
        .zip(&won)
        .filter_map(|(t, w)| w.then_some(*t))
        .collect();
    if winners.is_empty() {
        return Ok(grants.iter().map(|_| GrantStored::AlreadyUsed).collect());
    }
    // Whether each winner's grant is revoked. A redemption's RETURNING carries its code's
    // flag; a rotation only wins while its grant is live (`grant_live!`, under this
    // transaction's write lock), so its flag is clear; only a refresh without rotation, which
    // consumes nothing, needs a look-up of its own.
    let unchecked: Vec<&GrantTokens> = winners
        .iter()
        .filter(|t| !t.redeem && t.rotate.is_none())
        .copied()
        .collect();
    let mut revoked = redeemed;
    if !unchecked.is_empty() {
        revoked.extend(families_revoked(&mut *c, &unchecked).await?);
    }
    let family_revoked = |t: &GrantTokens| revoked.get(t.family.0.as_slice()) == Some(&true);
    let access: Vec<AccessTokenRecord> = winners
        .iter()
        .map(|t| AccessTokenRecord {
            revoked: t.access.revoked || family_revoked(t),
            ..t.access.clone()
        })
        .collect();
    insert_access(&mut *c, &access.iter().collect::<Vec<_>>())
        .await
        .map_err(err)?;
    let refresh: Vec<RefreshTokenRecord> = winners
        .iter()
        .filter_map(|t| {
            t.refresh.as_ref().map(|r| RefreshTokenRecord {
                revoked: r.revoked || family_revoked(t),
                ..r.clone()
            })
        })
        .collect();
    insert_refresh(&mut *c, &refresh.iter().collect::<Vec<_>>())
        .await
        .map_err(err)?;
    Ok(grants
        .iter()
        .zip(won)
        .map(|(t, won)| match won {
            false => GrantStored::AlreadyUsed,
            true if t.access.revoked || family_revoked(t) => GrantStored::FamilyRevoked,
            true => GrantStored::Stored,
        })
        .collect())
}

/// Marks the batch's refresh tokens to rotate used, in one statement; the keys it marked.
async fn rotate(
    c: &mut SqliteConnection,
    grants: &[&GrantTokens],
) -> Result<HashSet<Vec<u8>>, StoreError> {
    let rotations: Vec<_> = grants
        .iter()
        .filter(|t| !t.redeem)
        .filter_map(|t| t.rotate.as_ref())
        .collect();
    if rotations.is_empty() {
        return Ok(HashSet::new());
    }
    let mut sql = String::from("UPDATE refresh_tokens SET used_at = v.column2 FROM (VALUES ");
    placeholders(&mut sql, rotations.len(), 2);
    sql.push_str(concat!(
        ") AS v WHERE refresh_tokens.token_hash = v.column1 AND used_at IS NULL AND revoked = 0",
        super::grants::grant_live!(refresh_tokens),
        " RETURNING token_hash"
    ));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (used, now) in rotations {
        q = q.bind(used.0.to_vec()).bind(*now);
    }
    keys(q.fetch_all(&mut *c).await.map_err(err)?)
}

/// Adds the batch's codes to redeem to `code_redemptions` if each is its client's, in one
/// statement; the keys it added (a key already there is left alone: `OR IGNORE`), each with
/// its grant's `family_revoked`, read in the same statement.
async fn redeem(
    c: &mut SqliteConnection,
    grants: &[&GrantTokens],
) -> Result<HashMap<Vec<u8>, bool>, StoreError> {
    let codes: Vec<&GrantTokens> = grants.iter().filter(|t| t.redeem).copied().collect();
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = String::from(
        "INSERT OR IGNORE INTO code_redemptions (code_hash) SELECT v.column1 FROM (VALUES ",
    );
    placeholders(&mut sql, codes.len(), 2);
    sql.push_str(
        ") AS v WHERE EXISTS (SELECT 1 FROM authorization_codes \
         WHERE code_hash = v.column1 AND client_id = v.column2) \
         RETURNING code_hash, (SELECT family_revoked FROM authorization_codes AS a \
         WHERE a.code_hash = code_redemptions.code_hash)",
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for t in codes {
        q = q.bind(t.family.0.to_vec()).bind(t.access.client_id.clone());
    }
    flags(q.fetch_all(&mut *c).await.map_err(err)?)
}

/// Whether each of these grants is revoked (`family_revoked` of its code row; a grant without
/// a code row is not).
async fn families_revoked(
    c: &mut SqliteConnection,
    winners: &[&GrantTokens],
) -> Result<HashMap<Vec<u8>, bool>, StoreError> {
    let mut sql = String::from(
        "SELECT code_hash, family_revoked FROM authorization_codes WHERE code_hash IN (",
    );
    for i in 0..winners.len() {
        sql.push_str(if i == 0 { "?" } else { ",?" });
    }
    sql.push(')');
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for t in winners {
        q = q.bind(t.family.0.to_vec());
    }
    flags(q.fetch_all(&mut *c).await.map_err(err)?)
}

/// Rows of a key and its grant's `family_revoked`, as a map.
fn flags(rows: Vec<sqlx::sqlite::SqliteRow>) -> Result<HashMap<Vec<u8>, bool>, StoreError> {
    rows.iter()
        .map(|r| Ok((r.try_get(0).map_err(err)?, r.try_get(1).map_err(err)?)))
        .collect()
}

/// The first column of each row, as a key.
fn keys(rows: Vec<sqlx::sqlite::SqliteRow>) -> Result<HashSet<Vec<u8>>, StoreError> {
    rows.iter().map(|r| r.try_get(0).map_err(err)).collect()
}
