use std::sync::Arc;
use std::time::Duration;

use ducha_proto::v1 as pb;
use ducha_proto::v1::audit_service_client::AuditServiceClient;
use ducha_proto::v1::auth_service_client::AuthServiceClient;
use ducha_proto::v1::campaign_service_client::CampaignServiceClient;
use ducha_proto::v1::check_service_client::CheckServiceClient;
use ducha_proto::v1::enterprise_service_client::EnterpriseServiceClient;
use ducha_proto::v1::event_service_client::EventServiceClient;
use ducha_proto::v1::evidence_service_client::EvidenceServiceClient;
use ducha_proto::v1::finding_service_client::FindingServiceClient;
use ducha_proto::v1::petition_service_client::PetitionServiceClient;
use ducha_proto::v1::rectification_service_client::RectificationServiceClient;
use ducha_proto::v1::supervision_service_client::SupervisionServiceClient;
use ducha_proto::v1::unit_service_client::UnitServiceClient;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::channel::{AuthChannel, CallPolicy, Credentials, Session};
use crate::error::Error;

/// Largest message the typed clients accept or send.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Connection settings for a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoint: String,
    tls: Option<ClientTlsConfig>,
    token: Option<String>,
    connect_timeout: Duration,
    policy: CallPolicy,
}

impl ClientBuilder {
    /// TLS with the given settings; `https://` endpoints use the system's
    /// roots by default.
    pub fn tls(mut self, tls: ClientTlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Calls carry this token (one minted with `ducha token issue`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// The overall deadline of each unary call, retries included
    /// [default: 30 s].
    pub fn timeout(mut self, d: Duration) -> Self {
        self.policy.timeout = d;
        self
    }

    /// Deadlines and retries of calls; see [`CallPolicy`].
    pub fn call_policy(mut self, policy: CallPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub async fn connect(self) -> Result<Client, Error> {
        let mut ep = Endpoint::from_shared(self.endpoint.clone())
            .map_err(|e| Error::InvalidEndpoint(e.to_string()))?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true);
        let tls = match self.tls {
            Some(t) => Some(t),
            None if self.endpoint.starts_with("https://") => {
                Some(ClientTlsConfig::new().with_native_roots())
            }
            None => None,
        };
        if let Some(t) = tls {
            ep = ep.tls_config(t)?;
        }
        let channel = ep.connect().await?;
        let creds = self.token.map_or(Credentials::None, Credentials::Static);
        Ok(Client::from_channel(channel, creds, self.policy))
    }
}

/// A connection to a Ducha server, with the caller's credentials.
/// Cheap to clone; clones share the connection and the session.
#[derive(Debug, Clone)]
pub struct Client {
    channel: Channel,
    session: Arc<Session>,
    policy: CallPolicy,
}

impl Client {
    pub fn builder(endpoint: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            endpoint: endpoint.into(),
            tls: None,
            token: None,
            connect_timeout: Duration::from_secs(10),
            policy: CallPolicy::default(),
        }
    }

    /// Connects to `endpoint` (`http://host:port` or `https://...`).
    pub async fn connect(endpoint: impl Into<String>) -> Result<Client, Error> {
        Client::builder(endpoint).connect().await
    }

    fn from_channel(channel: Channel, creds: Credentials, policy: CallPolicy) -> Client {
        Client {
            session: Arc::new(Session::new(channel.clone(), creds)),
            channel,
            policy,
        }
    }

    /// Signs in with a local account; later calls carry its tokens.
    /// A connection that fails or breaks is UNAVAILABLE, as for every call;
    /// a login is not sent again by itself.
    pub async fn login(&self, username: &str, password: &str) -> Result<pb::TokenPair, Error> {
        let answer = self
            .auth()
            .login(pb::LoginRequest {
                username: username.into(),
                password: password.into(),
            })
            .await?
            .into_inner();
        let tokens = answer
            .tokens
            .ok_or_else(|| tonic::Status::internal("login answered without tokens"))?;
        let mut creds = self.session.credentials.lock().await;
        Session::set_tokens(&mut creds, tokens.clone());
        Ok(tokens)
    }

    /// Signs out: the server revokes the session; this client forgets it.
    pub async fn logout(&self) -> Result<(), Error> {
        let refresh = match &*self.session.credentials.lock().await {
            Credentials::Session { refresh, .. } => refresh.clone(),
            Credentials::None => return Err(Error::NotSignedIn),
            Credentials::Static(_) => String::new(),
        };
        self.auth()
            .logout(pb::LogoutRequest {
                refresh_token: refresh,
            })
            .await?;
        *self.session.credentials.lock().await = Credentials::None;
        Ok(())
    }

    /// The access token calls currently carry, refreshed if due.
    pub async fn access_token(&self) -> Result<String, Error> {
        self.session.access_token().await?.ok_or(Error::NotSignedIn)
    }

    fn channel(&self) -> AuthChannel {
        AuthChannel::new(self.channel.clone(), self.session.clone(), self.policy)
    }

    pub fn auth(&self) -> AuthServiceClient<AuthChannel> {
        AuthServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn units(&self) -> UnitServiceClient<AuthChannel> {
        UnitServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn checks(&self) -> CheckServiceClient<AuthChannel> {
        CheckServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn evidence(&self) -> EvidenceServiceClient<AuthChannel> {
        EvidenceServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn findings(&self) -> FindingServiceClient<AuthChannel> {
        FindingServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn rectification(&self) -> RectificationServiceClient<AuthChannel> {
        RectificationServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn events(&self) -> EventServiceClient<AuthChannel> {
        EventServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn campaigns(&self) -> CampaignServiceClient<AuthChannel> {
        CampaignServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn enterprises(&self) -> EnterpriseServiceClient<AuthChannel> {
        EnterpriseServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn supervision(&self) -> SupervisionServiceClient<AuthChannel> {
        SupervisionServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    /// Petitions (信访举报): intake, dispatch, reply, feedback, spot checks.
    pub fn petitions(&self) -> PetitionServiceClient<AuthChannel> {
        PetitionServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn audit(&self) -> AuditServiceClient<AuthChannel> {
        AuditServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }
}
