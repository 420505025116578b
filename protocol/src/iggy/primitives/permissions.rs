//! User permissions, as the 0.11.0 crate encodes them:
//!
//! ```text
//! [10 global flags][has_streams u8]
//!   per stream: [stream_id u32][6 flags][has_topics u8]
//!     per topic: [topic_id u32][4 flags][has_next_topic u8]
//!   [has_next_stream u8]
//! ```
//!
//! Requests carry the block behind `[has u8][len u32]`. [`PermissionsView`] validates
//! the block in place (flags must be 0/1, the declared length must match);
//! [`Permissions`] is the owned form for building requests and metadata operations.

use crate::iggy::wire::{DecodeError, Put, Reader};

/// Server-wide permissions.
#[allow(clippy::struct_excessive_bools)]
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
#[rkyv(derive(Debug))]
pub struct GlobalPermissions {
    /// Manage the server (config, snapshots).
    pub manage_servers: bool,
    /// Read server information (stats, clients).
    pub read_servers: bool,
    /// Create, update and delete users.
    pub manage_users: bool,
    /// Read users.
    pub read_users: bool,
    /// Create, update and delete streams.
    pub manage_streams: bool,
    /// Read streams.
    pub read_streams: bool,
    /// Create, update and delete topics.
    pub manage_topics: bool,
    /// Read topics.
    pub read_topics: bool,
    /// Poll from every topic.
    pub poll_messages: bool,
    /// Send to every topic.
    pub send_messages: bool,
}

/// Permissions on one stream.
#[allow(clippy::struct_excessive_bools)]
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Default, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
pub struct StreamPermissions {
    /// The stream's numeric id.
    pub stream_id: u32,
    /// Update or delete the stream.
    pub manage_stream: bool,
    /// Read the stream.
    pub read_stream: bool,
    /// Manage the stream's topics.
    pub manage_topics: bool,
    /// Read the stream's topics.
    pub read_topics: bool,
    /// Poll from the stream's topics.
    pub poll_messages: bool,
    /// Send to the stream's topics.
    pub send_messages: bool,
    /// Per-topic overrides, in wire order.
    pub topics: Vec<TopicPermissions>,
}

/// Permissions on one topic.
#[allow(clippy::struct_excessive_bools)]
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
#[rkyv(derive(Debug))]
pub struct TopicPermissions {
    /// The topic's numeric id.
    pub topic_id: u32,
    /// Update or delete the topic.
    pub manage_topic: bool,
    /// Read the topic.
    pub read_topic: bool,
    /// Poll from the topic.
    pub poll_messages: bool,
    /// Send to the topic.
    pub send_messages: bool,
}

/// A user's permission set (owned; also archived in metadata operations).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Default, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
pub struct Permissions {
    /// Server-wide permissions.
    pub global: GlobalPermissions,
    /// Per-stream permissions, in wire order.
    pub streams: Vec<StreamPermissions>,
}

fn flags<const N: usize>(reader: &mut Reader<'_>) -> Result<[bool; N], DecodeError> {
    let mut out = [false; N];
    for flag in &mut out {
        *flag = reader.flag()?;
    }
    Ok(out)
}

fn put_flags(out: &mut Vec<u8>, flags: &[bool]) {
    for &flag in flags {
        out.put_u8(u8::from(flag));
    }
}

/// One entry met while walking a block.
enum Entry {
    Stream(StreamPermissions),
    Topic(TopicPermissions),
}

/// Walks one permissions block, calling `visit` for each stream and topic entry.
fn walk(
    reader: &mut Reader<'_>,
    mut visit: impl FnMut(Entry),
) -> Result<GlobalPermissions, DecodeError> {
    let [a, b, c, d, e, f, g, h, i, j] = flags::<10>(reader)?;
    let global = GlobalPermissions {
        manage_servers: a,
        read_servers: b,
        manage_users: c,
        read_users: d,
        manage_streams: e,
        read_streams: f,
        manage_topics: g,
        read_topics: h,
        poll_messages: i,
        send_messages: j,
    };
    let mut more_streams = reader.flag()?;
    while more_streams {
        let stream_id = reader.u32()?;
        let [a, b, c, d, e, f] = flags::<6>(reader)?;
        visit(Entry::Stream(StreamPermissions {
            stream_id,
            manage_stream: a,
            read_stream: b,
            manage_topics: c,
            read_topics: d,
            poll_messages: e,
            send_messages: f,
            topics: Vec::new(),
        }));
        let mut more_topics = reader.flag()?;
        while more_topics {
            let topic_id = reader.u32()?;
            let [a, b, c, d] = flags::<4>(reader)?;
            visit(Entry::Topic(TopicPermissions {
                topic_id,
                manage_topic: a,
                read_topic: b,
                poll_messages: c,
                send_messages: d,
            }));
            more_topics = reader.flag()?;
        }
        more_streams = reader.flag()?;
    }
    Ok(global)
}

impl Permissions {
    /// Appends the bare block (no presence flag or length).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let g = &self.global;
        put_flags(
            out,
            &[
                g.manage_servers,
                g.read_servers,
                g.manage_users,
                g.read_users,
                g.manage_streams,
                g.read_streams,
                g.manage_topics,
                g.read_topics,
                g.poll_messages,
                g.send_messages,
            ],
        );
        out.put_u8(u8::from(!self.streams.is_empty()));
        for (index, stream) in self.streams.iter().enumerate() {
            out.put_u32(stream.stream_id);
            put_flags(
                out,
                &[
                    stream.manage_stream,
                    stream.read_stream,
                    stream.manage_topics,
                    stream.read_topics,
                    stream.poll_messages,
                    stream.send_messages,
                ],
            );
            out.put_u8(u8::from(!stream.topics.is_empty()));
            for (topic_index, topic) in stream.topics.iter().enumerate() {
                out.put_u32(topic.topic_id);
                put_flags(
                    out,
                    &[
                        topic.manage_topic,
                        topic.read_topic,
                        topic.poll_messages,
                        topic.send_messages,
                    ],
                );
                out.put_u8(u8::from(topic_index + 1 < stream.topics.len()));
            }
            out.put_u8(u8::from(index + 1 < self.streams.len()));
        }
    }

    /// Appends `[1][len u32][block]`, the form requests and user replies use.
    pub fn encode_prefixed(&self, out: &mut Vec<u8>) {
        out.put_u8(1);
        let length_at = out.len();
        out.put_u32(0);
        self.encode(out);
        let length = (out.len() - length_at - 4) as u32;
        crate::iggy::wire::patch_u32(out, length_at, length);
    }
}

/// A validated permissions block borrowed from a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionsView<'a>(&'a [u8]);

impl<'a> PermissionsView<'a> {
    /// Validates a bare block that must span `bytes` exactly.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        walk(&mut reader, |_| {})?;
        reader.finish()?;
        Ok(Self(bytes))
    }

    /// Reads `[has u8]` and, when set, `[len u32][block]`.
    pub fn decode_optional(reader: &mut Reader<'a>) -> Result<Option<Self>, DecodeError> {
        if !reader.flag()? {
            return Ok(None);
        }
        let length = reader.u32()? as usize;
        let offset = reader.offset();
        let block = reader.bytes(length)?;
        Self::parse(block).map(Some).map_err(|error| shift(error, offset))
    }

    /// The raw block.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Builds the owned form (allocates one `Vec` per level, bounded by the block).
    #[must_use]
    pub fn to_permissions(&self) -> Permissions {
        let mut streams: Vec<StreamPermissions> = Vec::new();
        let global = walk(&mut Reader::new(self.0), |entry| match entry {
            Entry::Stream(stream) => streams.push(stream),
            // A topic entry always follows its stream entry.
            Entry::Topic(topic) => {
                streams.last_mut().expect("topic inside a stream").topics.push(topic);
            }
        })
        .expect("the block was validated on construction");
        Permissions { global, streams }
    }
}

/// Re-bases an error's offset from a sub-slice to the enclosing buffer.
fn shift(error: DecodeError, by: usize) -> DecodeError {
    match error {
        DecodeError::Truncated { offset, needed } => {
            DecodeError::Truncated { offset: offset + by, needed }
        }
        DecodeError::TrailingBytes { offset } => DecodeError::TrailingBytes { offset: offset + by },
        DecodeError::InvalidFlag { offset, value } => {
            DecodeError::InvalidFlag { offset: offset + by, value }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Permissions {
        Permissions {
            global: GlobalPermissions {
                read_servers: true,
                poll_messages: true,
                ..GlobalPermissions::default()
            },
            streams: vec![
                StreamPermissions {
                    stream_id: 1,
                    read_stream: true,
                    topics: vec![
                        TopicPermissions {
                            topic_id: 2,
                            send_messages: true,
                            ..TopicPermissions::default()
                        },
                        TopicPermissions {
                            topic_id: 3,
                            manage_topic: true,
                            ..TopicPermissions::default()
                        },
                    ],
                    ..StreamPermissions::default()
                },
                StreamPermissions {
                    stream_id: 9,
                    manage_stream: true,
                    ..StreamPermissions::default()
                },
            ],
        }
    }

    #[test]
    fn round_trip_nested() {
        for permissions in [Permissions::default(), sample()] {
            let mut out = Vec::new();
            permissions.encode_prefixed(&mut out);
            let mut reader = Reader::new(&out);
            let view = PermissionsView::decode_optional(&mut reader).unwrap().unwrap();
            assert!(reader.is_empty());
            assert_eq!(view.to_permissions(), permissions);
        }
        assert_eq!(PermissionsView::decode_optional(&mut Reader::new(&[0])), Ok(None));
    }

    #[test]
    fn length_and_flag_mismatches_are_refused() {
        let mut out = Vec::new();
        sample().encode_prefixed(&mut out);
        let mut longer = out.clone();
        crate::iggy::wire::patch_u32(&mut longer, 1, (out.len() - 5 + 1) as u32);
        longer.push(0);
        assert!(matches!(
            PermissionsView::decode_optional(&mut Reader::new(&longer)),
            Err(DecodeError::TrailingBytes { .. })
        ));
        let mut bad_flag = out.clone();
        bad_flag[5] = 2;
        assert_eq!(
            PermissionsView::decode_optional(&mut Reader::new(&bad_flag)),
            Err(DecodeError::InvalidFlag { offset: 5, value: 2 })
        );
    }
}
