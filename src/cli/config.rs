//! Where the configuration comes from: `--config PATH` when given, else `scrub837.toml` in
//! the working directory, else the user's config directory
//! (`$XDG_CONFIG_HOME/scrub837/scrub837.toml`, or `~/.config/scrub837/scrub837.toml` when
//! `XDG_CONFIG_HOME` is unset or empty). The first that exists is used, alone: files are not
//! merged, so what `config --print` shows is what runs.

use std::path::{Path, PathBuf};

/// The configuration file's name in the working and user directories.
pub const FILE_NAME: &str = "scrub837.toml";

/// Where a configuration file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Given with `--config`.
    Explicit,
    /// `scrub837.toml` in the working directory.
    WorkingDirectory,
    /// The user's config directory.
    UserDirectory,
}

impl Origin {
    /// How the file was found, for the line that names it.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Explicit => "given with --config",
            Origin::WorkingDirectory => "found in the working directory",
            Origin::UserDirectory => "found in the user's config directory",
        }
    }
}

/// A configuration file to use and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The file.
    pub path: PathBuf,
    /// How it was found.
    pub origin: Origin,
}

/// The places discovery looks at, read from the process (or given by a test).
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// The working directory.
    pub working_dir: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<PathBuf>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
}

impl Places {
    /// The places of this process.
    pub fn from_env() -> Places {
        let non_empty = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Places {
            working_dir: std::env::current_dir().ok(),
            xdg_config_home: non_empty("XDG_CONFIG_HOME"),
            home: non_empty("HOME"),
        }
    }

    /// The user's configuration file path (whether or not it exists).
    pub fn user_file(&self) -> Option<PathBuf> {
        let config_dir = self
            .xdg_config_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".config")))?;
        Some(config_dir.join("scrub837").join(FILE_NAME))
    }
}

/// The configuration to use: `explicit` when given (even if it does not exist, so the
/// loader says so), else the first existing file of the working and user directories.
pub fn discover(explicit: Option<&Path>, places: &Places) -> Option<Found> {
    if let Some(path) = explicit {
        return Some(Found {
            path: path.to_path_buf(),
            origin: Origin::Explicit,
        });
    }
    // In the working directory the relative name is kept: shorter, and it names no home
    // directory on the terminal.
    let working = places
        .working_dir
        .as_ref()
        .filter(|dir| dir.join(FILE_NAME).is_file())
        .map(|_| Found {
            path: PathBuf::from(FILE_NAME),
            origin: Origin::WorkingDirectory,
        });
    working.or_else(|| {
        places
            .user_file()
            .filter(|path| path.is_file())
            .map(|path| Found {
                path,
                origin: Origin::UserDirectory,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(dir: &Path) -> Places {
        Places {
            working_dir: Some(dir.join("work")),
            xdg_config_home: None,
            home: Some(dir.join("home")),
        }
    }

    #[test]
    fn explicit_wins_then_working_directory_then_user_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = places(dir.path());
        assert_eq!(discover(None, &p), None);
        let user = dir.path().join("home/.config/scrub837");
        std::fs::create_dir_all(&user).expect("mkdir");
        std::fs::write(user.join(FILE_NAME), "").expect("write");
        assert_eq!(
            discover(None, &p).map(|f| f.origin),
            Some(Origin::UserDirectory)
        );
        let xdg = Places {
            xdg_config_home: Some(dir.path().join("xdg")),
            ..p.clone()
        };
        assert_eq!(
            discover(None, &xdg),
            None,
            "XDG_CONFIG_HOME replaces ~/.config"
        );
        std::fs::create_dir_all(dir.path().join("work")).expect("mkdir");
        std::fs::write(dir.path().join("work").join(FILE_NAME), "").expect("write");
        // The relative name resolves against the process's working directory, which here is
        // not `work`: discovery only reports it.
        assert_eq!(
            discover(None, &p),
            Some(Found {
                path: PathBuf::from(FILE_NAME),
                origin: Origin::WorkingDirectory
            })
        );
        let explicit = Path::new("other.toml");
        assert_eq!(
            discover(Some(explicit), &p).map(|f| f.origin),
            Some(Origin::Explicit)
        );
    }
}
