//! The checkpoint snapshot: everything a replica needs to stand at the checkpoint op
//! without the journal entries before it.
//!
//! Format: `[header of the checkpoint op: 256 bytes, zero at op 0][client table length
//! u32][client table][state machine bytes]`. The header keeps the checkpoint op's
//! identity in the journal index after a restart or a state transfer, so a replica whose
//! head is its checkpoint can still describe its log (start_view, do_view_change).

use vireo_protocol::vsr::{HEADER_SIZE, Header};

use crate::client_table::ClientTable;
use crate::config::ReplicaConfig;
use crate::recovery::OpenError;

/// A decoded snapshot; `machine` borrows the state machine's part.
#[derive(Debug)]
pub(crate) struct Snapshot<'a> {
    pub(crate) checkpoint_header: Option<Header>,
    pub(crate) client_table: ClientTable,
    pub(crate) machine: &'a [u8],
}

/// Encodes a snapshot.
pub(crate) fn encode(
    checkpoint_header: Option<&Header>,
    client_table: &ClientTable,
    machine: &[u8],
) -> Vec<u8> {
    let table = client_table.encode();
    let mut out = Vec::with_capacity(HEADER_SIZE + 4 + table.len() + machine.len());
    match checkpoint_header {
        Some(header) => out.extend_from_slice(&header.to_bytes()),
        None => out.extend_from_slice(&[0u8; HEADER_SIZE]),
    }
    out.extend_from_slice(&u32::try_from(table.len()).expect("bounded").to_le_bytes());
    out.extend_from_slice(&table);
    out.extend_from_slice(machine);
    out
}

/// Decodes a snapshot. Total.
pub(crate) fn decode<'a>(
    snapshot: &'a [u8],
    config: &ReplicaConfig,
) -> Result<Snapshot<'a>, OpenError> {
    let header_bytes = snapshot.get(..HEADER_SIZE).ok_or(OpenError::Snapshot("truncated"))?;
    let checkpoint_header = if header_bytes.iter().all(|&b| b == 0) {
        None
    } else {
        Some(Header::decode(header_bytes).map_err(|_| OpenError::Snapshot("checkpoint header"))?)
    };
    let rest = &snapshot[HEADER_SIZE..];
    let length = rest.get(..4).ok_or(OpenError::Snapshot("truncated"))?;
    let length = u32::from_le_bytes(length.try_into().expect("4 bytes")) as usize;
    let table_bytes =
        rest.get(4..4 + length).ok_or(OpenError::Snapshot("truncated client table"))?;
    let (client_table, used) =
        ClientTable::decode(table_bytes, config.clients_max, config.message_size_max)
            .map_err(|_| OpenError::Snapshot("malformed client table"))?;
    if used != length {
        return Err(OpenError::Snapshot("client table length"));
    }
    Ok(Snapshot { checkpoint_header, client_table, machine: &rest[4 + length..] })
}
