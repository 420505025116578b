//! Layering the three sources over the defaults, and reporting every bad value at once.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Config;
use super::keys::{KEYS, find};
use super::validate::{ValidationError, validate};

/// Where a value came from (so an error can say which line to fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The TOML file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A `--set` flag or a dedicated flag.
    Flag,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::Flag => f.write_str("command line"),
        }
    }
}

/// One bad setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// Where it was set.
    pub source: Source,
    /// The key (or what was given in its place).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Why the configuration cannot be used. Every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// The file is not TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Keys or values are wrong.
    #[error("{}", render(.0, .1))]
    Invalid(Vec<KeyError>, Vec<ValidationError>),
}

fn render(keys: &[KeyError], checks: &[ValidationError]) -> String {
    let mut out = String::from("invalid configuration:");
    for error in keys {
        out.push_str(&format!("\n  {} ({}): {}", error.key, error.source, error.message));
    }
    for error in checks {
        out.push_str(&format!("\n  {error}"));
    }
    out
}

/// Builds the configuration: defaults, then `file`, then `env` (`VIREO_…` pairs), then
/// `flags` (`key=value`), then validation of every value and relation.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    flags: &[String],
) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    let mut errors = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|error| ConfigError::Toml {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
        apply_table(&mut config, &table, &Source::File(path.to_owned()), &mut errors);
    }
    let env: Vec<(String, String)> = env.into_iter().collect();
    for key in KEYS {
        let name = key.env_name();
        if let Some((_, value)) = env.iter().find(|(variable, _)| *variable == name) {
            apply(&mut config, key.name, value, &Source::Env(name.clone()), &mut errors);
        }
    }
    for (variable, _) in &env {
        let known = KEYS.iter().any(|key| key.env_name() == *variable);
        let tooling =
            IGNORED_ENV.contains(&variable.as_str()) || variable.starts_with("VIREO_TEST_");
        if variable.starts_with("VIREO_") && !known && !tooling {
            errors.push(KeyError {
                source: Source::Env(variable.clone()),
                key: variable.clone(),
                message: "unknown setting (see `vireo server --help-config`)".into(),
            });
        }
    }
    for flag in flags {
        match flag.split_once('=') {
            Some((key, value)) => apply(&mut config, key.trim(), value, &Source::Flag, &mut errors),
            None => errors.push(KeyError {
                source: Source::Flag,
                key: flag.clone(),
                message: "expected key=value".into(),
            }),
        }
    }
    let checks = validate(&config);
    if errors.is_empty() && checks.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(errors, checks))
    }
}

/// `VIREO_…` variables that are not configuration keys (the CLI and tooling read them;
/// `VIREO_TEST_*` belong to the test harness).
const IGNORED_ENV: [&str; 3] = ["VIREO_CONFIG", "VIREO_BIN", "VIREO_LOG"];

fn apply(config: &mut Config, key: &str, value: &str, source: &Source, errors: &mut Vec<KeyError>) {
    let Some(definition) = find(key) else {
        errors.push(KeyError {
            source: source.clone(),
            key: key.to_owned(),
            message: "unknown setting".into(),
        });
        return;
    };
    if let Err(error) = (definition.apply)(config, value) {
        errors.push(KeyError {
            source: source.clone(),
            key: key.to_owned(),
            message: error.to_string(),
        });
    }
}

fn apply_table(
    config: &mut Config,
    table: &toml::Table,
    source: &Source,
    errors: &mut Vec<KeyError>,
) {
    for (section, value) in table {
        let Some(inner) = value.as_table() else {
            errors.push(KeyError {
                source: source.clone(),
                key: section.clone(),
                message: "expected a [section] table".into(),
            });
            continue;
        };
        for (key, value) in inner {
            let name = format!("{section}.{key}");
            let text = match value {
                toml::Value::String(text) => text.clone(),
                toml::Value::Integer(number) => number.to_string(),
                toml::Value::Boolean(flag) => flag.to_string(),
                toml::Value::Array(array) if name == "cluster.nodes" => {
                    super::cluster::nodes_from_toml(array)
                }
                other => {
                    errors.push(KeyError {
                        source: source.clone(),
                        key: name,
                        message: format!("expected a string, integer or boolean, got {other}"),
                    });
                    continue;
                }
            };
            apply(config, &name, &text, source, errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_exactly_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vireo.example.toml");
        let config = load(Some(&path), Vec::new(), &[]).expect("the example loads");
        assert_eq!(config, Config::default());
        let text = std::fs::read_to_string(&path).unwrap();
        for key in KEYS {
            let short = key.name.split('.').nth(1).unwrap();
            assert!(
                text.contains(&format!("\n{short} =")),
                "{} missing from the example",
                key.name
            );
        }
    }

    #[test]
    fn layers_apply_in_order_and_every_error_is_reported() {
        let dir = std::env::temp_dir().join(format!("vireo-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("vireo.toml");
        std::fs::write(&file, "[tcp]\naddress = \"127.0.0.1:9000\"\n[node]\nshards = 2\n").unwrap();
        let env = vec![("VIREO_TCP_ADDRESS".to_owned(), "127.0.0.1:9001".to_owned())];
        let config = load(Some(&file), env, &["node.shards=3".into()]).unwrap();
        assert_eq!(config.tcp.address.port(), 9001);
        assert_eq!(config.node.shards, 3);

        let bad_env = vec![
            ("VIREO_TCP_ADDRESS".to_owned(), "nowhere".to_owned()),
            ("VIREO_TYPO".to_owned(), "1".to_owned()),
        ];
        let error = load(Some(&file), bad_env, &["quic.port=1".into(), "x".into()]).unwrap_err();
        let text = error.to_string();
        for needle in ["tcp.address", "VIREO_TYPO", "quic.port", "expected key=value"] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        std::fs::write(&file, "[tcp\n").unwrap();
        assert!(matches!(load(Some(&file), vec![], &[]), Err(ConfigError::Toml { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_cluster_roster_loads_from_toml_and_env() {
        let dir = std::env::temp_dir().join(format!("vireo-cluster-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("vireo.toml");
        std::fs::write(
            &file,
            r#"[cluster]
replica = 1
secret = "change-me-at-least-16-bytes"
nodes = [
  { name = "node-0", replica = "127.0.0.1:8070", tcp = "127.0.0.1:8090", quic = "127.0.0.1:8080", http = "127.0.0.1:3000" },
  { name = "node-1", replica = "127.0.0.1:8071", tcp = "127.0.0.1:8091", quic = "127.0.0.1:8081", http = "127.0.0.1:3001" },
]
"#,
        )
        .unwrap();
        let config = load(Some(&file), vec![], &[]).unwrap();
        assert_eq!(config.cluster.nodes.len(), 2);
        assert_eq!(config.cluster.replica, 1);
        assert_eq!(config.replica_config(3).replica_count, 2);
        assert_eq!(config.replica_config(3).replica, 1);

        let env = vec![
            ("VIREO_CLUSTER_REPLICA".to_owned(), "0".to_owned()),
            ("VIREO_CLUSTER_SECRET".to_owned(), "short".to_owned()),
        ];
        let text = load(Some(&file), env, &[]).unwrap_err().to_string();
        assert!(text.contains("cluster.secret"), "{text}");
        let broken = "[cluster]\nnodes = [{ name = \"a\" }, 3]\n";
        std::fs::write(&file, broken).unwrap();
        let text = load(Some(&file), vec![], &[]).unwrap_err().to_string();
        assert!(text.contains("cluster.nodes"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
