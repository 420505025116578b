//! The commands (message kinds) of the replica plane and the operations prepares carry.

/// The kind of a replica-plane message, byte 60 of the header.
///
/// Field usage per command is documented on [`crate::vsr::Header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Command {
    /// Liveness and view discovery between replicas.
    Ping = 1,
    /// Answer to a ping, echoing its `timestamp`.
    Pong = 2,
    /// A client request (possibly forwarded by a backup) for the primary to order.
    Request = 3,
    /// The primary's ordered, hash-chained operation; journaled verbatim by every replica.
    Prepare = 4,
    /// A backup holds the prepare named by `context` in its journal.
    PrepareOk = 5,
    /// The result of a committed request, addressed to `client`.
    Reply = 6,
    /// The primary's heartbeat: `commit` is its commit number (commit_max).
    Commit = 7,
    /// A replica suspects the primary of `view - 1` and votes to leave it.
    StartViewChange = 8,
    /// A replica's log suffix, sent to the primary of the new view.
    DoViewChange = 9,
    /// The new primary's log suffix: installs the view on backups.
    StartView = 10,
    /// A replica asks the primary for a `StartView` (with a nonce after a restart).
    RequestStartView = 11,
    /// Asks for the headers of ops `commit..=op` (repair of the hash chain).
    RequestHeaders = 12,
    /// A batch of prepare headers (answer to `RequestHeaders`).
    Headers = 13,
    /// Asks for the prepare at `op` whose checksum is `context`.
    RequestPrepare = 14,
    /// The client's session was evicted; it must register again.
    Eviction = 15,
    /// A lagging replica asks for a chunk of the checkpoint at `checkpoint_op`.
    RequestSyncChunk = 16,
    /// A chunk of a checkpoint (state transfer).
    SyncChunk = 17,
    /// A replica that installed a checkpoint asks a peer for a partition's stored records
    /// (not a consensus message; body: [`super::PartitionDataRequest`]).
    RequestPartitionData = 18,
    /// Stored records of a partition (answer; body: [`super::PartitionData`]).
    PartitionData = 19,
}

impl Command {
    /// Decodes byte 60 of a header; `None` for an unknown value.
    #[must_use]
    pub fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            1 => Self::Ping,
            2 => Self::Pong,
            3 => Self::Request,
            4 => Self::Prepare,
            5 => Self::PrepareOk,
            6 => Self::Reply,
            7 => Self::Commit,
            8 => Self::StartViewChange,
            9 => Self::DoViewChange,
            10 => Self::StartView,
            11 => Self::RequestStartView,
            12 => Self::RequestHeaders,
            13 => Self::Headers,
            14 => Self::RequestPrepare,
            15 => Self::Eviction,
            16 => Self::RequestSyncChunk,
            17 => Self::SyncChunk,
            18 => Self::RequestPartitionData,
            19 => Self::PartitionData,
            _ => return None,
        })
    }

    /// All commands, for exhaustive tests.
    pub const ALL: [Self; 19] = [
        Self::Ping,
        Self::Pong,
        Self::Request,
        Self::Prepare,
        Self::PrepareOk,
        Self::Reply,
        Self::Commit,
        Self::StartViewChange,
        Self::DoViewChange,
        Self::StartView,
        Self::RequestStartView,
        Self::RequestHeaders,
        Self::Headers,
        Self::RequestPrepare,
        Self::Eviction,
        Self::RequestSyncChunk,
        Self::SyncChunk,
        Self::RequestPartitionData,
        Self::PartitionData,
    ];
}

/// What a prepare asks the state machine to do (byte 63 of the header).
///
/// Values below [`Operation::USER_MIN`] belong to consensus itself; the state machine sees
/// only user operations, whose meaning each state machine defines (the node's metadata
/// and partition machines, the simulator's model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Operation(pub u8);

impl Operation {
    /// No operation: the header is not a prepare, or the slot is empty.
    pub const RESERVED: Self = Self(0);
    /// The first prepare of every log (op 0); its checksum roots the hash chain.
    pub const ROOT: Self = Self(1);
    /// Opens a client session; the reply carries the session number (= this op).
    pub const REGISTER: Self = Self(2);
    /// Does nothing; a new primary prepares one so it can commit its predecessors.
    pub const NOOP: Self = Self(3);
    /// First value available to state machines.
    pub const USER_MIN: u8 = 16;

    /// True for operations that a state machine applies.
    #[must_use]
    pub fn is_user(self) -> bool {
        self.0 >= Self::USER_MIN
    }
}

/// Why a client session was evicted (carried in `Header::operation` of an eviction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EvictionReason {
    /// The session is not (or no longer) in the client table.
    NoSession = 1,
    /// The client table was full and this session was the least recently used.
    TableFull = 2,
    /// The request number is older than the session's latest.
    RequestTooOld = 3,
    /// The request body is invalid for its operation.
    InvalidRequest = 4,
}

impl EvictionReason {
    /// Decodes a reason byte; `None` for an unknown value.
    #[must_use]
    pub fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            1 => Self::NoSession,
            2 => Self::TableFull,
            3 => Self::RequestTooOld,
            4 => Self::InvalidRequest,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_round_trips_every_value() {
        for command in Command::ALL {
            assert_eq!(Command::from_u8(command as u8), Some(command));
        }
        for value in 0..=u8::MAX {
            if let Some(command) = Command::from_u8(value) {
                assert_eq!(command as u8, value);
            }
        }
        assert_eq!(Command::from_u8(0), None);
        assert_eq!(Command::from_u8(20), None);
    }
}
