//! The operation byte of a request or reply header (offset 176 / 208), and how it maps
//! to command codes.
//!
//! The operation tells the server which plane owns a request before the body is read:
//! `Register`/`Logout` are sessions, 128..=149 are metadata, 160..=162 are partition
//! writes, and `NonReplicated` covers every read (its code rides in the header's
//! reserved bytes). The same byte decides how a reply body is framed.

use super::code;

/// The client-visible operations of Iggy 0.11.0. Values 64..=68 exist in the official
/// registry but are server-internal; a client frame carrying them is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Operation {
    /// Login; opens a session (codes 40 and 45; the frame does not say which).
    Register = 1,
    /// Every read, ping and other command that bypasses consensus.
    NonReplicated = 2,
    /// Closes the session (code 39).
    Logout = 3,
    /// Code 202.
    CreateStream = 128,
    /// Code 204.
    UpdateStream = 129,
    /// Code 203.
    DeleteStream = 130,
    /// Code 205.
    PurgeStream = 131,
    /// Code 302.
    CreateTopic = 132,
    /// Code 304.
    UpdateTopic = 133,
    /// Code 303.
    DeleteTopic = 134,
    /// Code 305.
    PurgeTopic = 135,
    /// Code 402.
    CreatePartitions = 136,
    /// Code 403.
    DeletePartitions = 137,
    /// Code 503. Sits in the metadata range but is neither a metadata op nor
    /// result-framed in the 0.11.0 crates (the server resolves it to an offset first).
    DeleteSegments = 138,
    /// Code 602.
    CreateConsumerGroup = 139,
    /// Code 603.
    DeleteConsumerGroup = 140,
    /// Code 33.
    CreateUser = 141,
    /// Code 35.
    UpdateUser = 142,
    /// Code 34.
    DeleteUser = 143,
    /// Code 37.
    ChangePassword = 144,
    /// Code 36.
    UpdatePermissions = 145,
    /// Code 42.
    CreatePersonalAccessToken = 146,
    /// Code 43.
    DeletePersonalAccessToken = 147,
    /// Code 604.
    JoinConsumerGroup = 148,
    /// Code 605.
    LeaveConsumerGroup = 149,
    /// Code 101.
    SendMessages = 160,
    /// Code 121.
    StoreConsumerOffset = 161,
    /// Code 122.
    DeleteConsumerOffset = 162,
}

/// `(operation, code)` for every operation with a fixed code.
const TABLE: [(Operation, u32); 26] = [
    (Operation::Logout, code::LOGOUT_USER),
    (Operation::CreateStream, code::CREATE_STREAM),
    (Operation::UpdateStream, code::UPDATE_STREAM),
    (Operation::DeleteStream, code::DELETE_STREAM),
    (Operation::PurgeStream, code::PURGE_STREAM),
    (Operation::CreateTopic, code::CREATE_TOPIC),
    (Operation::UpdateTopic, code::UPDATE_TOPIC),
    (Operation::DeleteTopic, code::DELETE_TOPIC),
    (Operation::PurgeTopic, code::PURGE_TOPIC),
    (Operation::CreatePartitions, code::CREATE_PARTITIONS),
    (Operation::DeletePartitions, code::DELETE_PARTITIONS),
    (Operation::DeleteSegments, code::DELETE_SEGMENTS),
    (Operation::CreateConsumerGroup, code::CREATE_CONSUMER_GROUP),
    (Operation::DeleteConsumerGroup, code::DELETE_CONSUMER_GROUP),
    (Operation::CreateUser, code::CREATE_USER),
    (Operation::UpdateUser, code::UPDATE_USER),
    (Operation::DeleteUser, code::DELETE_USER),
    (Operation::ChangePassword, code::CHANGE_PASSWORD),
    (Operation::UpdatePermissions, code::UPDATE_PERMISSIONS),
    (Operation::CreatePersonalAccessToken, code::CREATE_PERSONAL_ACCESS_TOKEN),
    (Operation::DeletePersonalAccessToken, code::DELETE_PERSONAL_ACCESS_TOKEN),
    (Operation::JoinConsumerGroup, code::JOIN_CONSUMER_GROUP),
    (Operation::LeaveConsumerGroup, code::LEAVE_CONSUMER_GROUP),
    (Operation::SendMessages, code::SEND_MESSAGES),
    (Operation::StoreConsumerOffset, code::STORE_CONSUMER_OFFSET),
    (Operation::DeleteConsumerOffset, code::DELETE_CONSUMER_OFFSET),
];

impl Operation {
    /// Every client-visible operation.
    pub const ALL: [Self; 28] = [
        Self::Register,
        Self::NonReplicated,
        Self::Logout,
        Self::CreateStream,
        Self::UpdateStream,
        Self::DeleteStream,
        Self::PurgeStream,
        Self::CreateTopic,
        Self::UpdateTopic,
        Self::DeleteTopic,
        Self::PurgeTopic,
        Self::CreatePartitions,
        Self::DeletePartitions,
        Self::DeleteSegments,
        Self::CreateConsumerGroup,
        Self::DeleteConsumerGroup,
        Self::CreateUser,
        Self::UpdateUser,
        Self::DeleteUser,
        Self::ChangePassword,
        Self::UpdatePermissions,
        Self::CreatePersonalAccessToken,
        Self::DeletePersonalAccessToken,
        Self::JoinConsumerGroup,
        Self::LeaveConsumerGroup,
        Self::SendMessages,
        Self::StoreConsumerOffset,
        Self::DeleteConsumerOffset,
    ];

    /// Decodes the operation byte; `None` for reserved (0), server-internal and
    /// unknown values.
    #[must_use]
    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|operation| *operation as u8 == value)
    }

    /// The operation a command code travels under. Codes without a replicated
    /// operation (reads, ping, flush, routing) travel as `NonReplicated`; the two
    /// login codes travel as `Register`. Unknown codes also map to `NonReplicated`,
    /// as the SDK does, so the server can refuse them by code.
    #[must_use]
    pub fn for_code(code: u32) -> Self {
        if code == code::LOGIN_REGISTER || code == code::LOGIN_REGISTER_WITH_PAT {
            return Self::Register;
        }
        TABLE
            .into_iter()
            .find(|(_, table_code)| *table_code == code)
            .map_or(Self::NonReplicated, |(operation, _)| operation)
    }

    /// The code this operation implies; `None` for `Register` (40 or 45, told apart
    /// by the body) and `NonReplicated` (the code is in the header).
    #[must_use]
    pub fn code(self) -> Option<u32> {
        TABLE.into_iter().find(|(operation, _)| *operation == self).map(|(_, code)| code)
    }

    /// Metadata mutations (the official `is_metadata`): 128..=149 except
    /// `DeleteSegments`.
    #[must_use]
    pub fn is_metadata(self) -> bool {
        (128..=149).contains(&(self as u8)) && self != Self::DeleteSegments
    }

    /// Partition-plane writes: 160..=162.
    #[must_use]
    pub fn is_partition(self) -> bool {
        self as u8 >= 160
    }

    /// Whether a successful reply body starts with the `[count u32]` result section.
    ///
    /// True for metadata ops and the two consumer-offset writes. `Register` is framed
    /// only when its body is non-empty, which [`crate::iggy::reply`] handles; the SDK
    /// passes `SendMessages`, `Logout`, `DeleteSegments` and reads through raw.
    #[must_use]
    pub fn is_result_framed(self) -> bool {
        self.is_metadata() || matches!(self, Self::StoreConsumerOffset | Self::DeleteConsumerOffset)
    }

    /// Whether the request carries `request_checksum = xxh3(body)`: everything but
    /// partition writes and `NonReplicated` (those leave it zero).
    #[must_use]
    pub fn is_checksummed(self) -> bool {
        !self.is_partition() && self != Self::NonReplicated
    }

    /// Whether the request needs a registered session (`session > 0`, `request > 0`).
    #[must_use]
    pub fn needs_session(self) -> bool {
        !matches!(self, Self::Register | Self::NonReplicated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_round_trips_and_reserved_values_are_refused() {
        for operation in Operation::ALL {
            assert_eq!(Operation::from_u8(operation as u8), Some(operation));
        }
        for value in [0u8, 4, 64, 65, 66, 67, 68, 127, 150, 159, 163, 255] {
            assert_eq!(Operation::from_u8(value), None, "value {value}");
        }
    }

    #[test]
    fn codes_map_both_ways() {
        for operation in Operation::ALL {
            if let Some(code) = operation.code() {
                assert_eq!(Operation::for_code(code), operation);
            }
        }
        assert_eq!(Operation::for_code(code::LOGIN_REGISTER), Operation::Register);
        assert_eq!(Operation::for_code(code::LOGIN_REGISTER_WITH_PAT), Operation::Register);
        assert_eq!(Operation::for_code(code::POLL_MESSAGES), Operation::NonReplicated);
        assert_eq!(Operation::for_code(code::GET_STREAM), Operation::NonReplicated);
        assert_eq!(Operation::for_code(60_000), Operation::NonReplicated);
        assert_eq!(Operation::Register.code(), None);
        assert_eq!(Operation::NonReplicated.code(), None);
    }

    #[test]
    fn framing_and_checksum_classes() {
        assert!(Operation::CreateStream.is_result_framed());
        assert!(Operation::StoreConsumerOffset.is_result_framed());
        assert!(!Operation::DeleteSegments.is_result_framed());
        assert!(!Operation::SendMessages.is_result_framed());
        assert!(!Operation::Logout.is_result_framed());
        assert!(Operation::DeleteSegments.is_checksummed());
        assert!(Operation::Logout.is_checksummed());
        assert!(!Operation::SendMessages.is_checksummed());
        assert!(!Operation::NonReplicated.is_checksummed());
        assert!(Operation::Logout.needs_session());
        assert!(!Operation::NonReplicated.needs_session());
    }
}
