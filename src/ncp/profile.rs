//! The NCP CLI's credentials file, `~/.ncloud/configure`: an INI file whose profiles (`[DEFAULT]`,
//! `[name]`) hold `ncloud_access_key_id` and `ncloud_secret_access_key`. Both keys come from one
//! profile or not at all, so a key is never paired with another profile's secret.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::dataforest::SecretKey;

/// The file, below the home folder.
pub const CLI_CONFIG_FILE: &str = ".ncloud/configure";
/// The profile read when none is named.
pub const DEFAULT_PROFILE: &str = "DEFAULT";
/// The access key's name in a profile.
pub const ACCESS_KEY_ENTRY: &str = "ncloud_access_key_id";
/// The secret key's name in a profile.
pub const SECRET_KEY_ENTRY: &str = "ncloud_secret_access_key";

/// A profile's `key = value` entries.
type Entries = HashMap<String, String>;

/// Both keys of a profile; `Debug` never shows the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileKeys {
    pub access_key: String,
    pub secret_key: SecretKey,
}

/// Why a profile's keys could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileError {
    /// The named profile is not in the file, or there is no file (or no home folder) to hold it.
    NotFound { profile: String, path: PathBuf },
    /// The file is there but cannot be read.
    Unreadable { path: PathBuf, reason: String },
    /// The profile lacks one key: `entry` is the missing key's name in the file.
    Incomplete { profile: String, path: PathBuf, entry: &'static str },
}

/// The keys of `profile` (when named, else [`DEFAULT_PROFILE`]) in the file below `home`.
/// `Ok(None)` when no profile was named and there is no file, or no default profile in it: then
/// the keys are simply not set there.
pub fn read_keys(home: Option<&Path>, profile: Option<&str>) -> Result<Option<ProfileKeys>, ProfileError> {
    let Some(home) = home else {
        return match profile {
            Some(profile) => Err(ProfileError::NotFound {
                profile: profile.to_string(),
                path: PathBuf::from(CLI_CONFIG_FILE),
            }),
            None => Ok(None),
        };
    };
    let path = home.join(CLI_CONFIG_FILE);
    let Some((profile, entries)) = read_profile(&path, profile)? else {
        return Ok(None);
    };
    let key = |entry: &'static str| match entries.get(entry).filter(|value| !value.is_empty()) {
        Some(value) => Ok(value.clone()),
        None => Err(ProfileError::Incomplete { profile: profile.clone(), path: path.clone(), entry }),
    };
    Ok(Some(ProfileKeys {
        access_key: key(ACCESS_KEY_ENTRY)?,
        secret_key: SecretKey::new(key(SECRET_KEY_ENTRY)?),
    }))
}

/// One profile of the file: its name and entries. A missing file is no error unless a profile
/// was named.
fn read_profile(path: &Path, named: Option<&str>) -> Result<Option<(String, Entries)>, ProfileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return match named {
                Some(profile) => {
                    Err(ProfileError::NotFound { profile: profile.to_string(), path: path.to_path_buf() })
                }
                None => Ok(None),
            };
        }
        Err(error) => {
            return Err(ProfileError::Unreadable { path: path.to_path_buf(), reason: error.to_string() });
        }
    };
    let profile = named.unwrap_or(DEFAULT_PROFILE);
    match parse_ini_section(&text, profile) {
        Some(entries) => Ok(Some((profile.to_string(), entries))),
        None if named.is_some() => {
            Err(ProfileError::NotFound { profile: profile.to_string(), path: path.to_path_buf() })
        }
        None => Ok(None),
    }
}

/// The `key = value` pairs of `[section]` in an INI text; `None` when the section is absent.
fn parse_ini_section(text: &str, section: &str) -> Option<Entries> {
    let mut current: Option<&str> = None;
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim());
            if current == Some(section) {
                found.get_or_insert_with(HashMap::new);
            }
            continue;
        }
        if current == Some(section)
            && let Some((key, value)) = line.split_once('=')
        {
            found.get_or_insert_with(HashMap::new).insert(key.trim().to_string(), value.trim().to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections() {
        let entries = parse_ini_section("# c\n[a]\nk = v = w\n[b]\nk=x\n", "a").unwrap();
        assert_eq!(entries.get("k").map(String::as_str), Some("v = w"));
        assert!(parse_ini_section("[a]\n", "a").unwrap().is_empty());
        assert!(parse_ini_section("[a]\n", "b").is_none());
    }
}
