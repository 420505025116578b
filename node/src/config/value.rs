//! Parsers for configuration values: each turns one string into one typed value or a
//! message that says what was expected. Values come from TOML, `VIREO_…` variables and
//! `--set` flags alike, so every key is parsed from text exactly one way.

use std::net::SocketAddr;
use std::path::PathBuf;

/// A value that does not parse; `expected` says what would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got {got:?}")]
pub struct ValueError {
    /// What the key takes.
    pub expected: &'static str,
    /// What was given.
    pub got: String,
}

fn bad(expected: &'static str, got: &str) -> ValueError {
    ValueError { expected, got: got.to_owned() }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
pub fn parse_bool(text: &str) -> Result<bool, ValueError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(bad("a boolean (true or false)", text)),
    }
}

/// A non-negative integer that fits `u64`.
pub fn parse_u64(text: &str) -> Result<u64, ValueError> {
    text.trim().replace('_', "").parse().map_err(|_| bad("a non-negative integer", text))
}

/// A non-negative integer that fits `u32`.
pub fn parse_u32(text: &str) -> Result<u32, ValueError> {
    let value = parse_u64(text)?;
    u32::try_from(value).map_err(|_| bad("an integer below 2^32", text))
}

/// A byte size: a plain number of bytes or a number with a unit (`KiB`, `MiB`, `GiB`,
/// also `KB`/`MB`/`GB` as powers of 1000).
pub fn parse_size(text: &str) -> Result<u64, ValueError> {
    const UNITS: [(&str, u64); 10] = [
        ("kib", 1 << 10),
        ("mib", 1 << 20),
        ("gib", 1 << 30),
        ("kb", 1_000),
        ("mb", 1_000_000),
        ("gb", 1_000_000_000),
        ("k", 1 << 10),
        ("m", 1 << 20),
        ("g", 1 << 30),
        ("b", 1),
    ];
    let lower = text.trim().to_ascii_lowercase().replace(['_', ' '], "");
    let expected = "a size in bytes, e.g. 1048576 or 1MiB";
    for (unit, factor) in UNITS {
        if let Some(number) = lower.strip_suffix(unit) {
            let number: u64 = number.parse().map_err(|_| bad(expected, text))?;
            return number.checked_mul(factor).ok_or_else(|| bad(expected, text));
        }
    }
    lower.parse().map_err(|_| bad(expected, text))
}

/// A socket address such as `127.0.0.1:8090` or `[::1]:8090`.
pub fn parse_address(text: &str) -> Result<SocketAddr, ValueError> {
    text.trim().parse().map_err(|_| bad("a socket address such as 127.0.0.1:8090", text))
}

/// A filesystem path; empty means "not set".
pub fn parse_path(text: &str) -> Result<Option<PathBuf>, ValueError> {
    let trimmed = text.trim();
    Ok((!trimmed.is_empty()).then(|| PathBuf::from(trimmed)))
}

/// A cluster id: decimal or `0x`-prefixed hexadecimal, non-zero.
pub fn parse_cluster_id(text: &str) -> Result<u128, ValueError> {
    let trimmed = text.trim();
    let parsed = match trimmed.strip_prefix("0x") {
        Some(hex) => u128::from_str_radix(hex, 16),
        None => trimmed.parse(),
    };
    match parsed {
        Ok(0) | Err(_) => Err(bad("a non-zero integer (decimal or 0x hex)", text)),
        Ok(value) => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_numbers_parse_or_say_why() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("10kb"), Ok(10_000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999GiB").is_err());
        assert_eq!(parse_u32("1_000"), Ok(1000));
        assert!(parse_u32("-1").is_err());
        assert!(parse_u32("5000000000").is_err());
        assert_eq!(parse_bool("On"), Ok(true));
        assert!(parse_bool("maybe").is_err());
        assert!(parse_address("localhost").is_err());
        assert_eq!(parse_cluster_id("0x10"), Ok(16));
        assert!(parse_cluster_id("0").is_err());
        assert_eq!(parse_path(" "), Ok(None));
    }
}
