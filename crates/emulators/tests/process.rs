//! `provider-emulator` as a process: it announces its addresses, answers in its vendor's format
//! with the faults asked for, and reports what it saw.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_provider-emulator");

/// A plain HTTP/1.1 exchange: answers the status and body.
fn request(base: &str, method: &str, path: &str) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    write!(stream, "{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default())
}

#[test]
fn bad_arguments_are_explained() {
    for args in
        [&[][..], &["nosuch", "--key", "k"][..], &["kling"][..], &["kling", "--key", "k", "--fault-rate", "lots"][..]]
    {
        let output = Command::new(BIN).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("usage: provider-emulator"), "{args:?}");
    }
}

#[test]
fn it_serves_its_vendor_with_the_faults_asked_for_and_reports_them() {
    let mut child = Command::new(BIN)
        .args(["kling", "--key", "ak", "--secret", "sk", "--fault-rate", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let (base, stats) = line.trim().split_once(' ').unwrap();
    // Every request fails at a rate of 1, alternately throttled and a server error; a missing
    // key is refused before faults are played, as Kling does.
    let (first, _) = request(base, "GET", "/v1/images/generations/some-task");
    assert!([401, 429, 500].contains(&first), "{first}");
    let (status, body) = request(stats, "GET", "/_emulator/stats");
    assert_eq!(status, 200);
    assert!(body.contains("\"calls\":1"), "{body}");
    assert!(body.contains("\"jobs\":{}"), "{body}");
    let _ = child.kill();
    let _ = child.wait();
}
