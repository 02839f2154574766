//! `central --listen ADDR --database URL [--tls-cert PEM --tls-key PEM --client-ca PEM]
//! [--public-listen ADDR]` serves
//! (also as `central serve ...`); `central accounts ...` manages the console's operator
//! accounts and `central lists publish ...` publishes a list, both on the central host against
//! the database directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

/// Reference central server for gates: event ingest, queries, list publishing, the operator
/// console.
#[derive(Debug, Parser)]
#[command(
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the API and the console (the same as giving the serving options alone).
    Serve(ServeArgs),
    /// Manages the console's operator accounts (in the database, as the unix user running it).
    Accounts(central::console::cli::AccountsArgs),
    /// Publishes lists (in the database, audited as the unix user running it).
    Lists(central::console::cli::ListsArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:8443.
    #[arg(long, required = true)]
    listen: Option<SocketAddr>,
    /// Storage: `sqlite:PATH` (embedded) or `postgres://user@host:port/db`.
    #[arg(long, required = true)]
    database: Option<String>,
    /// PEM certificate chain of this server (turns on TLS; needs --tls-key and --client-ca).
    #[arg(long, requires_all = ["tls_key", "client_ca"])]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the server certificate.
    #[arg(long, requires_all = ["tls_cert", "client_ca"])]
    tls_key: Option<PathBuf>,
    /// PEM CA certificate(s) gate client certificates must chain to (mutual TLS).
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    client_ca: Option<PathBuf>,
    /// A second address serving only the public pages (`/waiting`, `/v1/waiting-times`,
    /// `/v1/health`) over plain HTTP, for travellers' screens and the airport's web site when
    /// the main listener requires client certificates.
    #[arg(long)]
    public_listen: Option<SocketAddr>,
    /// PostgreSQL connections per replica.
    #[arg(long, default_value_t = 8)]
    pool_size: usize,
    /// Where to log: the journal under systemd (auto), the journal's native socket, or text or
    /// JSON lines on stderr. Filter with RUST_LOG (e.g. `info,central::http=debug`).
    #[arg(long, value_enum, value_name = "WHERE", default_value_t)]
    log: gate_logging::LogFormat,
}

/// The serving options, checked: clap makes `--listen` and `--database` required unless a
/// subcommand is given.
struct ServeConfig {
    listen: SocketAddr,
    database: String,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    public_listen: Option<SocketAddr>,
    pool_size: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serve = match cli.command {
        Some(Command::Accounts(accounts)) => {
            return report(central::console::cli::accounts(accounts));
        }
        Some(Command::Lists(lists)) => return report(central::console::cli::lists(lists)),
        Some(Command::Serve(serve)) => serve,
        None => cli.serve,
    };
    if let Err(err) = gate_logging::init(serve.log, "RUST_LOG") {
        eprintln!("central: {err}");
        return ExitCode::FAILURE;
    }
    let (Some(listen), Some(database)) = (serve.listen, serve.database) else {
        eprintln!("central: --listen and --database are required");
        return ExitCode::FAILURE;
    };
    let args = ServeConfig {
        listen,
        database,
        tls_cert: serve.tls_cert,
        tls_key: serve.tls_key,
        client_ca: serve.client_ca,
        public_listen: serve.public_listen,
        pool_size: serve.pool_size,
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("central: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The exit status of a command-line action; its error on stderr.
fn report(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("central: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: ServeConfig) -> anyhow::Result<()> {
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
        let api = central::http::Api::new(storage).await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let stop_on = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            // An error means the sender is gone: stop as well.
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let public = match args.public_listen {
            Some(public_address) => {
                let public_listener = tokio::net::TcpListener::bind(public_address)
                    .await
                    .with_context(|| format!("binding the public listener {public_address}"))?;
                tracing::info!(address = %public_address, "public pages (waiting times) on plain HTTP");
                Some(tokio::spawn(central::http::serve_app(
                    public_listener,
                    central::http::public_router(api.clone()),
                    None,
                    stop_on(stopped.clone()),
                )))
            }
            None => None,
        };
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        central::http::serve_app(listener, central::http::router(api), tls, stop_on(stopped))
            .await?;
        if let Some(public) = public {
            public.await.context("the public listener")??;
        }
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
