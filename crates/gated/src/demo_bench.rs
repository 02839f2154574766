//! The client side of a demo bench (`[simulation] demo_bench`): hands a traveller to the TEST
//! TOOL `demo-bench` of the `virtual-epassport` crate, which stands in front of a gate whose
//! devices are real (a PC/SC reader, an MRZ scanner, a camera) and puts that traveller's
//! passport and face before them.
//!
//! The exchange is [`gate_protocol::demo_bench`]'s: one JSON line each way.

use gate_protocol::SimulatedTraveller;
use gate_protocol::demo_bench::{BenchAnswer, BenchRequest};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// How long the bench may take to lay a passport down and show a face.
pub const BENCH_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors handing a traveller to the bench.
#[derive(Debug, thiserror::Error)]
pub enum DemoBenchError {
    /// The socket could not be reached.
    #[error("demo bench at {path}: {source} (is `demo-bench` running?)")]
    Connect {
        /// The bench's socket.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The exchange failed or timed out.
    #[error("demo bench at {path}: {message}")]
    Exchange {
        /// The bench's socket.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The bench could not play this traveller.
    #[error("the demo bench cannot play this traveller: {0}")]
    Refused(String),
}

/// Hands `traveller` to the bench at `socket` and returns the scene it set.
pub async fn hand_over(
    socket: &Path,
    traveller: SimulatedTraveller,
) -> Result<String, DemoBenchError> {
    let exchange = |message: String| DemoBenchError::Exchange {
        path: socket.to_owned(),
        message,
    };
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|source| DemoBenchError::Connect {
            path: socket.to_owned(),
            source,
        })?;
    let (read, mut write) = stream.into_split();
    let mut line =
        serde_json::to_string(&BenchRequest { traveller }).map_err(|e| exchange(e.to_string()))?;
    line.push('\n');
    let answer = async {
        write.write_all(line.as_bytes()).await?;
        let mut answer = String::new();
        BufReader::new(read).read_line(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(BENCH_ANSWER_TIMEOUT, answer)
        .await
        .map_err(|_| {
            exchange(format!(
                "no answer within {} s",
                BENCH_ANSWER_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| exchange(e.to_string()))?;
    match serde_json::from_str::<BenchAnswer>(answer.trim()) {
        Ok(BenchAnswer::Scene(scene)) => Ok(scene),
        Ok(BenchAnswer::Error(why)) => Err(DemoBenchError::Refused(why)),
        Err(e) => Err(exchange(format!("unreadable answer: {e}"))),
    }
}
