//! The output directory: files that appear whole, sets of files that appear together, one
//! writer at a time, and the control numbers that carry over between runs.
//!
//! # Whole files
//!
//! An [`OutputFile`] is written as a file with no name in the output directory (Linux
//! `O_TMPFILE`): if the process dies before it is named, the kernel drops it and nothing is
//! left behind. Where `O_TMPFILE` is not available (other systems, some file systems) a
//! hidden named temporary file (`.scrub837-partial-{pid}-*`) is used instead.
//!
//! # Sets that appear together: the publish protocol
//!
//! One input's outputs (`NAME.corrected.837`, `NAME.277`, `NAME.999`, `NAME.ta1`,
//! `NAME.report.html`, `NAME.report.jsonl`) are one set. The report is the set's **completion marker**: its summary
//! line (the last) lists the outputs of its set (`outputs.written`), it is the first file of an
//! old set to go and the last file of a new set to be named. [`publish_set`] does, in this
//! order:
//!
//! 1. every new output is complete and synced, still without a name (or, without
//!    `O_TMPFILE`, at its hidden temporary name);
//! 2. the old report is removed: from here the old set is no longer a set;
//! 3. every other old output of the input is removed (stale ones included: an old TA1 never
//!    stays beside a new report; `scrub` lists the `NAME.report.json` of earlier versions
//!    first among them, so an old-format marker goes before the files it named);
//! 4. the new outputs other than the report are given their names (linked, or renamed from
//!    the hidden name), and the directory is synced;
//! 5. the new report is given its name, and the directory is synced.
//!
//! So at every instant a report names exactly the files beside it, all of its own run:
//! whoever reads the directory sees the complete old set (a report and what it lists), the
//! complete new set, or no report for that input, in which case whatever other files of that
//! input are there belong to no set (a run killed between steps 2 and 5) and are not to be
//! used; the next run for that input removes them. Readers that cannot look for the report
//! take the directory's lock (below) in shared mode (`flock -s DIR cmd`) and see
//! only finished sets.
//!
//! Hidden files of a process that died are deleted by [`remove_leftovers`], which `scrub`
//! calls at start, under the lock.
//!
//! # One writer at a time: the lock
//!
//! A run holds an exclusive `flock` on the output directory itself from start to end
//! ([`DirLock`]): no lock file is left beside the outputs, and the lock goes with the process
//! (a killed run never leaves the directory locked). A second run into the same directory
//! either waits for it or stops with a clear error.
//!
//! # Control numbers across runs: the state file
//!
//! `.scrub837-state.json` in the output directory holds the next acknowledgment interchange
//! control number (ISA13), `{"next_interchange_control": N}`. A run reads it at start (under
//! the lock) and rewrites it ([`write_state`]: a temporary file renamed over it, synced)
//! before it names each input's outputs, so a number that appears in a published file is never
//! handed out again, even after a kill.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Prefix of the hidden temporary names.
pub const PARTIAL_PREFIX: &str = ".scrub837-partial-";

/// The state file in the output directory.
pub const STATE_FILE: &str = ".scrub837-state.json";

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

impl OutputFile {
    /// Flushes and syncs the file, ready to be named by [`publish_set`] (step 1 of the publish
    /// protocol). It stays unnamed until then (or, where unnamed files are not available, at
    /// its hidden temporary name); dropped unpublished, it is gone.
    pub fn stage(self, name: &str) -> io::Result<Staged> {
        let target = self.dir.join(name);
        let file = self.writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let kind = match self.named {
            Some(path) => StagedKind::Hidden(path),
            None => StagedKind::Unnamed(file),
        };
        Ok(Staged {
            kind: Some(kind),
            target,
        })
    }
}

/// Where a staged output is until it is named.
#[derive(Debug)]
enum StagedKind {
    /// An `O_TMPFILE` file: no name at all.
    Unnamed(File),
    /// A hidden temporary name, deleted when dropped.
    Hidden(tempfile::TempPath),
}

/// A complete output waiting for [`publish_set`] to give it its name.
#[derive(Debug)]
pub struct Staged {
    /// `None` once named.
    kind: Option<StagedKind>,
    target: PathBuf,
}

impl Staged {
    /// The name it will have.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Gives the file its name, which must be free (the old output was removed first).
    fn publish(&mut self) -> io::Result<()> {
        match self.kind.take() {
            Some(StagedKind::Unnamed(file)) => link_new(&file, &self.target),
            Some(StagedKind::Hidden(path)) => path.persist(&self.target).map_err(|e| e.error),
            None => Ok(()),
        }
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Replaces one input's old set of outputs in `dir` by a new one (steps 2 to 5 of the publish
/// protocol, see the module documentation): the old `marker` goes first, then every name of
/// `old` (the input's possible outputs), then the new `outputs` are named, then the new
/// `marker`. Returns the paths of the new set, the marker last. An error names the path it
/// failed on.
pub fn publish_set(
    dir: &Path,
    old: &[&str],
    outputs: Vec<Staged>,
    mut marker: Staged,
) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |e| (path, e)
    };
    remove_if_present(marker.target()).map_err(at(marker.target()))?;
    for name in old {
        let path = dir.join(name);
        remove_if_present(&path).map_err(at(&path))?;
    }
    let mut published = Vec::with_capacity(outputs.len() + 1);
    for mut staged in outputs {
        staged.publish().map_err(at(staged.target()))?;
        published.push(staged.target().to_path_buf());
    }
    sync_dir(dir).map_err(at(dir))?;
    marker.publish().map_err(at(marker.target()))?;
    sync_dir(dir).map_err(at(dir))?;
    published.push(marker.target().to_path_buf());
    Ok(published)
}

/// Makes renames and removals in `dir` durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The exclusive lock of an output directory, held until dropped (or the process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Why the output directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the lock and waiting was not asked for.
    #[error("{lock}: another scrub837 is writing to this output directory; wait for it to finish, use --wait, or choose another --out")]
    Busy {
        /// The directory.
        lock: String,
    },
    /// The directory could not be opened or locked.
    #[error("cannot lock {lock}: {source}")]
    Io {
        /// The directory.
        lock: String,
        /// Why.
        source: io::Error,
    },
}

impl DirLock {
    /// Takes the lock of `dir`: waits for another holder when `wait`, else fails with
    /// [`LockError::Busy`].
    pub fn acquire(dir: &Path, wait: bool) -> Result<DirLock, LockError> {
        let lock = || dir.display().to_string();
        let io_error = |source| LockError::Io {
            lock: lock(),
            source,
        };
        let file = File::open(dir).map_err(io_error)?;
        if !flock(&file, false).map_err(io_error)? {
            if !wait {
                return Err(LockError::Busy { lock: lock() });
            }
            flock(&file, true).map_err(io_error)?;
        }
        Ok(DirLock { _file: file })
    }
}

/// `flock(LOCK_EX)`, blocking when `wait`; false when another process holds it.
#[cfg(target_os = "linux")]
fn flock(file: &File, wait: bool) -> io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    let operation = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        // SAFETY: the descriptor is open for the duration of the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if rc == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// Without `flock` the directory is not locked (documented in the README).
#[cfg(not(target_os = "linux"))]
fn flock(_file: &File, _wait: bool) -> io::Result<bool> {
    Ok(true)
}

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The state file.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// The file holds something else than a state.
    #[error(
        "{path}: not a scrub837 state file ({detail}); fix or delete it, or give --first-control"
    )]
    Invalid {
        /// The state file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

/// What the state file keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The next acknowledgment interchange control number (ISA13), 1 to 999999999.
    pub next_interchange_control: u32,
}

/// The state of `dir`, `None` when it has none yet.
pub fn read_state(dir: &Path) -> Result<Option<State>, StateError> {
    let path = dir.join(STATE_FILE);
    let shown = || path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Io {
                path: shown(),
                source,
            })
        }
    };
    let state: State = serde_json::from_str(&text).map_err(|e| StateError::Invalid {
        path: shown(),
        detail: e.to_string(),
    })?;
    if !(1..=999_999_999).contains(&state.next_interchange_control) {
        return Err(StateError::Invalid {
            path: shown(),
            detail: format!(
                "next_interchange_control {} is not 1 to 999999999",
                state.next_interchange_control
            ),
        });
    }
    Ok(Some(state))
}

/// Replaces the state of `dir` whole: written unnamed and synced, then named over the old one
/// (an unnamed file leaves nothing behind when the process is killed while it writes; see
/// [`OutputFile`]).
pub fn write_state(dir: &Path, state: State) -> Result<(), StateError> {
    let path = dir.join(STATE_FILE);
    let io_error = |source| StateError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut text = serde_json::to_string(&state).map_err(|e| io_error(io::Error::other(e)))?;
    text.push('\n');
    let mut file = OutputFile::create(dir).map_err(io_error)?;
    file.write_all(text.as_bytes()).map_err(io_error)?;
    file.commit(STATE_FILE).map_err(io_error)?;
    sync_dir(dir).map_err(io_error)
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

/// Links an `O_TMPFILE` file at `target`, which must not exist.
#[cfg(target_os = "linux")]
fn link_new(file: &File, target: &Path) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    link_fd(file.as_raw_fd(), target)
}

#[cfg(not(target_os = "linux"))]
fn link_new(_file: &File, _target: &Path) -> io::Result<()> {
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

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_published_set_replaces_the_whole_old_set() {
        let dir = tempfile::tempdir().expect("a temp dir");
        for (name, text) in [
            ("x.report.jsonl", "old"),
            ("x.ta1", "old"),
            ("x.277", "old"),
        ] {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let stage = |name: &str| {
            let mut out = OutputFile::create(dir.path()).expect("create");
            out.write_all(b"new").expect("write");
            out.stage(name).expect("stage")
        };
        let staged = vec![stage("x.277"), stage("x.999")];
        let marker = stage("x.report.jsonl");
        assert_eq!(names(dir.path()), ["x.277", "x.report.jsonl", "x.ta1"]);
        let published = publish_set(
            dir.path(),
            &["x.277", "x.999", "x.ta1", "x.corrected.837"],
            staged,
            marker,
        )
        .expect("publish");
        assert_eq!(published.last(), Some(&dir.path().join("x.report.jsonl")));
        assert_eq!(names(dir.path()), ["x.277", "x.999", "x.report.jsonl"]);
        for name in names(dir.path()) {
            assert_eq!(std::fs::read(dir.path().join(name)).expect("read"), b"new");
        }
        // Staged and dropped: nothing is left.
        drop(stage("y.277"));
        assert_eq!(names(dir.path()).len(), 3);
    }

    #[test]
    fn the_state_round_trips_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().expect("a temp dir");
        assert_eq!(read_state(dir.path()).expect("none"), None);
        let state = State {
            next_interchange_control: 42,
        };
        write_state(dir.path(), state).expect("write");
        assert_eq!(read_state(dir.path()).expect("read"), Some(state));
        assert_eq!(names(dir.path()), [STATE_FILE]);
        for bad in ["{\"next_interchange_control\":0}", "{}", "x"] {
            std::fs::write(dir.path().join(STATE_FILE), bad).expect("write");
            let err = read_state(dir.path()).expect_err("refused");
            assert!(err.to_string().contains("--first-control"), "{err}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let first = DirLock::acquire(dir.path(), false).expect("lock");
        let err = DirLock::acquire(dir.path(), false).expect_err("busy");
        let text = err.to_string();
        assert!(
            text.contains("another scrub837") && text.contains("--wait"),
            "{text}"
        );
        drop(first);
        DirLock::acquire(dir.path(), false).expect("free again");
        assert!(names(dir.path()).is_empty(), "no lock file");
    }
}
