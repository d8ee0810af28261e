//! The tool subcommands, apart from the core commands:
//! `show` (acknowledgments read aloud), `completions`, `man`, `config --print` and
//! `rules --config`.

use std::io::{self, Read, Write};
use std::path::Path;

use clap::CommandFactory;

use crate::cli::config::{discover, Found, Origin, Places};
use crate::cli::show::{ShowError, ShowOptions};
use crate::cli::{EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNREADABLE};
use crate::rules::profile::{Config, ConfigError, Profiles};
use crate::rules::registry::Registry;
use crate::rules::{ActionTable, Resolved};

/// `scrub837 show FILE`: 0 when everything acknowledged is accepted, 1 when the
/// acknowledgment rejects something, 2 when the file cannot be read.
pub fn show_command(file: &str, show_phi: bool) -> i32 {
    let name = if file == "-" { "<stdin>" } else { file };
    let mut bytes = Vec::new();
    let read = if file == "-" {
        io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(Path::new(file)).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    if let Err(e) = read {
        eprintln!("error: {name}: cannot read: {e}");
        return EXIT_UNREADABLE;
    }
    let shown = match crate::cli::show::render(&bytes, ShowOptions { show_phi }) {
        Ok(shown) => shown,
        Err(
            e
            @ (ShowError::NotAnInterchange { .. } | ShowError::ShortIsa { .. } | ShowError::Empty),
        ) => {
            eprintln!("error: {name}: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let mut out = io::stdout().lock();
    // A closed pipe (`| head`) is not an error.
    let _ = write!(out, "{name}\n{}", shown.text).and_then(|()| out.flush());
    if shown.rejects {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

/// The configuration file `check` and `scrub` use: `explicit`, else the discovered one. Names
/// it on standard error (its path and how it was found; a configuration holds no claim data).
pub fn announce_config(explicit: Option<&Path>) -> Option<std::path::PathBuf> {
    let found = discover(explicit, &Places::from_env())?;
    eprintln!(
        "config: {} ({})",
        found.path.display(),
        found.origin.describe()
    );
    Some(found.path)
}

/// `scrub837 completions SHELL`: the script on standard output.
pub fn completions_command(shell: clap_complete::Shell) -> i32 {
    let mut command = crate::cli::Args::command();
    // Into memory first: clap_complete panics when its writer fails, and a closed pipe
    // (`| head`) is not an error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "scrub837", &mut script);
    let _ = io::stdout().lock().write_all(&script);
    EXIT_CLEAN
}

/// `scrub837 man [--out DIR]`: the page on standard output, or one page per subcommand in
/// DIR.
pub fn man_command(out: Option<&Path>) -> i32 {
    let command = crate::cli::Args::command();
    let result = match out {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map_err(|e| format!("{}: cannot write the pages: {e}", dir.display())),
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| format!("cannot render the page: {e}"))
                .map(|()| {
                    // A closed pipe is not an error.
                    let _ = io::stdout().lock().write_all(&page);
                })
        }
    };
    match result {
        Ok(()) => EXIT_CLEAN,
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_UNREADABLE
        }
    }
}

/// The bundled profiles, the rule ids and the configuration `found` holds (the defaults when
/// none).
fn load_config(found: Option<&Found>) -> Result<(Registry, Profiles, Config), ConfigError> {
    let registry = Registry::new();
    let profiles = Profiles::bundled()?;
    let config = match found {
        Some(found) => {
            let ids: Vec<&str> = registry.rules().iter().map(|r| r.info().id).collect();
            Config::load(&found.path, &ids, &profiles)?
        }
        None => Config::default(),
    };
    Ok((registry, profiles, config))
}

/// A resolved action as listed: `reject`, or `reject (raises warnings)`.
fn action_text(resolved: Resolved, conditional: bool) -> String {
    let mut text = resolved.action.as_str().to_string();
    if resolved.raised {
        text.push_str(" (raises warnings)");
    }
    if conditional {
        text.push('*');
    }
    text
}

/// The configuration's settings in TOML form.
fn settings_text(config: &Config) -> String {
    let mut text = String::new();
    match &config.distinct_service_modifier {
        Some(m) => text.push_str(&format!("distinct_service_modifier = \"{m}\"\n")),
        None => text.push_str(
            "# distinct_service_modifier not set: T97012-NCCI-97140 rejects instead of repairing\n",
        ),
    }
    text.push_str("[payers]\n");
    for (payer, profile) in &config.payers {
        text.push_str(&format!("\"{payer}\" = \"{profile}\"\n"));
    }
    text.push_str("[rules]\n");
    for (rule, action) in &config.rules {
        text.push_str(&format!("{rule} = \"{}\"\n", action.as_str()));
    }
    text
}

/// `scrub837 config --print`: the file in effect, its settings, and every rule's action per
/// profile under it.
pub fn config_print_command(explicit: Option<&Path>) -> i32 {
    let places = Places::from_env();
    let found = discover(explicit, &places);
    let (registry, profiles, config) = match load_config(found.as_ref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let mut text = match &found {
        Some(found) => format!(
            "# configuration: {} ({})\n",
            found.path.display(),
            found.origin.describe()
        ),
        None => format!(
            "# configuration: none (defaults); looked for ./{}{}\n",
            crate::cli::config::FILE_NAME,
            places
                .user_file()
                .map(|p| format!(" and {}", p.display()))
                .unwrap_or_default()
        ),
    };
    text.push_str(&settings_text(&config));
    text.push_str("\n# every rule's action per profile under this configuration\n");
    let mut header = format!("{:<22}", "# id");
    for name in profiles.names() {
        header.push_str(&format!(" {name:<20}"));
    }
    text.push_str(header.trim_end());
    text.push('\n');
    let tables: Vec<ActionTable> = profiles
        .all()
        .iter()
        .map(|p| ActionTable::new(registry.rules(), p, &config))
        .collect();
    for (i, rule) in registry.rules().iter().enumerate() {
        let mut row = format!("{:<22}", rule.info().id);
        for table in &tables {
            let (resolved, conditional) = table.listed(i);
            row.push_str(&format!(" {:<20}", action_text(resolved, conditional)));
        }
        text.push_str(row.trim_end());
        text.push('\n');
    }
    text.push_str("# (* the action changes under a condition; see `scrub837 explain ID`)\n");
    let _ = io::stdout().lock().write_all(text.as_bytes());
    EXIT_CLEAN
}

/// `scrub837 rules --config PATH`: what the configuration changes against the defaults.
pub fn rules_changes_command(path: &Path) -> i32 {
    let found = Found {
        path: path.to_path_buf(),
        origin: Origin::Explicit,
    };
    let (registry, profiles, config) = match load_config(Some(&found)) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let defaults = Config::default();
    let mut lines = Vec::new();
    for profile in profiles.all() {
        let before = ActionTable::new(registry.rules(), profile, &defaults);
        let after = ActionTable::new(registry.rules(), profile, &config);
        for (i, rule) in registry.rules().iter().enumerate() {
            let (was, conditional) = before.listed(i);
            let (now, _) = after.listed(i);
            if was != now {
                lines.push(format!(
                    "{:<22} {:<20} {} -> {}",
                    rule.info().id,
                    profile.name,
                    action_text(was, conditional),
                    action_text(now, conditional)
                ));
            }
        }
    }
    // Grouped by rule, profiles in their listing order.
    lines.sort_by(|a, b| a.split(' ').next().cmp(&b.split(' ').next()));
    for (payer, profile) in &config.payers {
        lines.push(format!(
            "payer {payer:<16} checked under {profile} (default: medicare for SBR09 MB, else commercial)"
        ));
    }
    if let Some(m) = &config.distinct_service_modifier {
        lines.push(format!(
            "distinct_service_modifier {m}: T97012-NCCI-97140 appends it to 97140 (default: rejects)"
        ));
    }
    let mut text = format!("# what {} changes against the defaults\n", path.display());
    if lines.is_empty() {
        text.push_str("nothing: every rule, payer and setting is as by default\n");
    }
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    let _ = io::stdout().lock().write_all(text.as_bytes());
    EXIT_CLEAN
}
