//! User passwords: Argon2id hashes in PHC string form.

use crate::secret::Secret;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Hashes a password with Argon2id and a random salt (OWASP-recommended default parameters).
pub fn hash(
    password: &Secret,
    random: &dyn crate::Random,
) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)?
        .to_string())
}

/// Verifies a password against a stored PHC string; false on any mismatch or malformed hash.
pub fn verify(stored: &str, password: &Secret) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &h)
            .is_ok()
    })
}

/// Burns the time of one verification, so an unknown username takes as long as a wrong password.
pub fn verify_dummy(password: &Secret) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Xi0b3Qi6D7Gd2S4sGEsLw0w6Kq4JW8v5J+P2oTDJvCo";
    let _ = verify(DUMMY, password);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash(&Secret::new("correct horse"), &crate::OsRandom).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&h, &Secret::new("correct horse")));
        assert!(!verify(&h, &Secret::new("correct horsE")));
        assert!(!verify("not a hash", &Secret::new("x")));
    }
}
