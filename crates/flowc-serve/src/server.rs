//! The listener, the routes and what bounds them.
//!
//! Connections are served one task each by hyper's HTTP/1.1 server (the
//! TLS proxy in front speaks HTTP/2 to browsers if it likes): a client
//! that has not sent a whole request head within [`HEADER_TIMEOUT`] is
//! disconnected, idle keep-alive connections included, so slow or idle
//! clients hold nothing but a small task; at most [`MAX_CONNECTIONS`] are
//! served at once (more are closed at once, so the server keeps
//! answering). A request (its body included) must finish within
//! [`REQUEST_TIMEOUT`] (else `408`), and a body may hold at most
//! [`MAX_BODY`] bytes (else `413`, before it is read when its length is
//! declared).

use crate::writer::{Job, Opener, Writer};
use crate::{App, Config, admin, approvals, forms, hooks, pages, public};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// The largest request body (a webhook's, a form's).
pub const MAX_BODY: usize = 1024 * 1024;

/// How long a client may take to send a request's head (and how long an
/// idle connection is kept).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request may take, body and answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 4096;

/// How long a shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(5);

/// The socket `flowc serve` listens on, bound before the engine starts so
/// that a port in use is an error at once.
pub struct Listener {
    socket: std::net::TcpListener,
}

impl Listener {
    /// Binds `addr` (`HOST:PORT`; port 0 picks a free one).
    pub fn bind(addr: &str) -> Result<Listener, String> {
        let socket = std::net::TcpListener::bind(addr)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        Ok(Listener { socket })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, String> {
        self.socket.local_addr().map_err(|e| e.to_string())
    }
}

/// Tells [`serve`] to stop (from any thread, before or while it runs).
#[derive(Clone, Default)]
pub struct Shutdown(Arc<Notify>);

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    pub fn trigger(&self) {
        self.0.notify_one();
    }

    async fn wait(&self) {
        self.0.notified().await;
    }
}

/// The routes (every later page or endpoint is one more).
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/o/{token}", get(public::open))
        .route("/c/{token}", get(public::click))
        .route(
            "/u/{token}",
            get(public::opt_out_page).post(public::opt_out),
        )
        .route("/a/{token}", get(approvals::page).post(approvals::decide))
        .route(
            "/forms/{name}",
            post(forms::submit).get(|| async { pages::form_takes_posts() }),
        )
        .route("/hooks/{event}", post(hooks::hook))
        .route("/bounces", post(hooks::bounce))
        .merge(admin::routes())
        .fallback(|| async { pages::not_found() })
        .with_state(app)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
}

/// Answers HTTP on `listener` until `shutdown` is triggered, SIGINT or
/// SIGTERM arrives; the database through stores from `open` (one for the
/// writer, again when its connection is lost).
pub fn serve(
    listener: Listener,
    config: Config,
    open: Opener,
    shutdown: Shutdown,
) -> Result<(), String> {
    let writer = Writer::start(open.clone())?;
    crate::checkpoint::start(open.clone())?;
    let schema = Arc::new(config.schema);
    let console = admin::Console::new(
        config.secrets.sessions,
        config.secure_cookies,
        config.project,
        schema.clone(),
        open,
    );
    let app = Arc::new(App {
        secret: config.secrets.tokens,
        signing: config.secrets.webhooks,
        schema,
        admin: config.admin,
        writer: writer.clone(),
        forms: config.forms,
        console,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("flowc-serve")
        .build()
        .map_err(|e| format!("cannot start the HTTP server: {e}"))?;
    runtime.block_on(async move {
        let socket = tokio::net::TcpListener::from_std(listener.socket)
            .map_err(|e| format!("cannot listen: {e}"))?;
        tokio::spawn(housekeeping(writer));
        accept(socket, router(app), shutdown).await;
        Ok(())
    })
}

/// Forgets expired `Idempotency-Key`s now and every hour.
async fn housekeeping(writer: Writer) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        writer.tell(Job::Housekeeping).await;
    }
}

/// SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Accepts connections until told to stop, then lets requests in flight
/// finish (for [`DRAIN`] at most).
async fn accept(socket: tokio::net::TcpListener, router: Router, shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true)
        .max_buf_size(64 * 1024);
    let stop = async {
        tokio::select! {
            _ = shutdown.wait() => {}
            _ = signal() => {}
        }
    };
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut stop => break,
            accepted = socket.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, a connection reset before
                    // it was accepted…: wait a little, go on.
                    eprintln!("warning: flowc serve: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(socket);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => {}
    }
}
