//! Output files that appear whole or not at all.
//!
//! An [`OutputFile`] is written as a file with no name in the output directory (Linux
//! `O_TMPFILE`): if the process dies before [`OutputFile::commit`], the kernel drops it and
//! nothing is left behind. Commit gives it a name: linked straight to its final name when that
//! is free, else linked to a hidden temporary name and renamed over the old file, so an
//! existing output is replaced only by a complete one. Where `O_TMPFILE` is not available
//! (other systems, some file systems) a hidden named temporary file
//! (`.scrub837-partial-{pid}-*`) is used and renamed; a process killed mid-write can then leave
//! that hidden file behind, never a half-written output under an output's name. The same hidden
//! name can also outlive a process killed between the link and the rename of a replacement.
//! [`remove_leftovers`] deletes such files once the process that made them is gone; `scrub`
//! calls it on its output directory at start.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Prefix of the hidden temporary names.
pub const PARTIAL_PREFIX: &str = ".scrub837-partial-";

/// A file being written in `dir`, named only when complete.
pub struct OutputFile {
    writer: BufWriter<File>,
    dir: PathBuf,
    named: Option<tempfile::TempPath>,
}

impl OutputFile {
    /// Starts an output in `dir`.
    pub fn create(dir: &Path) -> io::Result<OutputFile> {
        match unnamed_in(dir) {
            Ok(file) => Ok(OutputFile {
                writer: BufWriter::with_capacity(256 * 1024, file),
                dir: dir.to_path_buf(),
                named: None,
            }),
            Err(_) => {
                let temp = tempfile::Builder::new()
                    .prefix(&format!("{PARTIAL_PREFIX}{}-", std::process::id()))
                    .tempfile_in(dir)?;
                let (file, path) = temp.into_parts();
                Ok(OutputFile {
                    writer: BufWriter::with_capacity(256 * 1024, file),
                    dir: dir.to_path_buf(),
                    named: Some(path),
                })
            }
        }
    }

    /// Flushes, syncs and gives the file its final name `name` in the directory, replacing
    /// any file of that name.
    pub fn commit(self, name: &str) -> io::Result<PathBuf> {
        let target = self.dir.join(name);
        let file = self.writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        match self.named {
            Some(path) => {
                path.persist(&target).map_err(|e| e.error)?;
            }
            None => link_unnamed(&file, &self.dir, &target)?,
        }
        Ok(target)
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Seek for OutputFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.writer.seek(pos)
    }
}

/// Deletes hidden files (`.scrub837-partial-{pid}-*`) in `dir` left by a process that is no
/// longer running. Files of running processes (another scrub writing to the same directory)
/// are left alone; on systems where that cannot be told, nothing is deleted.
pub fn remove_leftovers(dir: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PARTIAL_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && process_is_gone(pid) {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn process_is_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_is_gone(_pid: u32) -> bool {
    false
}

#[cfg(target_os = "linux")]
fn unnamed_in(dir: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o644)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
}

#[cfg(not(target_os = "linux"))]
fn unnamed_in(_dir: &Path) -> io::Result<File> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "unnamed files are a Linux feature",
    ))
}

/// Gives an `O_TMPFILE` file a name: straight at `target` when free, else at a hidden name
/// renamed over `target`.
#[cfg(target_os = "linux")]
fn link_unnamed(file: &File, dir: &Path, target: &Path) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    match link_fd(file.as_raw_fd(), target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let hidden = dir.join(format!(
                "{PARTIAL_PREFIX}{}-{}",
                std::process::id(),
                target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            let _ = std::fs::remove_file(&hidden);
            link_fd(file.as_raw_fd(), &hidden)?;
            std::fs::rename(&hidden, target)
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn link_unnamed(_file: &File, _dir: &Path, _target: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "unnamed files are a Linux feature",
    ))
}

/// `linkat(fd, "", AT_FDCWD, target, AT_EMPTY_PATH)` needs a capability; the `/proc` path
/// with `AT_SYMLINK_FOLLOW` does the same for an ordinary user.
#[cfg(target_os = "linux")]
fn link_fd(fd: std::os::unix::io::RawFd, target: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let source = CString::new(format!("/proc/self/fd/{fd}"))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let target = CString::new(target.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call; linkat does
    // not keep them.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            source.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().expect("a temp dir");
        // pid_max is at most 2^22 on Linux: this process cannot exist.
        let dead = dir.path().join(format!("{PARTIAL_PREFIX}4194305-a.277"));
        let alive = dir
            .path()
            .join(format!("{PARTIAL_PREFIX}{}-b.277", std::process::id()));
        let other = dir.path().join("c.277");
        for p in [&dead, &alive, &other] {
            std::fs::write(p, b"x").expect("write");
        }
        remove_leftovers(dir.path()).expect("clean");
        assert_eq!(!dead.exists(), cfg!(target_os = "linux"));
        assert!(alive.exists() && other.exists());
    }

    #[test]
    fn nothing_is_visible_before_commit_and_commit_replaces() {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::write(dir.path().join("a.txt"), b"old").expect("write");
        let mut out = OutputFile::create(dir.path()).expect("create");
        out.write_all(b"new content").expect("write");
        out.flush().expect("flush");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
        out.commit("a.txt").expect("commit");
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).expect("read"),
            b"new content"
        );
        let mut fresh = OutputFile::create(dir.path()).expect("create");
        fresh.write_all(b"b").expect("write");
        fresh.commit("b.txt").expect("commit");
        let count = std::fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(count, 2);
    }
}
