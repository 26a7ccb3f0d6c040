//! Reading secrets (key passphrase, token PIN) from operator-protected files or the environment.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, bail};
use zeroize::Zeroizing;

/// Reads a secret from `file` (must not be readable by group or others, like ssh keys) or else
/// from the environment variable `env`. Trailing newlines are dropped.
pub fn read_secret(
    file: Option<&Path>,
    env: &str,
    what: &str,
) -> anyhow::Result<Zeroizing<String>> {
    if let Some(file) = file {
        let meta =
            std::fs::metadata(file).with_context(|| format!("{what} file {}", file.display()))?;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "{what} file {} is readable by others (mode {:o}); run: chmod 600 {}",
                file.display(),
                mode & 0o777,
                file.display()
            );
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(file)
                .with_context(|| format!("{what} file {}", file.display()))?,
        );
        let secret = Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned());
        if secret.is_empty() {
            bail!("{what} file {} is empty", file.display());
        }
        return Ok(secret);
    }
    match std::env::var(env) {
        Ok(v) if !v.is_empty() => Ok(Zeroizing::new(v)),
        _ => {
            bail!("no {what}: set the file in the configuration or the {env} environment variable")
        }
    }
}
