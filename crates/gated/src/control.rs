//! The control socket: a Unix stream socket speaking [`gate_protocol`] lines.
//!
//! Access is limited twice: by the socket file's mode and group, and, per connection, by the
//! peer's credentials (`SO_PEERCRED`): root, gated's own user and members of the configured
//! group are served; anyone else is answered `permission_denied` and disconnected. Requests are
//! forwarded to the main loop, which owns all state, so answers are always consistent.

use gate_protocol::{ErrorCode, MAX_LINE_BYTES, Request, ResponseEnvelope, VERSION, parse_request};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// A request for the main loop, with the channel for its answer.
#[derive(Debug)]
pub struct ControlRequest {
    /// The request.
    pub request: Request,
    /// The request's id.
    pub id: u64,
    /// Where the main loop sends the answer.
    pub reply: oneshot::Sender<ResponseEnvelope>,
    /// Who asked: recorded with every officer action.
    pub actor: Actor,
}

/// Who sent a control request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A process on the control socket (`gatectl`), by its user id.
    Socket {
        /// The peer's user id (`SO_PEERCRED`).
        uid: u32,
    },
    /// An officer signed in to the officer view.
    Officer {
        /// The officer's configured id.
        id: String,
    },
}

impl Actor {
    /// How the actor is recorded: `officer:NRT-4471` or `uid:1000`.
    pub fn recorded_as(&self) -> String {
        match self {
            Actor::Socket { uid } => format!("uid:{uid}"),
            Actor::Officer { id } => format!("officer:{id}"),
        }
    }

    /// Where the request came from: `officer_view` or `control_socket`.
    pub fn via(&self) -> &'static str {
        match self {
            Actor::Socket { .. } => "control_socket",
            Actor::Officer { .. } => "officer_view",
        }
    }
}

/// Errors setting up the socket.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The socket's directory could not be created.
    #[error("cannot create socket directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Something that is not a socket is in the way.
    #[error("{path} exists and is not a socket; refusing to remove it")]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// Binding or setting permissions failed.
    #[error("cannot set up control socket {path}: {source}")]
    Bind {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configured group does not exist.
    #[error("control group {0:?} does not exist")]
    UnknownGroup(String),
}

/// Who may talk to the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessPolicy {
    /// gated's own effective uid.
    pub own_uid: u32,
    /// The group whose members are allowed.
    pub group: Option<u32>,
}

/// A connecting peer, as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Effective uid.
    pub uid: u32,
    /// Effective gid.
    pub gid: u32,
    /// Supplementary groups (from /proc, empty when unknown).
    pub groups: Vec<u32>,
}

impl AccessPolicy {
    /// Whether `peer` may use the socket.
    pub fn allows(&self, peer: &Peer) -> bool {
        peer.uid == 0
            || peer.uid == self.own_uid
            || self
                .group
                .is_some_and(|group| peer.gid == group || peer.groups.contains(&group))
    }
}

/// Supplementary groups of a process, from `/proc/PID/status`.
fn supplementary_groups(pid: Option<i32>) -> Vec<u32> {
    let Some(pid) = pid else {
        return Vec::new();
    };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Groups:"))
                .map(|groups| {
                    groups
                        .split_whitespace()
                        .filter_map(|g| g.parse().ok())
                        .collect()
                })
        })
        .unwrap_or_default()
}

/// Binds the socket at `path` with `mode` and `group`, replacing a stale socket file.
pub fn bind(
    path: &Path,
    mode: u32,
    group: Option<&str>,
) -> Result<(UnixListener, AccessPolicy), ControlError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ControlError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path).map_err(|source| ControlError::Bind {
                path: path.to_owned(),
                source,
            })?;
        }
        Ok(_) => {
            return Err(ControlError::NotASocket {
                path: path.to_owned(),
            });
        }
        Err(_) => {}
    }
    let bind_err = |source| ControlError::Bind {
        path: path.to_owned(),
        source,
    };
    let listener = UnixListener::bind(path).map_err(bind_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(bind_err)?;
    let gid = match group {
        None => None,
        Some(name) => {
            let group = nix::unistd::Group::from_name(name)
                .ok()
                .flatten()
                .ok_or_else(|| ControlError::UnknownGroup(name.to_owned()))?;
            std::os::unix::fs::chown(path, None, Some(group.gid.as_raw())).map_err(bind_err)?;
            Some(group.gid.as_raw())
        }
    };
    let policy = AccessPolicy {
        own_uid: nix::unistd::geteuid().as_raw(),
        group: gid,
    };
    Ok((listener, policy))
}

/// Accepts connections until the task is dropped.
pub async fn serve(
    listener: UnixListener,
    policy: AccessPolicy,
    to_main: mpsc::Sender<ControlRequest>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let to_main = to_main.clone();
                tokio::spawn(async move {
                    if let Err(err) = connection(stream, policy, to_main).await {
                        tracing::debug!(error = %err, "control connection ended");
                    }
                });
            }
            Err(err) => {
                tracing::warn!(error = %err, "control socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(
    stream: UnixStream,
    policy: AccessPolicy,
    to_main: mpsc::Sender<ControlRequest>,
) -> std::io::Result<()> {
    let cred = stream.peer_cred()?;
    let peer = Peer {
        uid: cred.uid(),
        gid: cred.gid(),
        groups: supplementary_groups(cred.pid()),
    };
    let (read, mut write) = stream.into_split();
    if !policy.allows(&peer) {
        tracing::warn!(uid = peer.uid, gid = peer.gid, "control connection refused");
        let line = ResponseEnvelope::error(
            0,
            ErrorCode::PermissionDenied,
            "not allowed to use the gate's control socket",
        )
        .to_line()
        .unwrap_or_default();
        write.write_all(line.as_bytes()).await?;
        return Ok(());
    }
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if buf.last() != Some(&b'\n') && buf.len() as u64 >= limit {
            let line = ResponseEnvelope::error(0, ErrorCode::BadRequest, "request line too long")
                .to_line()
                .unwrap_or_default();
            write.write_all(line.as_bytes()).await?;
            return Ok(());
        }
        let line = String::from_utf8_lossy(&buf);
        let response = match parse_request(line.trim_end()) {
            Err(err) => ResponseEnvelope::error(0, ErrorCode::BadRequest, err.to_string()),
            Ok(envelope) if envelope.version != VERSION => ResponseEnvelope::error(
                envelope.id,
                ErrorCode::UnsupportedVersion,
                format!(
                    "this gated speaks protocol version {VERSION}, not {}",
                    envelope.version
                ),
            ),
            Ok(envelope) => {
                let (reply, answer) = oneshot::channel();
                let request = ControlRequest {
                    request: envelope.request,
                    id: envelope.id,
                    reply,
                    actor: Actor::Socket { uid: peer.uid },
                };
                if to_main.send(request).await.is_err() {
                    ResponseEnvelope::error(
                        envelope.id,
                        ErrorCode::NotAvailable,
                        "gated is stopping",
                    )
                } else {
                    answer.await.unwrap_or_else(|_| {
                        ResponseEnvelope::error(
                            envelope.id,
                            ErrorCode::NotAvailable,
                            "gated is stopping",
                        )
                    })
                }
            }
        };
        let line = response
            .to_line()
            .unwrap_or_else(|_| "{\"version\":1,\"id\":0,\"error\":{\"code\":\"internal\",\"message\":\"unencodable response\"}}\n".into());
        write.write_all(line.as_bytes()).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(uid: u32, gid: u32, groups: &[u32]) -> Peer {
        Peer {
            uid,
            gid,
            groups: groups.to_vec(),
        }
    }

    #[test]
    fn access_rules() {
        let policy = AccessPolicy {
            own_uid: 990,
            group: Some(995),
        };
        assert!(policy.allows(&peer(0, 0, &[])), "root");
        assert!(policy.allows(&peer(990, 990, &[])), "gated itself");
        assert!(policy.allows(&peer(1000, 995, &[])), "primary group");
        assert!(
            policy.allows(&peer(1000, 1000, &[27, 995])),
            "supplementary group"
        );
        assert!(!policy.allows(&peer(1000, 1000, &[27])), "stranger");
        let no_group = AccessPolicy {
            own_uid: 990,
            group: None,
        };
        assert!(!no_group.allows(&peer(1000, 995, &[995])));
    }

    #[test]
    fn own_groups_are_read_from_proc() {
        let groups = supplementary_groups(Some(std::process::id() as i32));
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let expected = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
        assert_eq!(groups.len(), expected.split_whitespace().count() - 1);
    }
}
