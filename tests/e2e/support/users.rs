//! Users of a test server: accounts of a role and units made on the spot,
//! signed-in clients, and who a client is signed in as.

use std::sync::atomic::{AtomicUsize, Ordering};

use ducha::app::NewUser;
use ducha::domain::access::{Role, Scope};
use ducha_sdk::{Client, pb};

use super::TestServer;

/// The password of every account the tests make.
pub const PASSWORD: &str = "correct horse battery";

/// Numbers the accounts, so that every username is new.
static USERS: AtomicUsize = AtomicUsize::new(0);

impl TestServer {
    /// A client of `name` (made by `user`) signed in at `url`, the
    /// server's own or a proxy's in front of it, whose calls follow
    /// `policy`.
    pub async fn sign_in(&self, url: &str, name: &str, policy: ducha_sdk::CallPolicy) -> Client {
        let c = Client::builder(url)
            .call_policy(policy)
            .connect()
            .await
            .expect("connect");
        c.login(name, PASSWORD).await.expect("login");
        c
    }

    /// A client that has not signed in.
    pub async fn anonymous(&self) -> Client {
        Client::connect(self.url.clone()).await.expect("connect")
    }

    /// Creates an account with `role` and units (`["*"]` for all), signs it
    /// in, and returns its client and username.
    pub async fn user(&self, role: Role, units: &[&str]) -> (Client, String) {
        let username = format!(
            "{}-{}",
            role.as_str().replace('_', "-"),
            USERS.fetch_add(1, Ordering::Relaxed)
        );
        let scope = Scope::from_claim(&units.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        self.app
            .add_user(NewUser {
                username: username.clone(),
                role,
                scope,
                password: PASSWORD.into(),
            })
            .await
            .expect("add user");
        let client = self.anonymous().await;
        client.login(&username, PASSWORD).await.expect("login");
        (client, username)
    }

    /// A signed-in client of `role` for `units`.
    pub async fn client(&self, role: Role, units: &[&str]) -> Client {
        self.user(role, units).await.0
    }
}

/// Who `c` is signed in as, by the server's answer.
pub async fn who_am_i(c: &Client) -> Result<pb::WhoAmIResponse, tonic::Status> {
    c.auth()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .map(|r| r.into_inner())
}
