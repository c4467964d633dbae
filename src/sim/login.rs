//! The simulated router's side of `/login`: which reply a login sentence
//! gets, for the post-6.43 method (name and password in clear) and the
//! pre-6.43 MD5 challenge-response.
//!
//! Decisions only: this module does no I/O, draws no random numbers (the
//! caller passes a fresh challenge in) and writes no reply sentences.

use super::{LoginMode, User};
use crate::routeros::login::{legacy_response, to_hex};
use crate::routeros::wire::Attrs;

/// The message for a wrong user name or password (RouterOS 6.43 and later).
pub(crate) const INVALID_USER: &str = "invalid user name or password (6)";
/// The message for a user whose group lacks the `api` policy.
pub(crate) const NOT_ALLOWED: &str = "std failure: not allowed (9)";
/// The message for a failed pre-6.43 challenge-response login.
pub(crate) const CANNOT_LOG_IN: &str = "cannot log in";

/// What a `/login` sentence leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `!done`: the session is logged in as the user at this index.
    LoggedIn(usize),
    /// `!done =ret=<hex>`: a challenge was issued.
    Challenge(String),
    /// `!trap =message=<text>` then `!done`; the session stays open and
    /// not logged in.
    Refused(&'static str),
}

/// Decides the answer to a `/login` with attributes `attrs`.
///
/// `pending` is the challenge this session issued last, if any; it is
/// replaced when a new one is issued (by `fresh`) and consumed by a
/// `=response=` attempt.
pub(crate) fn answer(
    mode: LoginMode,
    users: &[User],
    attrs: &Attrs,
    pending: &mut Option<Vec<u8>>,
    fresh: [u8; 16],
) -> Outcome {
    let name = attrs.get("name");
    let response = attrs.get("response");
    match (mode, response) {
        // RouterOS 7 hands out a challenge but no longer accepts the answer
        // (the 6.47.6 log in docs/routeros-api.md section 3).
        (LoginMode::Modern, Some(_)) => {
            *pending = None;
            Outcome::Refused(INVALID_USER)
        }
        (LoginMode::Modern, None) if name.is_none() => issue(pending, fresh),
        (LoginMode::Modern, None) => {
            // A name without `=password=` is taken as an empty password (an
            // assumption; real clients always send both).
            let password = attrs.get("password").unwrap_or_default();
            match find(users, name.unwrap_or_default()) {
                Some((index, user)) if user.password.as_bytes() == password => allowed(index, user),
                _ => Outcome::Refused(INVALID_USER),
            }
        }
        // Before 6.43 every `/login` without a response gets a challenge;
        // a password sent along is ignored (docs/routeros-api.md section 3).
        (LoginMode::Legacy, None) => issue(pending, fresh),
        (LoginMode::Legacy, Some(response)) => {
            let Some(challenge) = pending.take() else {
                return Outcome::Refused(CANNOT_LOG_IN);
            };
            match find(users, name.unwrap_or_default()) {
                Some((index, user))
                    if response.eq_ignore_ascii_case(
                        legacy_response(user.password.as_bytes(), &challenge).as_bytes(),
                    ) =>
                {
                    allowed(index, user)
                }
                _ => Outcome::Refused(CANNOT_LOG_IN),
            }
        }
    }
}

fn find<'a>(users: &'a [User], name: &[u8]) -> Option<(usize, &'a User)> {
    users
        .iter()
        .enumerate()
        .find(|(_, user)| user.name.as_bytes() == name)
}

/// The right credentials: logged in if the user may use the API. A legacy
/// login of a user without the `api` policy gets the modern message too (an
/// assumption: no pre-6.43 transcript shows that case).
fn allowed(index: usize, user: &User) -> Outcome {
    match user.policies.api {
        true => Outcome::LoggedIn(index),
        false => Outcome::Refused(NOT_ALLOWED),
    }
}

fn issue(pending: &mut Option<Vec<u8>>, fresh: [u8; 16]) -> Outcome {
    *pending = Some(fresh.to_vec());
    Outcome::Challenge(to_hex(&fresh))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Options;

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        let mut attrs = Attrs::default();
        for (name, value) in pairs {
            attrs.push(*name, *value);
        }
        attrs
    }

    const FRESH: [u8; 16] = [0xab; 16];

    fn modern(pairs: &[(&str, &str)]) -> Outcome {
        answer(
            LoginMode::Modern,
            &Options::default_users(),
            &attrs(pairs),
            &mut None,
            FRESH,
        )
    }

    #[test]
    fn modern_login_outcomes() {
        assert_eq!(
            modern(&[("name", "admin"), ("password", "secret")]),
            Outcome::LoggedIn(0)
        );
        assert_eq!(
            modern(&[("name", "reader"), ("password", "secret")]),
            Outcome::LoggedIn(1)
        );
        assert_eq!(
            modern(&[("name", "admin"), ("password", "wrong")]),
            Outcome::Refused(INVALID_USER)
        );
        assert_eq!(
            modern(&[("name", "nobody"), ("password", "secret")]),
            Outcome::Refused(INVALID_USER)
        );
        assert_eq!(
            modern(&[("name", "noapi"), ("password", "secret")]),
            Outcome::Refused(NOT_ALLOWED)
        );
        assert_eq!(
            modern(&[("name", "noapi"), ("password", "nope")]),
            Outcome::Refused(INVALID_USER)
        );
        assert_eq!(modern(&[("name", "admin")]), Outcome::Refused(INVALID_USER));
        assert_eq!(modern(&[]), Outcome::Challenge("ab".repeat(16)));
    }

    #[test]
    fn modern_login_rejects_a_challenge_response() {
        let users = Options::default_users();
        let mut pending = None;
        assert_eq!(
            answer(LoginMode::Modern, &users, &attrs(&[]), &mut pending, FRESH),
            Outcome::Challenge("ab".repeat(16))
        );
        let response = legacy_response(b"secret", &FRESH);
        let login = attrs(&[("name", "admin"), ("response", &response)]);
        assert_eq!(
            answer(LoginMode::Modern, &users, &login, &mut pending, FRESH),
            Outcome::Refused(INVALID_USER)
        );
    }

    #[test]
    fn legacy_login_outcomes() {
        let users = Options::default_users();
        let mut pending = None;
        let with_password = attrs(&[("name", "admin"), ("password", "secret")]);
        assert_eq!(
            answer(
                LoginMode::Legacy,
                &users,
                &with_password,
                &mut pending,
                FRESH
            ),
            Outcome::Challenge("ab".repeat(16))
        );
        let right = legacy_response(b"secret", &FRESH);
        let login = attrs(&[("name", "admin"), ("response", &right)]);
        assert_eq!(
            answer(LoginMode::Legacy, &users, &login, &mut pending, FRESH),
            Outcome::LoggedIn(0)
        );
        // The challenge is used up: the same response again fails.
        assert_eq!(
            answer(LoginMode::Legacy, &users, &login, &mut pending, FRESH),
            Outcome::Refused(CANNOT_LOG_IN)
        );
        answer(LoginMode::Legacy, &users, &attrs(&[]), &mut pending, FRESH);
        let wrong = legacy_response(b"wrong", &FRESH);
        let login = attrs(&[("name", "admin"), ("response", &wrong)]);
        assert_eq!(
            answer(LoginMode::Legacy, &users, &login, &mut pending, FRESH),
            Outcome::Refused(CANNOT_LOG_IN)
        );
        answer(LoginMode::Legacy, &users, &attrs(&[]), &mut pending, FRESH);
        let upper = legacy_response(b"secret", &FRESH).to_uppercase();
        let login = attrs(&[("name", "reader"), ("response", &upper)]);
        assert_eq!(
            answer(LoginMode::Legacy, &users, &login, &mut pending, FRESH),
            Outcome::LoggedIn(1)
        );
    }
}
