//! Rules for administering users that the admin API and the CLI share: at least one
//! administrator always remains. Storage is the caller's business.

use crate::model::User;

/// Whether deleting `username` (`remains_admin` false) or setting its admin flag to
/// `remains_admin` would leave the server without any administrator: true only when the user
/// is an administrator now and no other user is.
pub fn leaves_no_admin(users: &[User], username: &str, remains_admin: bool) -> bool {
    let is_admin_now = users.iter().any(|u| u.username == username && u.is_admin);
    let others = users
        .iter()
        .filter(|u| u.is_admin && u.username != username)
        .count();
    is_admin_now && !remains_admin && others == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, is_admin: bool) -> User {
        User {
            username: name.into(),
            password_hash: String::new(),
            is_admin,
            claims: Default::default(),
            created_at: 0,
        }
    }

    #[test]
    fn the_last_admin_cannot_be_removed_or_demoted() {
        let one = [user("admin", true), user("alice", false)];
        assert!(leaves_no_admin(&one, "admin", false));
        assert!(!leaves_no_admin(&one, "admin", true));
        assert!(!leaves_no_admin(&one, "alice", false));
        let two = [user("admin", true), user("root", true)];
        assert!(!leaves_no_admin(&two, "admin", false));
        assert!(!leaves_no_admin(&[], "nobody", false));
    }
}
