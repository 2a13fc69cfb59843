//! What a CreateShim may ask for, checked before anything starts: an id that is a plain name
//! (no `.`, `..` or `-rf`), a working directory that exists, environment variables with sound
//! names and values that the profile lets a client set. Each refusal names the rule and the
//! offending value (escaped and bounded: it comes from the client).

use std::path::Path;

use super::ServiceError;
use super::profiles::Profile;
use crate::untrusted::Untrusted;

/// Longest shim id accepted.
pub const MAX_ID_LEN: usize = 64;

/// A shim id: 1 to [`MAX_ID_LEN`] letters, digits, `-`, `_` or `.`, starting with a letter or
/// digit (so it is never `.`, `..`, a hidden file's name or an option to a command).
pub fn check_id(id: &str) -> Result<(), ServiceError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let starts_well = id.starts_with(|c: char| c.is_ascii_alphanumeric());
    if id.len() > MAX_ID_LEN || !starts_well || !id.chars().all(allowed) {
        return Err(ServiceError::InvalidArgument(format!(
            "invalid shim id {}: use 1 to {MAX_ID_LEN} letters, digits, '-', '_' or '.', \
             starting with a letter or digit",
            Untrusted(id)
        )));
    }
    Ok(())
}

/// The working directory must be an existing directory.
pub fn check_cwd(cwd: &Path) -> Result<(), ServiceError> {
    match cwd.metadata() {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(ServiceError::InvalidArgument(format!(
            "cwd {} is not a directory",
            Untrusted(&cwd.to_string_lossy())
        ))),
        Err(error) => Err(ServiceError::InvalidArgument(format!(
            "cwd {}: {error}",
            Untrusted(&cwd.to_string_lossy())
        ))),
    }
}

/// Variables a client sets: a name that is not empty and holds no `=` or NUL, a value without
/// NUL, and (unless the server lets clients choose any program anyway) a name the profile
/// allows (PERMISSION_DENIED otherwise).
pub fn check_env(
    profile_name: &str,
    profile: &Profile,
    env: &[(String, String)],
    allow_any_command: bool,
) -> Result<(), ServiceError> {
    for (key, value) in env {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(ServiceError::InvalidArgument(format!(
                "invalid environment variable name {}: it must be non-empty, without '=' or NUL",
                Untrusted(key)
            )));
        }
        if value.contains('\0') {
            return Err(ServiceError::InvalidArgument(format!(
                "environment variable {} has a NUL in its value",
                Untrusted(key)
            )));
        }
        if !allow_any_command && !profile.client_may_set(key) {
            return Err(ServiceError::PermissionDenied(format!(
                "profile {} does not let clients set the environment variable {} (its \
                 `env_allow` lists those it does)",
                Untrusted(profile_name),
                Untrusted(key)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::profiles::Profiles;

    #[test]
    fn ids_are_plain_names() {
        for good in ["a", "agent-1", "A_b.c", &"x".repeat(MAX_ID_LEN)] {
            assert!(check_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "-rf",
            ".hidden",
            "a/b",
            "a b",
            "é",
            &"x".repeat(MAX_ID_LEN + 1),
        ] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clients_set_only_allowed_sound_variables() {
        let profiles = Profiles::builtin();
        let shell = profiles.get("shell").unwrap();
        let set = |key: &str, value: &str, any| {
            check_env("shell", shell, &[(key.to_owned(), value.to_owned())], any)
        };
        assert!(set("LANG", "C.UTF-8", false).is_ok());
        assert!(set("LC_ALL", "C", false).is_ok());
        for dangerous in ["LD_PRELOAD", "NODE_OPTIONS", "PATH", "BASH_ENV", "LANGX"] {
            let error = set(dangerous, "x", false).unwrap_err();
            assert!(
                matches!(&error, ServiceError::PermissionDenied(m) if m.contains(dangerous)),
                "{error}"
            );
            assert!(set(dangerous, "x", true).is_ok());
        }
        for bad_name in ["", "A=B", "A\0"] {
            assert!(matches!(
                set(bad_name, "x", true),
                Err(ServiceError::InvalidArgument(_))
            ));
        }
        assert!(matches!(
            set("LANG", "C\0", true),
            Err(ServiceError::InvalidArgument(_))
        ));
    }
}
