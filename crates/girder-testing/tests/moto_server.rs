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
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
