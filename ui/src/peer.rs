//! Only the page's own user may connect. A loopback TCP port is open to
//! every local user, and cookies are not kept apart by port (a server of
//! another user on 127.0.0.1 receives the session cookie from the browser),
//! so on Linux each accepted connection's peer socket is looked up in
//! `/proc/net/tcp` (as identd does) and a connection of another uid is
//! closed before a byte is read. Elsewhere the token and cookie stand alone.

use std::net::SocketAddr;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};

/// A listener that hands over only the connections of `uid`.
pub struct SameUser {
    inner: TcpListener,
    uid: u32,
}

impl SameUser {
    /// Filters `inner`'s connections to those of this process's user.
    pub fn new(inner: TcpListener) -> Self {
        Self {
            inner,
            uid: own_uid(),
        }
    }
}

impl Listener for SameUser {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, peer) = Listener::accept(&mut self.inner).await;
            let local = match stream.local_addr() {
                Ok(a) => a,
                Err(_) => continue,
            };
            match owner(peer, local) {
                Some(uid) if uid == self.uid => return (stream, peer),
                Some(uid) => {
                    eprintln!("dbcreds ui: refused a connection of another user (uid {uid})")
                }
                // Gone already, or not to be found: refused, never guessed.
                None => eprintln!("dbcreds ui: refused a connection whose user is unknown"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Listener::local_addr(&self.inner)
    }
}

fn own_uid() -> u32 {
    #[cfg(unix)]
    {
        rustix::process::getuid().as_raw()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// The uid owning the client end of the connection from `peer` to `local`.
#[cfg(target_os = "linux")]
fn owner(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    owner_in(&table, peer, local)
}

/// Other systems have no such table here: the token and cookie decide.
#[cfg(not(target_os = "linux"))]
fn owner(_peer: SocketAddr, _local: SocketAddr) -> Option<u32> {
    Some(own_uid())
}

/// In a `/proc/net/tcp` table, the uid of the socket whose local address is
/// `peer` and whose remote address is `local`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn owner_in(table: &str, peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let (want_local, want_remote) = (hex_addr(peer)?, hex_addr(local)?);
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (l, r, uid) = (f.get(1)?, f.get(2)?, f.get(7)?);
        (parse_hex_addr(l)? == want_local && parse_hex_addr(r)? == want_remote)
            .then(|| uid.parse().ok())
            .flatten()
    })
}

/// An IPv4 address as the kernel's table holds it: the address's bytes
/// read as a native integer, and the port.
fn hex_addr(a: SocketAddr) -> Option<(u32, u16)> {
    match a {
        SocketAddr::V4(v4) => Some((u32::from_ne_bytes(v4.ip().octets()), v4.port())),
        SocketAddr::V6(_) => None,
    }
}

/// `0100007F:1F90` into the address integer and the port.
fn parse_hex_addr(s: &str) -> Option<(u32, u16)> {
    let (ip, port) = s.split_once(':')?;
    Some((
        u32::from_str_radix(ip, 16).ok()?,
        u16::from_str_radix(port, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_end_of_a_connection_is_found() {
        // Little-endian layout, as on x86-64 and aarch64.
        let ip = format!("{:08X}", u32::from_ne_bytes([127, 0, 0, 1]));
        let table = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             0: {ip}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n\
             1: {ip}:1F90 {ip}:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n\
             2: {ip}:D431 {ip}:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 3 1\n"
        );
        let server: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let client: SocketAddr = "127.0.0.1:54321".parse().unwrap();
        assert_eq!(owner_in(&table, client, server), Some(1000));
        let other: SocketAddr = "127.0.0.1:54322".parse().unwrap();
        assert_eq!(owner_in(&table, other, server), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn our_own_connection_is_ours() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = l.local_addr().unwrap();
        let c = std::net::TcpStream::connect(server).unwrap();
        let (_s, client) = l.accept().unwrap();
        assert_eq!(client, c.local_addr().unwrap());
        assert_eq!(owner(client, server), Some(own_uid()));
    }
}
