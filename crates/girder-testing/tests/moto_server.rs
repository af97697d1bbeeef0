//! The moto harness starts a real moto server and stops it.

use girder_testing::moto::MotoServer;

#[test]
fn moto_starts_answers_and_stops() {
    let server =
        MotoServer::start().expect("moto_server must be installed: run scripts/python-deps.sh");
    let port = server.port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    server.reset().unwrap();
    drop(server);
    // Dropping kills the server and waits for it; the port stops answering (polled, with a
    // generous deadline, in case a child of moto held the socket a moment longer).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} still answers after the server was dropped"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
