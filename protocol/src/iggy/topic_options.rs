//! Typed reading of the topic options a create/update request carries.
//!
//! 0.11.0 moved every topic setting into the key-value options block (no fixed
//! fields, no replication factor). Values arrive in their canonical kind (the SDK's
//! typed fields: `Uint64` sizes and expiries, `String` names) or as strings a user
//! typed (`--set segment_size=128MiB`); both are read here. Unknown keys are
//! tolerated and ignored so a newer client's options do not fail a create; the node
//! stores the block as sent. Known keys with unreadable values are errors
//! (`InvalidOptionValue`, 4042).
//!
//! String forms accepted: byte sizes are a decimal number with an optional unit
//! (`B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`, `TB`/`TiB`, case-insensitive);
//! durations are humantime-style sequences (`7 days`, `1h 30m`, units ns, us, ms, s,
//! m, h, d, w, M(onth = 30.44 d), y(ear = 365.25 d) and their long forms). This is the
//! subset of the official parsers' grammar that a command line produces.

use super::primitives::{HeaderKind, Options, TlvEntry};

/// `compression_algorithm`.
pub const COMPRESSION_ALGORITHM: &str = "compression_algorithm";
/// `message_expiry` (µs).
pub const MESSAGE_EXPIRY: &str = "message_expiry";
/// `max_topic_size` (bytes).
pub const MAX_TOPIC_SIZE: &str = "max_topic_size";
/// `segment_size` (bytes).
pub const SEGMENT_SIZE: &str = "segment_size";
/// `durability` (`replicated` | `persisted`).
pub const DURABILITY: &str = "durability";
/// `consumer_offset_durability` (`replicated` | `persisted`).
pub const CONSUMER_OFFSET_DURABILITY: &str = "consumer_offset_durability";
/// `messages_required_to_save` (count, 1..=16 Mi).
pub const MESSAGES_REQUIRED_TO_SAVE: &str = "messages_required_to_save";
/// `size_of_messages_required_to_save` (bytes, ≤ 1 GiB).
pub const SIZE_OF_MESSAGES_REQUIRED_TO_SAVE: &str = "size_of_messages_required_to_save";
/// `preallocate_segments` (bool).
pub const PREALLOCATE_SEGMENTS: &str = "preallocate_segments";

/// "Never expire" / "unlimited size" on the wire.
pub const UNLIMITED: u64 = u64::MAX;
/// Smallest segment size the official server admits.
pub const SEGMENT_SIZE_MIN: u64 = 1024 * 1024;
/// Largest segment size the official server admits.
pub const SEGMENT_SIZE_MAX: u64 = 1024 * 1024 * 1024;
const MESSAGES_REQUIRED_TO_SAVE_MAX: u32 = 16 * 1024 * 1024;
const SIZE_OF_MESSAGES_REQUIRED_TO_SAVE_MAX: u64 = 1024 * 1024 * 1024;

/// When a write counts as done (DESIGN.md section 5).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(derive(Debug, PartialEq, Eq), compare(PartialEq))]
pub enum Durability {
    /// Quorum commit, journal written but not synced (the default).
    #[default]
    Replicated,
    /// Quorum commit backed by synced storage.
    Persisted,
}

/// Stored compression setting (Iggy only records it; TopicReply codes 1 and 2).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(derive(Debug, PartialEq, Eq), compare(PartialEq))]
#[repr(u8)]
pub enum Compression {
    /// No compression.
    #[default]
    None = 1,
    /// Gzip.
    Gzip = 2,
}

/// The known topic options present in a block; `None` = absent (server default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicOptions {
    /// `compression_algorithm`.
    pub compression: Option<Compression>,
    /// `message_expiry`, µs; [`UNLIMITED`] = never.
    pub message_expiry: Option<u64>,
    /// `max_topic_size`, bytes; [`UNLIMITED`] = no cap.
    pub max_topic_size: Option<u64>,
    /// `segment_size`, bytes.
    pub segment_size: Option<u64>,
    /// `durability`.
    pub durability: Option<Durability>,
    /// `consumer_offset_durability`.
    pub consumer_offset_durability: Option<Durability>,
    /// `messages_required_to_save`.
    pub messages_required_to_save: Option<u32>,
    /// `size_of_messages_required_to_save`, bytes.
    pub size_of_messages_required_to_save: Option<u64>,
    /// `preallocate_segments`.
    pub preallocate_segments: Option<bool>,
}

/// A known option key whose value cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for option {key}")]
pub struct OptionError {
    /// The key.
    pub key: &'static str,
}

impl TopicOptions {
    /// Reads the known keys of a validated block; unknown keys are skipped.
    pub fn parse(options: &Options<'_>) -> Result<Self, OptionError> {
        let mut parsed = Self::default();
        for entry in options.iter() {
            parsed.absorb(&entry)?;
        }
        Ok(parsed)
    }

    fn absorb(&mut self, entry: &TlvEntry<'_>) -> Result<(), OptionError> {
        let key = match KEYS.iter().find(|key| key.as_bytes() == entry.key) {
            Some(key) => *key,
            None => return Ok(()),
        };
        let bad = OptionError { key };
        let nonzero = |value: u64| (value != 0).then_some(value);
        match key {
            COMPRESSION_ALGORITHM => {
                let text = string(entry).ok_or(bad)?;
                self.compression = Some(match text.to_ascii_lowercase().as_str() {
                    "none" => Compression::None,
                    "gzip" => Compression::Gzip,
                    _ => return Err(bad),
                });
            }
            MESSAGE_EXPIRY => {
                self.message_expiry = match (u64_value(entry), string(entry)) {
                    (Some(value), _) => nonzero(value),
                    (None, Some("unlimited" | "Unlimited" | "none" | "None" | "never_expire")) => {
                        Some(UNLIMITED)
                    }
                    (None, Some("default" | "server_default" | "Default" | "Server_default")) => {
                        None
                    }
                    (None, Some(text)) => Some(parse_duration_micros(text).ok_or(bad)?),
                    (None, None) => return Err(bad),
                };
            }
            MAX_TOPIC_SIZE => {
                self.max_topic_size = match (u64_value(entry), string(entry)) {
                    (Some(value), _) => nonzero(value),
                    (None, Some("unlimited")) => Some(UNLIMITED),
                    (None, Some("server_default")) => None,
                    (None, Some(text)) => nonzero(parse_bytes(text).ok_or(bad)?),
                    (None, None) => return Err(bad),
                };
            }
            SEGMENT_SIZE => self.segment_size = nonzero(byte_size(entry).ok_or(bad)?),
            DURABILITY => self.durability = Some(durability(entry).ok_or(bad)?),
            CONSUMER_OFFSET_DURABILITY => {
                self.consumer_offset_durability = Some(durability(entry).ok_or(bad)?);
            }
            MESSAGES_REQUIRED_TO_SAVE => {
                let value = u32_value(entry).or_else(|| string(entry)?.parse().ok()).ok_or(bad)?;
                if value == 0 || value > MESSAGES_REQUIRED_TO_SAVE_MAX {
                    return Err(bad);
                }
                self.messages_required_to_save = Some(value);
            }
            SIZE_OF_MESSAGES_REQUIRED_TO_SAVE => {
                let value = byte_size(entry).ok_or(bad)?;
                if value > SIZE_OF_MESSAGES_REQUIRED_TO_SAVE_MAX {
                    return Err(bad);
                }
                self.size_of_messages_required_to_save = nonzero(value);
            }
            _ => {
                let value = match (entry.value_kind, entry.value) {
                    (kind, [byte @ (0 | 1)]) if kind == HeaderKind::Bool as u8 => *byte == 1,
                    _ => match string(entry) {
                        Some("true") => true,
                        Some("false") => false,
                        _ => return Err(bad),
                    },
                };
                self.preallocate_segments = Some(value);
            }
        }
        Ok(())
    }
}

const KEYS: [&str; 9] = [
    COMPRESSION_ALGORITHM,
    MESSAGE_EXPIRY,
    MAX_TOPIC_SIZE,
    SEGMENT_SIZE,
    DURABILITY,
    CONSUMER_OFFSET_DURABILITY,
    MESSAGES_REQUIRED_TO_SAVE,
    SIZE_OF_MESSAGES_REQUIRED_TO_SAVE,
    PREALLOCATE_SEGMENTS,
];

/// Whether `size` is an admissible `segment_size`: 1 MiB..=1 GiB, a 512-byte multiple.
#[must_use]
pub fn is_valid_segment_size(size: u64) -> bool {
    (SEGMENT_SIZE_MIN..=SEGMENT_SIZE_MAX).contains(&size) && size.is_multiple_of(512)
}

fn string<'a>(entry: &TlvEntry<'a>) -> Option<&'a str> {
    (entry.value_kind == HeaderKind::String as u8)
        .then(|| std::str::from_utf8(entry.value).ok())
        .flatten()
}

fn u64_value(entry: &TlvEntry<'_>) -> Option<u64> {
    (entry.value_kind == HeaderKind::Uint64 as u8)
        .then(|| entry.value.try_into().ok().map(u64::from_le_bytes))?
}

fn u32_value(entry: &TlvEntry<'_>) -> Option<u32> {
    (entry.value_kind == HeaderKind::Uint32 as u8)
        .then(|| entry.value.try_into().ok().map(u32::from_le_bytes))?
}

fn byte_size(entry: &TlvEntry<'_>) -> Option<u64> {
    u64_value(entry).or_else(|| parse_bytes(string(entry)?))
}

fn durability(entry: &TlvEntry<'_>) -> Option<Durability> {
    let text = string(entry)?;
    if text.eq_ignore_ascii_case("replicated") {
        Some(Durability::Replicated)
    } else if text.eq_ignore_ascii_case("persisted") {
        Some(Durability::Persisted)
    } else {
        None
    }
}

/// Splits `"12.5 MiB"` into `(12.5 as (whole, fraction digits), "MiB")`.
fn split_number(text: &str) -> Option<(&str, &str)> {
    let text = text.trim();
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    (end > 0).then(|| (&text[..end], text[end..].trim()))
}

/// `number × multiplier`, with a decimal fraction, rounded down; `None` on overflow.
fn scale(number: &str, multiplier: u64) -> Option<u64> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut value = whole.checked_mul(multiplier)?;
    let mut unit = multiplier;
    for digit in fraction.chars().take(18) {
        unit /= 10;
        value = value.checked_add(u64::from(digit.to_digit(10)?) * unit)?;
    }
    Some(value)
}

/// Parses a byte size such as `1000`, `128MiB`, `1 GB`.
#[must_use]
pub fn parse_bytes(text: &str) -> Option<u64> {
    let (number, unit) = split_number(text)?;
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "kib" => 1 << 10,
        "mb" | "m" => 1_000_000,
        "mib" => 1 << 20,
        "gb" | "g" => 1_000_000_000,
        "gib" => 1 << 30,
        "tb" | "t" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => return None,
    };
    scale(number, multiplier)
}

/// Parses a humantime-style duration (`7 days`, `1h 30m`) into microseconds. Like the
/// official parser, durations above `u32::MAX` seconds are refused.
#[must_use]
pub fn parse_duration_micros(text: &str) -> Option<u64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (number, tail) = split_number(rest)?;
        let unit_end =
            tail.find(|c: char| c.is_ascii_digit() || c.is_whitespace()).unwrap_or(tail.len());
        let (unit, after) = tail.split_at(unit_end);
        let micros: u64 = match unit {
            "nsec" | "ns" => 0,
            "usec" | "us" => 1,
            "msec" | "ms" => 1_000,
            "seconds" | "second" | "sec" | "s" => 1_000_000,
            "minutes" | "minute" | "min" | "m" => 60_000_000,
            "hours" | "hour" | "hr" | "h" => 3_600_000_000,
            "days" | "day" | "d" => 86_400_000_000,
            "weeks" | "week" | "w" => 604_800_000_000,
            "months" | "month" | "M" => 2_630_016_000_000,
            "years" | "year" | "y" => 31_557_600_000_000,
            _ => return None,
        };
        if micros == 0 {
            scale(number, 1)?;
        } else {
            total = total.checked_add(scale(number, micros)?)?;
        }
        rest = after.trim_start();
    }
    (total <= u64::from(u32::MAX) * 1_000_000).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iggy::primitives::TlvBuilder;

    #[test]
    fn typed_and_string_values() {
        let mut block = TlvBuilder::new();
        block
            .u64(MESSAGE_EXPIRY, 5_000_000)
            .unwrap()
            .string(MAX_TOPIC_SIZE, "unlimited")
            .unwrap()
            .string(SEGMENT_SIZE, "128MiB")
            .unwrap()
            .string(DURABILITY, "Persisted")
            .unwrap()
            .string(COMPRESSION_ALGORITHM, "gzip")
            .unwrap()
            .push(2, PREALLOCATE_SEGMENTS.as_bytes(), HeaderKind::Bool as u8, &[1])
            .unwrap()
            .push(
                2,
                MESSAGES_REQUIRED_TO_SAVE.as_bytes(),
                HeaderKind::Uint32 as u8,
                &7u32.to_le_bytes(),
            )
            .unwrap()
            .string("some_future_key", "whatever")
            .unwrap();
        let options = Options::parse(block.as_bytes()).unwrap();
        let parsed = TopicOptions::parse(&options).unwrap();
        assert_eq!(parsed.message_expiry, Some(5_000_000));
        assert_eq!(parsed.max_topic_size, Some(UNLIMITED));
        assert_eq!(parsed.segment_size, Some(128 << 20));
        assert_eq!(parsed.durability, Some(Durability::Persisted));
        assert_eq!(parsed.consumer_offset_durability, None);
        assert_eq!(parsed.compression, Some(Compression::Gzip));
        assert_eq!(parsed.preallocate_segments, Some(true));
        assert_eq!(parsed.messages_required_to_save, Some(7));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in
            [(DURABILITY, "quorum"), (COMPRESSION_ALGORITHM, "zstd"), (MESSAGE_EXPIRY, "soon")]
        {
            let mut block = TlvBuilder::new();
            block.string(key, value).unwrap();
            let options = Options::parse(block.as_bytes()).unwrap();
            assert_eq!(TopicOptions::parse(&options), Err(OptionError { key }));
        }
        let mut block = TlvBuilder::new();
        block.u64(DURABILITY, 1).unwrap();
        assert!(TopicOptions::parse(&Options::parse(block.as_bytes()).unwrap()).is_err());
    }

    #[test]
    fn strings_parse_like_a_command_line() {
        assert_eq!(parse_bytes("1000"), Some(1000));
        assert_eq!(parse_bytes("1 GiB"), Some(1 << 30));
        assert_eq!(parse_bytes("1.5KB"), Some(1500));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_duration_micros("7 days"), Some(7 * 86_400_000_000));
        assert_eq!(parse_duration_micros("1h 30m"), Some(5_400_000_000));
        assert_eq!(parse_duration_micros("2s500ms"), Some(2_500_000));
        assert_eq!(parse_duration_micros(""), None);
        assert_eq!(parse_duration_micros("200 years"), None, "above u32::MAX seconds");
        assert!(is_valid_segment_size(1 << 20));
        assert!(!is_valid_segment_size((1 << 20) + 1));
    }
}
