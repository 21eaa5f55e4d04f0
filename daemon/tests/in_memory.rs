//! `serve` over in-memory connections: no socket file, no bind, the same
//! service. What a test of the gRPC layer needs, and the proof that the
//! server takes any stream of connections.

use std::sync::Arc;

use dbcreds::proto::v1::{self, agent_client::AgentClient};
use dbcreds_agent::server;
use dbcreds_agent::state::Agent;
use dbcreds_agent::transport::{Peer, PeerStream};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;
use tokio_stream::StreamExt;

#[tokio::test]
async fn the_service_answers_over_a_duplex_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Arc::new(Agent::open(&dir.path().join("vault.db"), Default::default()).await);
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let peer = Peer {
        pid: Some(4242),
        uid: Some(1000),
        exe: Some("/usr/bin/in-memory".into()),
    };
    // One connection, then none: a stream that ended would shut tonic down.
    let incoming = tokio_stream::iter([Ok::<_, std::io::Error>(PeerStream::new(server_io, peer))])
        .chain(tokio_stream::pending());
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(server::serve(incoming, agent, async {
        let _ = stopped.await;
    }));

    let mut client_io = Some(client_io);
    let channel = tonic::transport::Endpoint::from_static("http://in-memory")
        .connect_with_connector(tower::service_fn(move |_| {
            let io = client_io.take();
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("one connection only"))
            }
        }))
        .await
        .expect("connect");
    let mut client = AgentClient::new(channel);

    let status = client
        .status(v1::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(status.protocol, dbcreds::proto::PROTOCOL);
    assert_eq!(status.pid, std::process::id());
    assert!(
        status.vault_path.ends_with("vault.db"),
        "{}",
        status.vault_path
    );
    // No vault yet: the agent says so instead of failing the connection.
    let err = client.list(v1::ListRequest {}).await.expect_err("no vault");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");

    drop(client);
    let _ = stop.send(());
    served.await.expect("join").expect("serve");
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "serving in memory created files in the vault directory"
    );
}
