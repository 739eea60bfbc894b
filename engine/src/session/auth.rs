//! LOGIN and AUTHENTICATE (SASL PLAIN and LOGIN, with SASL-IR): checking credentials against
//! the store and moving the session to the authenticated state.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::{Event, Mode, Session, State};
use crate::response::{write_continuation, write_status, Status};
use crate::store::Store;

/// A SASL exchange waiting for the client's next line.
#[derive(Debug)]
pub(super) struct SaslExchange {
    tag: String,
    step: SaslStep,
}

impl SaslExchange {
    /// The tag of the AUTHENTICATE command.
    pub(super) fn tag(&self) -> &str {
        &self.tag
    }
}

#[derive(Debug)]
enum SaslStep {
    /// PLAIN without an initial response: waiting for it.
    Plain,
    /// LOGIN: waiting for the user name.
    LoginUser,
    /// LOGIN: have the user name, waiting for the password.
    LoginPassword(Vec<u8>),
}

impl Session {
    pub(super) async fn login<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        username: &[u8],
        password: &[u8],
    ) {
        if !self.config.auth_allowed() {
            write_status(
                &mut self.out,
                Some(tag),
                Status::No,
                Some("PRIVACYREQUIRED"),
                "Plaintext authentication disallowed on non-secure connections.",
            );
            return;
        }
        self.check_credentials(store, tag, username, password).await;
    }

    pub(super) async fn authenticate<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        mechanism: &str,
        initial: Option<Vec<u8>>,
    ) {
        if !self.config.auth_allowed() {
            write_status(
                &mut self.out,
                Some(tag),
                Status::No,
                Some("PRIVACYREQUIRED"),
                "Plaintext authentication disallowed on non-secure connections.",
            );
            return;
        }
        let step = match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => SaslStep::Plain,
            "LOGIN" => SaslStep::LoginUser,
            _ => {
                write_status(
                    &mut self.out,
                    Some(tag),
                    Status::No,
                    Some("CANNOT"),
                    "Unsupported authentication mechanism.",
                );
                return;
            }
        };
        let exchange = SaslExchange {
            tag: tag.to_string(),
            step,
        };
        match initial {
            // SASL-IR (RFC 4959): the first response came with the command.
            Some(ir) => self.sasl_step(store, exchange, ir).await,
            None => {
                let prompt = match exchange.step {
                    SaslStep::LoginUser => "VXNlcm5hbWU6", // "Username:"
                    _ => "",
                };
                write_continuation(&mut self.out, prompt);
                self.mode = Mode::Sasl(exchange);
            }
        }
    }

    /// One client line of a SASL exchange (base64, `=` for empty, `*` to cancel).
    pub(super) async fn sasl_step<S: Store>(
        &mut self,
        store: &S,
        exchange: SaslExchange,
        line: Vec<u8>,
    ) {
        let tag = exchange.tag;
        if line == b"*" {
            write_status(
                &mut self.out,
                Some(&tag),
                Status::Bad,
                None,
                "Authentication aborted by client.",
            );
            return;
        }
        let decoded = if line == b"=" {
            Ok(Vec::new())
        } else {
            B64.decode(&line)
        };
        let Ok(data) = decoded else {
            write_status(
                &mut self.out,
                Some(&tag),
                Status::Bad,
                None,
                "Invalid base64 data in SASL response.",
            );
            return;
        };
        match exchange.step {
            SaslStep::Plain => {
                // authzid NUL authcid NUL passwd (RFC 4616)
                let mut parts = data.splitn(3, |&b| b == 0);
                let (Some(authz), Some(user), Some(pass)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    write_status(
                        &mut self.out,
                        Some(&tag),
                        Status::Bad,
                        None,
                        "Malformed PLAIN response.",
                    );
                    return;
                };
                if !authz.is_empty() && authz != user {
                    write_status(
                        &mut self.out,
                        Some(&tag),
                        Status::No,
                        Some("AUTHORIZATIONFAILED"),
                        "Acting as another user is not allowed.",
                    );
                    self.events.push_back(Event::AuthFailed);
                    return;
                }
                self.check_credentials(store, &tag, user, pass).await;
            }
            SaslStep::LoginUser => {
                write_continuation(&mut self.out, "UGFzc3dvcmQ6"); // "Password:"
                self.mode = Mode::Sasl(SaslExchange {
                    tag,
                    step: SaslStep::LoginPassword(data),
                });
            }
            SaslStep::LoginPassword(user) => {
                self.check_credentials(store, &tag, &user, &data).await;
            }
        }
    }

    async fn check_credentials<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        user: &[u8],
        pass: &[u8],
    ) {
        let Ok(user) = std::str::from_utf8(user) else {
            self.auth_failed(tag);
            return;
        };
        match store.authenticate(user, pass).await {
            Ok(Some(account)) => {
                tracing::debug!(user = %account.name, "logged in");
                self.account = Some(account.clone());
                self.state = State::Authenticated;
                self.events.push_back(Event::LoggedIn(account));
                let code = format!("CAPABILITY {}", self.config.post_auth_capabilities());
                write_status(
                    &mut self.out,
                    Some(tag),
                    Status::Ok,
                    Some(&code),
                    "Logged in",
                );
            }
            Ok(None) => self.auth_failed(tag),
            Err(e) => write_status(
                &mut self.out,
                Some(tag),
                Status::No,
                Some("UNAVAILABLE"),
                &e.to_string(),
            ),
        }
    }

    fn auth_failed(&mut self, tag: &str) {
        self.events.push_back(Event::AuthFailed);
        write_status(
            &mut self.out,
            Some(tag),
            Status::No,
            Some("AUTHENTICATIONFAILED"),
            "Authentication failed.",
        );
    }
}
