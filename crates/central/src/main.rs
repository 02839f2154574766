//! `central --listen ADDR --database URL [--tls-cert PEM --tls-key PEM --client-ca PEM]`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

/// Reference central server for gates: event ingest, queries, list publishing.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on, e.g. 0.0.0.0:8443.
    #[arg(long)]
    listen: SocketAddr,
    /// Storage: `sqlite:PATH` (embedded) or `postgres://user@host:port/db`.
    #[arg(long)]
    database: String,
    /// PEM certificate chain of this server (turns on TLS; needs --tls-key and --client-ca).
    #[arg(long, requires_all = ["tls_key", "client_ca"])]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the server certificate.
    #[arg(long, requires_all = ["tls_cert", "client_ca"])]
    tls_key: Option<PathBuf>,
    /// PEM CA certificate(s) gate client certificates must chain to (mutual TLS).
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    client_ca: Option<PathBuf>,
    /// PostgreSQL connections per replica.
    #[arg(long, default_value_t = 8)]
    pool_size: usize,
    /// Where to log: the journal under systemd (auto), the journal's native socket, or text or
    /// JSON lines on stderr. Filter with RUST_LOG (e.g. `info,central::http=debug`).
    #[arg(long, value_enum, value_name = "WHERE", default_value_t)]
    log: gate_logging::LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(err) = gate_logging::init(args.log, "RUST_LOG") {
        eprintln!("central: {err}");
        return ExitCode::FAILURE;
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("central: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let database = args.database.clone();
        let pool_size = args.pool_size;
        let storage: Arc<dyn central::storage::Storage> = Arc::from(
            tokio::task::spawn_blocking(move || {
                central::storage::open_storage(&database, pool_size)
            })
            .await
            .context("opening storage")??,
        );
        let tls = match (&args.tls_cert, &args.tls_key, &args.client_ca) {
            (Some(cert), Some(key), Some(ca)) => Some(tokio_rustls::TlsAcceptor::from(
                central::tls::server_config(cert, key, ca)?,
            )),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let address = listener.local_addr().context("reading the bound address")?;
        if tls.is_some() {
            tracing::info!(%address, storage = storage.backend(), "central listening (TLS, client certificates required)");
        } else {
            tracing::warn!(%address, storage = storage.backend(), "central listening on PLAIN HTTP without TLS: for loopback and demos only");
        }
        central::http::serve(listener, storage, tls, shutdown_signal()).await?;
        tracing::info!("central stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
}
