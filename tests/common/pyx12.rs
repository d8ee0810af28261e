//! pyx12 4.0.0, the external oracle the writer tests run on what we write.
//!
//! `$PYX12_VENV` names a virtual environment to use (`.ci/run` sets one up); without it the
//! tests make `target/pyx12-venv` (`python3 -m venv`, `pip install pyx12==4.0.0`) on first use.
//! Without network access that fails with a clear message: the tests never skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const PYX12: &str = "pyx12==4.0.0";

/// The x12valid script of a pyx12 4.0.0 virtual environment, set up once per test run.
pub fn x12valid() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(venv) = std::env::var_os("PYX12_VENV") {
            let script = Path::new(&venv).join("bin/x12valid");
            if !script.is_file() {
                install(Path::new(&venv));
            }
            return script;
        }
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyx12-venv");
        install(&venv);
        venv.join("bin/x12valid")
    })
    .clone()
}

/// Creates the venv at `venv` and installs pyx12 into it; a marker file written last tells a
/// finished venv from one an interrupted run left half made (a venv cannot be moved once
/// made: its scripts name their interpreter by absolute path).
fn install(venv: &Path) {
    let marker = venv.join(".pyx12-installed");
    if marker.is_file() {
        return;
    }
    let _ = std::fs::remove_dir_all(venv);
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .expect("python3 is needed to set up pyx12 (python3 -m venv)");
    assert!(
        status.success(),
        "python3 -m venv {} failed",
        venv.display()
    );
    let out = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", PYX12])
        .output()
        .expect("run pip");
    assert!(
        out.status.success(),
        "pip install {PYX12} failed (is the network reachable? set PYX12_VENV to a venv that \
         has pyx12 to test offline):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        venv.join("bin/x12valid").is_file(),
        "pyx12 installed but {} has no bin/x12valid",
        venv.display()
    );
    std::fs::write(&marker, PYX12).expect("write the venv marker");
}
