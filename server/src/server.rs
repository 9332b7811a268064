//! Assembles the server: database, object store, keys, the ducha.v1
//! services, health, reflection, gRPC-Web and tracing, and serves them until
//! asked to stop.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use http::HeaderName;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tower::util::option_layer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::api::{
    AuthnLayer, DeadlineLayer, DetachLayer, FileLinksLayer, MessageLimitLayer, Services,
};
use crate::app::{App, Core};
use crate::auth::KeyRing;
use crate::blob::BlobStore;
use crate::config::{DatabaseOptions, Settings, TokenOptions};
use crate::media::tool::Toolbox;
use crate::store::Store;

/// Creates the data folder and opens the database, running its migrations.
pub async fn open_store(data_dir: &Path, database: &DatabaseOptions) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data folder {}", data_dir.display()))?;
    let store = Store::connect(
        database.url.expose_secret(),
        database.max_connections,
        database.timeout,
    )
    .await?;
    store
        .migrate()
        .await
        .context("running database migrations")?;
    Ok(store)
}

/// The server's clock: the system's, or for tests one running `offset`
/// ahead or behind (see `test_clock_offset`).
pub fn clock(offset: Option<chrono::TimeDelta>) -> Arc<dyn crate::clock::Clock> {
    match offset {
        Some(ahead) => Arc::new(crate::clock::ShiftedClock::new(ahead)),
        None => Arc::new(crate::clock::SystemClock),
    }
}

/// Loads the token signing key, creating it when missing, and the keys of
/// the trusted issuers.
pub fn open_keys(tokens: &TokenOptions) -> anyhow::Result<KeyRing> {
    KeyRing::load(
        &tokens.signing_key,
        &tokens.issuer,
        &tokens.audience,
        &tokens.trusted_issuers,
    )
}

/// Opens what the server stands on: the database (running its
/// migrations), the object store (checking that it answers), the token
/// keys, the personal data keys, and the media tools it finds.
pub async fn open_app(settings: &Settings) -> anyhow::Result<App> {
    let store = open_store(&settings.data_dir, &settings.database).await?;
    let blobs = BlobStore::open(&settings.object_store)?;
    blobs
        .probe(std::time::Duration::from_secs(10))
        .await
        .context("object store does not answer")?;
    let keys = open_keys(&settings.tokens)?;
    let sealer = crate::auth::seal::KeyFile::load_or_create(
        &settings.personal_data_keys,
        &store.newest_sealed_values().await?,
    )?;
    let tools = Toolbox::probe(&settings.media_tools).await;
    Ok(App {
        core: Core {
            store,
            clock: clock(settings.test_clock_offset),
        },
        blobs,
        keys: Arc::new(keys),
        access_token_ttl: settings.sessions.access_ttl,
        refresh_token_ttl: settings.sessions.refresh_ttl,
        uploads: settings.uploads,
        signals: settings.signals,
        jobs: settings.jobs,
        downloads: settings.downloads.clone(),
        petitions: settings.petitions,
        sealer: Arc::new(sealer),
        derivatives_due: Arc::new(tokio::sync::Notify::new()),
        tools: Arc::new(tools),
        held_upload_bytes: Arc::new(tokio::sync::Semaphore::new(
            crate::app::HELD_UPLOAD_BYTES / 1024,
        )),
        upload_heads: Default::default(),
        writers: Default::default(),
        writes: Default::default(),
        stopping: Default::default(),
        webhook_client: reqwest::Client::builder()
            .timeout(crate::app::WEBHOOK_TIMEOUT)
            .build()
            .context("webhook HTTP client")?,
    })
}

/// The request headers a gRPC-Web client in a browser sends.
pub const GRPC_WEB_REQUEST_HEADERS: [&str; 5] = [
    "authorization",
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
];

fn cors(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| {
            o.parse()
                .with_context(|| format!("grpc_web_origins: bad origin {o}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let expose =
        ["grpc-status", "grpc-message", "grpc-status-details-bin"].map(HeaderName::from_static);
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            // Named, not `*`: by the Fetch standard a wildcard does not
            // cover Authorization, which every call but Login sends.
            .allow_headers(GRPC_WEB_REQUEST_HEADERS.map(HeaderName::from_static))
            .allow_methods([http::Method::POST, http::Method::OPTIONS])
            .expose_headers(expose)
            // Browsers ask once per two hours instead of before each call.
            .max_age(std::time::Duration::from_secs(2 * 3600)),
    ))
}

/// Serves on `listener` until `shutdown` completes; then refuses new calls,
/// lets calls in flight finish for up to the configured grace, and returns.
pub async fn serve(
    settings: Settings,
    mut app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    if app.downloads.public_url.is_none() {
        let scheme = if settings.server.tls.is_some() {
            "https"
        } else {
            "http"
        };
        app.downloads.public_url = Some(format!("{scheme}://{addr}"));
    }
    let services = Services::new(app.clone(), settings.server.max_message_bytes);
    let message_limits = MessageLimitLayer {
        max_message_bytes: settings.server.max_message_bytes,
        max_evidence_message_bytes: Services::max_evidence_message_bytes(
            &app,
            settings.server.max_message_bytes,
        ),
    };
    let (reporter, health) = tonic_health::server::health_reporter();
    let draining = tokio_util::sync::CancellationToken::new();
    let health_keeper = tokio::spawn(crate::health::keep(
        app.clone(),
        reporter,
        settings.server.health_probe_interval,
        draining.clone(),
    ));

    let reflection = if settings.server.reflection {
        let b = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(ducha_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        Some((b().build_v1()?, b().build_v1alpha()?))
    } else {
        None
    };
    let (reflection_v1, reflection_v1alpha) = reflection.unzip();

    let trace = TraceLayer::new_for_grpc()
        .make_span_with(|req: &http::Request<_>| {
            tracing::info_span!("grpc", method = %req.uri().path(), subject = tracing::field::Empty)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO))
        .on_failure(DefaultOnFailure::new().level(Level::INFO));

    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = &settings.server.tls {
        let read = |p: &std::path::PathBuf| {
            std::fs::read(p).with_context(|| format!("reading {}", p.display()))
        };
        let identity = tonic::transport::Identity::from_pem(read(cert)?, read(key)?);
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .context("TLS settings")?;
    }
    // HTTP/2's default 64 KiB flow-control window makes a 4 MB photo wait
    // for a window update every 64 KiB; a larger one lets it stream. The
    // connection window bounds what one client may have in flight.
    // A phone that vanished without a reset (its link froze) is noticed by
    // the keepalive, so its stream stores what it holds in a minute rather
    // than when TCP gives up, hours later.
    let router = builder
        .initial_stream_window_size(Some(STREAM_WINDOW))
        .initial_connection_window_size(Some(CONNECTION_WINDOW))
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .accept_http1(true)
        .layer(trace)
        .layer(FileLinksLayer { app: app.clone() })
        .layer(option_layer(cors(&settings.server.grpc_web_origins)?))
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(DeadlineLayer)
        .layer(DetachLayer {
            tasks: app.writes.clone(),
        })
        .layer(AuthnLayer { app: app.clone() })
        .layer(message_limits)
        .add_service(health)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(services.auth)
        .add_service(services.units)
        .add_service(services.checks)
        .add_service(services.evidence)
        .add_service(services.findings)
        .add_service(services.rectification)
        .add_service(services.audit)
        .add_service(services.events)
        .add_service(services.campaigns)
        .add_service(services.enterprises)
        .add_service(services.supervision)
        .add_service(services.petitions);

    let sweeper = tokio::spawn(sweep_expired_uploads(app.clone()));
    let derivatives = tokio::spawn(make_derivatives(app.clone()));
    let overdue = tokio::spawn(scan_overdue(app.clone()));
    let webhooks = tokio::spawn(deliver_webhooks(app.clone()));
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: refusing new calls, finishing calls in flight");
        draining.cancel();
        // Every service reports NOT_SERVING before new calls are refused.
        let _ = health_keeper.await;
        let _ = stopping_tx.send(());
    };
    tracing::info!(
        %addr,
        database = app.store.backend(),
        object_store = app.blobs.kind(),
        tls = settings.server.tls.is_some(),
        "ducha serving gRPC and gRPC-Web"
    );
    // Without TCP_NODELAY, small frames (window updates, acknowledgements)
    // wait out the peer's delayed ACK: some 40 ms on each exchange.
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        if let Ok(c) = &conn {
            let _ = c.set_nodelay(true);
        }
        conn
    });
    let serving = router.serve_with_incoming_shutdown(incoming, signal);
    let grace = settings.server.shutdown_grace;
    tokio::select! {
        r = serving => r.context("serving")?,
        _ = async { let _ = stopping_rx.await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "calls still in flight after the shutdown grace; stopping anyway");
        }
    }
    // Write streams still open store what they hold before the process
    // goes; their stores are bounded by the database and object store
    // timeouts.
    app.stopping.cancel();
    app.writes.close();
    if tokio::time::timeout(WRITES_SETTLE, app.writes.wait())
        .await
        .is_err()
    {
        tracing::warn!("write streams still storing after {WRITES_SETTLE:?}; stopping anyway");
    }
    sweeper.abort();
    derivatives.abort();
    overdue.abort();
    webhooks.abort();
    app.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

const STREAM_WINDOW: u32 = 1024 * 1024;
const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// The longest the server waits on stopping for write streams to store
/// what they hold.
const WRITES_SETTLE: std::time::Duration = std::time::Duration::from_secs(30);
const CONNECTION_WINDOW: u32 = 4 * 1024 * 1024;

/// Removes expired uploads every `upload_sweep_interval`, so their bytes
/// are gone within one interval of expiring. Every replica may run it: the
/// work is idempotent.
async fn sweep_expired_uploads(app: App) {
    let mut every = tokio::time::interval(app.jobs.upload_sweep_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match app.clean_expired_uploads(app.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired uploads removed"),
            Err(e) => tracing::warn!(error = %e, "removing expired uploads failed"),
        }
    }
}

/// Runs derivative jobs as they come: at once for photos stored by this
/// process, and every few seconds for those of other processes or retries.
async fn make_derivatives(app: App) {
    let workers = app.jobs.derivative_workers;
    if workers == 0 {
        return;
    }
    loop {
        match app.run_derivative_jobs(workers).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "claiming derivative jobs failed"),
        }
        tokio::select! {
            _ = app.derivatives_due.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
        }
    }
}

/// Marks records overdue as deadlines pass (what `app::overdue::SCANNED`
/// lists), now and then. Every replica may run it: each is escalated once.
async fn scan_overdue(app: App) {
    let mut every = tokio::time::interval(app.jobs.overdue_scan_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let today = crate::domain::calendar::china_date(app.now());
        for (lapse, opened) in app.scan_overdue(today).await {
            match opened {
                Ok(0) => {}
                Ok(n) => tracing::info!(?lapse, cases = n, "overdue records escalated"),
                Err(e) => tracing::warn!(?lapse, error = %e, "scanning for overdue records failed"),
            }
        }
    }
}

/// Delivers events to webhooks: at once for events of this process, and
/// every second for those of other processes and for retries that are due.
async fn deliver_webhooks(app: App) {
    loop {
        let appended = app.store.appended.notified();
        tokio::pin!(appended);
        appended.as_mut().enable();
        match app.deliver_webhooks().await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "delivering webhooks failed"),
        }
        tokio::select! {
            _ = appended => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
