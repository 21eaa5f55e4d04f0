//! The configuration file as the CLI and the agent read it.

use dbcreds_tests::Sandbox;

use crate::doctor::finding;

/// The config's `socket` key moves the socket for both sides: the agent the
/// CLI starts listens there, every command dials it, and nothing listens on
/// the default `$DBCREDS_HOME/agent.sock` beside it.
#[test]
fn the_config_socket_key_is_where_the_agent_listens_and_the_cli_dials() {
    let mut sb = Sandbox::with_keyring();
    let socket = sb.root().join("elsewhere/agent.sock");
    assert_ne!(socket, sb.socket());
    let config = format!("socket = {:?}\n", socket.display().to_string());
    sb.write_config(&config);

    sb.init_keyring();
    let password = sb.add_unique("prod");
    sb.assert_password("prod", &password);

    let status = sb.cli(&["status", "--json"]);
    status.ok();
    assert_eq!(
        status.json()["socket"].as_str(),
        socket.to_str(),
        "status must report the config's socket:\n{status}"
    );
    assert!(
        socket.exists(),
        "nothing at the config's socket {}",
        socket.display()
    );
    assert!(
        !sb.socket().exists(),
        "an agent listens at the default {} too",
        sb.socket().display()
    );
    let agents = sb.agent_pids();
    assert_eq!(
        agents,
        [sb.agent_pid()],
        "exactly one agent serves the sandbox, the one status reports"
    );

    let doctor = sb.cli(&["doctor", "--json"]);
    let dir = socket.parent().expect("socket dir").display().to_string();
    let detail = finding(&doctor, "socket")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains(&dir),
        "doctor must check the config's socket ({}):\n{doctor}",
        socket.display()
    );
    doctor.ok();
}
