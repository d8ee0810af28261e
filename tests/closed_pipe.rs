//! A closed pipe (`scrub837 ... | head`) is not an error: the command stops quietly, prints
//! no partial summary and exits 0.

use std::io::Read;
use std::process::{Command, Stdio};

/// Runs the binary with `args`, reads `keep` bytes of its standard output, closes the pipe,
/// and returns its exit code and standard error.
fn run_and_close_early(args: &[&str], keep: usize) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scrub837"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = child.stdout.take().expect("piped");
    let mut head = vec![0u8; keep];
    stdout
        .read_exact(&mut head)
        .expect("some output before closing");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("stderr reads");
    let status = child.wait().expect("the binary ends");
    (status.code(), stderr)
}

#[test]
fn generate_to_a_closed_pipe_exits_0_quietly() {
    // 20,000 claims are about 12 MB: far more than a pipe holds.
    let (code, stderr) = run_and_close_early(&["generate", "--claims", "20000"], 4096);
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn check_to_a_closed_pipe_exits_0_with_no_summary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("claims.837");
    scrub837::generate::write_file(&file, 20_000).unwrap();
    let (code, stderr) =
        run_and_close_early(&["check", file.to_str().unwrap(), "--format", "json"], 4096);
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("summary"), "a partial summary: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn printing_rules_to_a_closed_pipe_exits_0_quietly() {
    // `rules` prints with print!, which panics on a closed pipe unless the cli catches it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_scrub837"))
        .args(["rules"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close standard output before the program writes anything.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn checking_several_inputs_to_a_closed_pipe_prints_no_run_total() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["check".to_string()];
    for n in 0..2 {
        let file = dir.path().join(format!("night-{n}.837"));
        scrub837::generate::write_file(&file, 10_000).unwrap();
        args.push(file.to_str().unwrap().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for format in [&[][..], &["--format", "json"][..]] {
        let mut with_format = args.clone();
        with_format.extend_from_slice(format);
        let (code, stderr) = run_and_close_early(&with_format, 4096);
        assert_eq!(code, Some(0), "{format:?} stderr: {stderr}");
        assert!(
            !stderr.contains("run total"),
            "{format:?}: a partial run total: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
