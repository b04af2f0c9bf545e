//! The policy gate as configured: the file, the mode, and the policy read from them, replaced
//! on SIGHUP when the file still parses.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::Policy;

/// The gate as configured: the file, the mode, and the policy read from them (replaced on
/// SIGHUP when the file still parses).
#[derive(Debug)]
pub struct Gate {
    /// `None` for a policy given directly (tests, tools): nothing to reload.
    path: Option<PathBuf>,
    mode: String,
    current: RwLock<Arc<Policy>>,
}

impl Gate {
    /// Reads `path` for `mode`; an error names the file and the line.
    pub fn load(path: &Path, mode: &str) -> Result<Gate, String> {
        let policy = Self::read(path, mode)?;
        Ok(Gate {
            path: Some(path.to_path_buf()),
            mode: mode.to_string(),
            current: RwLock::new(Arc::new(policy)),
        })
    }

    /// A gate with a fixed `policy` (no file).
    pub fn fixed(policy: Policy, mode: &str) -> Gate {
        Gate {
            path: None,
            mode: mode.to_string(),
            current: RwLock::new(Arc::new(policy)),
        }
    }

    fn read(path: &Path, mode: &str) -> Result<Policy, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Policy::parse(&text, mode).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Re-reads the file; on an error the policy in use stays (and the error is returned).
    pub fn reload(&self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Err("the policy was given directly; there is no file to reload".into());
        };
        let policy = Self::read(path, &self.mode)?;
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(policy);
        }
        Ok(())
    }

    /// The policy in force now.
    pub fn policy(&self) -> Arc<Policy> {
        self.current.read().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn mode(&self) -> &str {
        &self.mode
    }
}
