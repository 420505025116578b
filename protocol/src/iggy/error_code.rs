//! Error codes a server puts in a reply's `status` field or in a result section.
//!
//! The numbers are the `IggyError` discriminants of `iggy_common` 0.11.0, which the SDK
//! maps back with `IggyError::from_code`. Only codes a server can send are named here;
//! client-side conditions (connection, TLS, local files) never cross the wire. A gap in
//! the numbering is a retired code and must never be reused.

/// An Iggy error code as carried on the wire (`u32`, 0 = success).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// Success: the value of `status` in an ordinary reply.
    pub const OK: Self = Self(0);
    /// `error`: error.
    pub const ERROR: Self = Self(1);
    /// `invalid_command`: invalid command.
    pub const INVALID_COMMAND: Self = Self(3);
    /// `invalid_format`: invalid format.
    pub const INVALID_FORMAT: Self = Self(4);
    /// `feature_unavailable`: feature unavailable.
    pub const FEATURE_UNAVAILABLE: Self = Self(5);
    /// `invalid_identifier`: invalid identifier.
    pub const INVALID_IDENTIFIER: Self = Self(6);
    /// `invalid_version`: invalid version.
    pub const INVALID_VERSION: Self = Self(7);
    /// `resource_not_found`: resource not found.
    pub const RESOURCE_NOT_FOUND: Self = Self(20);
    /// `stale_client`: stale client.
    pub const STALE_CLIENT: Self = Self(30);
    /// `unauthenticated`: unauthenticated.
    pub const UNAUTHENTICATED: Self = Self(40);
    /// `unauthorized`: unauthorized.
    pub const UNAUTHORIZED: Self = Self(41);
    /// `invalid_credentials`: invalid credentials.
    pub const INVALID_CREDENTIALS: Self = Self(42);
    /// `invalid_username`: invalid username.
    pub const INVALID_USERNAME: Self = Self(43);
    /// `invalid_password`: invalid password.
    pub const INVALID_PASSWORD: Self = Self(44);
    /// `invalid_user_status`: invalid user status.
    pub const INVALID_USER_STATUS: Self = Self(45);
    /// `user_already_exists`: user already exists.
    pub const USER_ALREADY_EXISTS: Self = Self(46);
    /// `user_inactive`: user inactive.
    pub const USER_INACTIVE: Self = Self(47);
    /// `cannot_delete_user`: cannot delete user.
    pub const CANNOT_DELETE_USER: Self = Self(48);
    /// `cannot_change_permissions`: cannot change permissions.
    pub const CANNOT_CHANGE_PERMISSIONS: Self = Self(49);
    /// `invalid_personal_access_token_name`: invalid personal access token name.
    pub const INVALID_PERSONAL_ACCESS_TOKEN_NAME: Self = Self(50);
    /// `personal_access_token_already_exists`: personal access token already exists.
    pub const PERSONAL_ACCESS_TOKEN_ALREADY_EXISTS: Self = Self(51);
    /// `personal_access_tokens_limit_reached`: personal access tokens limit reached.
    pub const PERSONAL_ACCESS_TOKENS_LIMIT_REACHED: Self = Self(52);
    /// `invalid_personal_access_token`: invalid personal access token.
    pub const INVALID_PERSONAL_ACCESS_TOKEN: Self = Self(53);
    /// `personal_access_token_expired`: personal access token expired.
    pub const PERSONAL_ACCESS_TOKEN_EXPIRED: Self = Self(54);
    /// `users_limit_reached`: users limit reached.
    pub const USERS_LIMIT_REACHED: Self = Self(55);
    /// `invalid_personal_access_token_expiry`: invalid personal access token expiry.
    pub const INVALID_PERSONAL_ACCESS_TOKEN_EXPIRY: Self = Self(56);
    /// `transient_not_committed`: transient not committed.
    pub const TRANSIENT_NOT_COMMITTED: Self = Self(57);
    /// `transient_not_accepted`: transient not accepted.
    pub const TRANSIENT_NOT_ACCEPTED: Self = Self(58);
    /// `request_already_applied`: request already applied.
    pub const REQUEST_ALREADY_APPLIED: Self = Self(59);
    /// `invalid_size_bytes`: invalid size bytes.
    pub const INVALID_SIZE_BYTES: Self = Self(80);
    /// `invalid_utf8`: invalid utf8.
    pub const INVALID_UTF8: Self = Self(81);
    /// `invalid_number_encoding`: invalid number encoding.
    pub const INVALID_NUMBER_ENCODING: Self = Self(82);
    /// `invalid_boolean_value`: invalid boolean value.
    pub const INVALID_BOOLEAN_VALUE: Self = Self(83);
    /// `invalid_number_value`: invalid number value.
    pub const INVALID_NUMBER_VALUE: Self = Self(84);
    /// `client_not_found`: client not found.
    pub const CLIENT_NOT_FOUND: Self = Self(100);
    /// `invalid_client_id`: invalid client id.
    pub const INVALID_CLIENT_ID: Self = Self(101);
    /// `cannot_parse_header_kind`: cannot parse header kind.
    pub const CANNOT_PARSE_HEADER_KIND: Self = Self(209);
    /// `stream_id_not_found`: stream id not found.
    pub const STREAM_ID_NOT_FOUND: Self = Self(1009);
    /// `stream_name_not_found`: stream name not found.
    pub const STREAM_NAME_NOT_FOUND: Self = Self(1010);
    /// `stream_directory_not_found`: stream directory not found.
    pub const STREAM_DIRECTORY_NOT_FOUND: Self = Self(1011);
    /// `stream_name_already_exists`: stream name already exists.
    pub const STREAM_NAME_ALREADY_EXISTS: Self = Self(1012);
    /// `invalid_stream_name`: invalid stream name.
    pub const INVALID_STREAM_NAME: Self = Self(1013);
    /// `invalid_stream_id`: invalid stream id.
    pub const INVALID_STREAM_ID: Self = Self(1014);
    /// `invalid_topic_size`: invalid topic size.
    pub const INVALID_TOPIC_SIZE: Self = Self(1019);
    /// `too_many_streams`: too many streams.
    pub const TOO_MANY_STREAMS: Self = Self(1020);
    /// `cannot_poll_topic`: cannot poll topic.
    pub const CANNOT_POLL_TOPIC: Self = Self(2009);
    /// `topic_id_not_found`: topic id not found.
    pub const TOPIC_ID_NOT_FOUND: Self = Self(2010);
    /// `topic_name_not_found`: topic name not found.
    pub const TOPIC_NAME_NOT_FOUND: Self = Self(2011);
    /// `topic_name_already_exists`: topic name already exists.
    pub const TOPIC_NAME_ALREADY_EXISTS: Self = Self(2013);
    /// `invalid_topic_name`: invalid topic name.
    pub const INVALID_TOPIC_NAME: Self = Self(2014);
    /// `too_many_partitions`: too many partitions.
    pub const TOO_MANY_PARTITIONS: Self = Self(2015);
    /// `invalid_topic_id`: invalid topic id.
    pub const INVALID_TOPIC_ID: Self = Self(2016);
    /// `invalid_replication_factor`: invalid replication factor.
    pub const INVALID_REPLICATION_FACTOR: Self = Self(2018);
    /// `invalid_partitions_count`: invalid partitions count.
    pub const INVALID_PARTITIONS_COUNT: Self = Self(2019);
    /// `topic_directory_not_found`: topic directory not found.
    pub const TOPIC_DIRECTORY_NOT_FOUND: Self = Self(2020);
    /// `too_many_topics`: too many topics.
    pub const TOO_MANY_TOPICS: Self = Self(2021);
    /// `partition_not_found`: partition not found.
    pub const PARTITION_NOT_FOUND: Self = Self(3007);
    /// `no_partitions`: no partitions.
    pub const NO_PARTITIONS: Self = Self(3008);
    /// `topic_full`: topic full.
    pub const TOPIC_FULL: Self = Self(3009);
    /// `partition_id_space_exhausted`: partition id space exhausted.
    pub const PARTITION_ID_SPACE_EXHAUSTED: Self = Self(3013);
    /// `consumer_offset_not_found`: consumer offset not found.
    pub const CONSUMER_OFFSET_NOT_FOUND: Self = Self(3021);
    /// `not_resolved_consumer`: not resolved consumer.
    pub const NOT_RESOLVED_CONSUMER: Self = Self(3022);
    /// `too_many_consumer_offsets`: too many consumer offsets.
    pub const TOO_MANY_CONSUMER_OFFSETS: Self = Self(3024);
    /// `segment_not_found`: segment not found.
    pub const SEGMENT_NOT_FOUND: Self = Self(4000);
    /// `segment_closed`: segment closed.
    pub const SEGMENT_CLOSED: Self = Self(4001);
    /// `invalid_segment_size`: invalid segment size.
    pub const INVALID_SEGMENT_SIZE: Self = Self(4002);
    /// `invalid_messages_count`: invalid messages count.
    pub const INVALID_MESSAGES_COUNT: Self = Self(4009);
    /// `too_big_user_headers`: too big user headers.
    pub const TOO_BIG_USER_HEADERS: Self = Self(4017);
    /// `invalid_header_key`: invalid header key.
    pub const INVALID_HEADER_KEY: Self = Self(4018);
    /// `invalid_header_value`: invalid header value.
    pub const INVALID_HEADER_VALUE: Self = Self(4019);
    /// `too_big_message_payload`: too big message payload.
    pub const TOO_BIG_MESSAGE_PAYLOAD: Self = Self(4022);
    /// `too_many_messages`: too many messages.
    pub const TOO_MANY_MESSAGES: Self = Self(4023);
    /// `empty_message_payload`: empty message payload.
    pub const EMPTY_MESSAGE_PAYLOAD: Self = Self(4024);
    /// `invalid_message_payload_length`: invalid message payload length.
    pub const INVALID_MESSAGE_PAYLOAD_LENGTH: Self = Self(4025);
    /// `invalid_message_checksum`: invalid message checksum.
    pub const INVALID_MESSAGE_CHECKSUM: Self = Self(4027);
    /// `invalid_key_value_length`: invalid key value length.
    pub const INVALID_KEY_VALUE_LENGTH: Self = Self(4028);
    /// `command_length_error`: command length error.
    pub const COMMAND_LENGTH_ERROR: Self = Self(4029);
    /// `invalid_segments_count`: invalid segments count.
    pub const INVALID_SEGMENTS_COUNT: Self = Self(4030);
    /// `non_zero_offset`: non zero offset.
    pub const NON_ZERO_OFFSET: Self = Self(4031);
    /// `non_zero_timestamp`: non zero timestamp.
    pub const NON_ZERO_TIMESTAMP: Self = Self(4032);
    /// `invalid_indexes_byte_size`: invalid indexes byte size.
    pub const INVALID_INDEXES_BYTE_SIZE: Self = Self(4034);
    /// `invalid_indexes_count`: invalid indexes count.
    pub const INVALID_INDEXES_COUNT: Self = Self(4035);
    /// `invalid_messages_size`: invalid messages size.
    pub const INVALID_MESSAGES_SIZE: Self = Self(4036);
    /// `too_small_message`: too small message.
    pub const TOO_SMALL_MESSAGE: Self = Self(4037);
    /// `invalid_message_timestamp_delta`: invalid message timestamp delta.
    pub const INVALID_MESSAGE_TIMESTAMP_DELTA: Self = Self(4038);
    /// `invalid_batch_checksum`: invalid batch checksum.
    pub const INVALID_BATCH_CHECKSUM: Self = Self(4039);
    /// `invalid_header_kind`: invalid header kind.
    pub const INVALID_HEADER_KIND: Self = Self(4040);
    /// `unsupported_option_key`: unsupported option key.
    pub const UNSUPPORTED_OPTION_KEY: Self = Self(4041);
    /// `invalid_option_value`: invalid option value.
    pub const INVALID_OPTION_VALUE: Self = Self(4042);
    /// `options_block_too_large`: options block too large.
    pub const OPTIONS_BLOCK_TOO_LARGE: Self = Self(4043);
    /// `invalid_offset`: invalid offset.
    pub const INVALID_OFFSET: Self = Self(4100);
    /// `invalid_reserved_field`: invalid reserved field.
    pub const INVALID_RESERVED_FIELD: Self = Self(4101);
    /// `segment_size_mismatch_at_open`: segment size mismatch at open.
    pub const SEGMENT_SIZE_MISMATCH_AT_OPEN: Self = Self(4102);
    /// `consumer_group_id_not_found`: consumer group id not found.
    pub const CONSUMER_GROUP_ID_NOT_FOUND: Self = Self(5000);
    /// `invalid_consumer_group_id`: invalid consumer group id.
    pub const INVALID_CONSUMER_GROUP_ID: Self = Self(5002);
    /// `consumer_group_name_not_found`: consumer group name not found.
    pub const CONSUMER_GROUP_NAME_NOT_FOUND: Self = Self(5003);
    /// `consumer_group_name_already_exists`: consumer group name already exists.
    pub const CONSUMER_GROUP_NAME_ALREADY_EXISTS: Self = Self(5004);
    /// `invalid_consumer_group_name`: invalid consumer group name.
    pub const INVALID_CONSUMER_GROUP_NAME: Self = Self(5005);
    /// `consumer_group_member_not_found`: consumer group member not found.
    pub const CONSUMER_GROUP_MEMBER_NOT_FOUND: Self = Self(5006);
    /// `consumer_group_partition_not_owned`: consumer group partition not owned.
    pub const CONSUMER_GROUP_PARTITION_NOT_OWNED: Self = Self(5009);
    /// `snapshot_file_completion_failed`: snapshot file completion failed.
    pub const SNAPSHOT_FILE_COMPLETION_FAILED: Self = Self(9000);
    /// `timestamp_out_of_range`: timestamp out of range.
    pub const TIMESTAMP_OUT_OF_RANGE: Self = Self(10013);
    /// `already_authenticated`: already authenticated.
    pub const ALREADY_AUTHENTICATED: Self = Self(14000);
    /// `invalid_session`: invalid session.
    pub const INVALID_SESSION: Self = Self(14001);
    /// `incompatible_protocol_version`: incompatible protocol version.
    pub const INCOMPATIBLE_PROTOCOL_VERSION: Self = Self(14003);

    /// Every named code, for exhaustive tests.
    pub const ALL: [Self; 104] = [
        Self::ERROR,
        Self::INVALID_COMMAND,
        Self::INVALID_FORMAT,
        Self::FEATURE_UNAVAILABLE,
        Self::INVALID_IDENTIFIER,
        Self::INVALID_VERSION,
        Self::RESOURCE_NOT_FOUND,
        Self::STALE_CLIENT,
        Self::UNAUTHENTICATED,
        Self::UNAUTHORIZED,
        Self::INVALID_CREDENTIALS,
        Self::INVALID_USERNAME,
        Self::INVALID_PASSWORD,
        Self::INVALID_USER_STATUS,
        Self::USER_ALREADY_EXISTS,
        Self::USER_INACTIVE,
        Self::CANNOT_DELETE_USER,
        Self::CANNOT_CHANGE_PERMISSIONS,
        Self::INVALID_PERSONAL_ACCESS_TOKEN_NAME,
        Self::PERSONAL_ACCESS_TOKEN_ALREADY_EXISTS,
        Self::PERSONAL_ACCESS_TOKENS_LIMIT_REACHED,
        Self::INVALID_PERSONAL_ACCESS_TOKEN,
        Self::PERSONAL_ACCESS_TOKEN_EXPIRED,
        Self::USERS_LIMIT_REACHED,
        Self::INVALID_PERSONAL_ACCESS_TOKEN_EXPIRY,
        Self::TRANSIENT_NOT_COMMITTED,
        Self::TRANSIENT_NOT_ACCEPTED,
        Self::REQUEST_ALREADY_APPLIED,
        Self::INVALID_SIZE_BYTES,
        Self::INVALID_UTF8,
        Self::INVALID_NUMBER_ENCODING,
        Self::INVALID_BOOLEAN_VALUE,
        Self::INVALID_NUMBER_VALUE,
        Self::CLIENT_NOT_FOUND,
        Self::INVALID_CLIENT_ID,
        Self::CANNOT_PARSE_HEADER_KIND,
        Self::STREAM_ID_NOT_FOUND,
        Self::STREAM_NAME_NOT_FOUND,
        Self::STREAM_DIRECTORY_NOT_FOUND,
        Self::STREAM_NAME_ALREADY_EXISTS,
        Self::INVALID_STREAM_NAME,
        Self::INVALID_STREAM_ID,
        Self::INVALID_TOPIC_SIZE,
        Self::TOO_MANY_STREAMS,
        Self::CANNOT_POLL_TOPIC,
        Self::TOPIC_ID_NOT_FOUND,
        Self::TOPIC_NAME_NOT_FOUND,
        Self::TOPIC_NAME_ALREADY_EXISTS,
        Self::INVALID_TOPIC_NAME,
        Self::TOO_MANY_PARTITIONS,
        Self::INVALID_TOPIC_ID,
        Self::INVALID_REPLICATION_FACTOR,
        Self::INVALID_PARTITIONS_COUNT,
        Self::TOPIC_DIRECTORY_NOT_FOUND,
        Self::TOO_MANY_TOPICS,
        Self::PARTITION_NOT_FOUND,
        Self::NO_PARTITIONS,
        Self::TOPIC_FULL,
        Self::PARTITION_ID_SPACE_EXHAUSTED,
        Self::CONSUMER_OFFSET_NOT_FOUND,
        Self::NOT_RESOLVED_CONSUMER,
        Self::TOO_MANY_CONSUMER_OFFSETS,
        Self::SEGMENT_NOT_FOUND,
        Self::SEGMENT_CLOSED,
        Self::INVALID_SEGMENT_SIZE,
        Self::INVALID_MESSAGES_COUNT,
        Self::TOO_BIG_USER_HEADERS,
        Self::INVALID_HEADER_KEY,
        Self::INVALID_HEADER_VALUE,
        Self::TOO_BIG_MESSAGE_PAYLOAD,
        Self::TOO_MANY_MESSAGES,
        Self::EMPTY_MESSAGE_PAYLOAD,
        Self::INVALID_MESSAGE_PAYLOAD_LENGTH,
        Self::INVALID_MESSAGE_CHECKSUM,
        Self::INVALID_KEY_VALUE_LENGTH,
        Self::COMMAND_LENGTH_ERROR,
        Self::INVALID_SEGMENTS_COUNT,
        Self::NON_ZERO_OFFSET,
        Self::NON_ZERO_TIMESTAMP,
        Self::INVALID_INDEXES_BYTE_SIZE,
        Self::INVALID_INDEXES_COUNT,
        Self::INVALID_MESSAGES_SIZE,
        Self::TOO_SMALL_MESSAGE,
        Self::INVALID_MESSAGE_TIMESTAMP_DELTA,
        Self::INVALID_BATCH_CHECKSUM,
        Self::INVALID_HEADER_KIND,
        Self::UNSUPPORTED_OPTION_KEY,
        Self::INVALID_OPTION_VALUE,
        Self::OPTIONS_BLOCK_TOO_LARGE,
        Self::INVALID_OFFSET,
        Self::INVALID_RESERVED_FIELD,
        Self::SEGMENT_SIZE_MISMATCH_AT_OPEN,
        Self::CONSUMER_GROUP_ID_NOT_FOUND,
        Self::INVALID_CONSUMER_GROUP_ID,
        Self::CONSUMER_GROUP_NAME_NOT_FOUND,
        Self::CONSUMER_GROUP_NAME_ALREADY_EXISTS,
        Self::INVALID_CONSUMER_GROUP_NAME,
        Self::CONSUMER_GROUP_MEMBER_NOT_FOUND,
        Self::CONSUMER_GROUP_PARTITION_NOT_OWNED,
        Self::SNAPSHOT_FILE_COMPLETION_FAILED,
        Self::TIMESTAMP_OUT_OF_RANGE,
        Self::ALREADY_AUTHENTICATED,
        Self::INVALID_SESSION,
        Self::INCOMPATIBLE_PROTOCOL_VERSION,
    ];

    /// The snake_case name the official crate gives this code; `None` for codes not
    /// named here.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "ok",
            1 => "error",
            3 => "invalid_command",
            4 => "invalid_format",
            5 => "feature_unavailable",
            6 => "invalid_identifier",
            7 => "invalid_version",
            20 => "resource_not_found",
            30 => "stale_client",
            40 => "unauthenticated",
            41 => "unauthorized",
            42 => "invalid_credentials",
            43 => "invalid_username",
            44 => "invalid_password",
            45 => "invalid_user_status",
            46 => "user_already_exists",
            47 => "user_inactive",
            48 => "cannot_delete_user",
            49 => "cannot_change_permissions",
            50 => "invalid_personal_access_token_name",
            51 => "personal_access_token_already_exists",
            52 => "personal_access_tokens_limit_reached",
            53 => "invalid_personal_access_token",
            54 => "personal_access_token_expired",
            55 => "users_limit_reached",
            56 => "invalid_personal_access_token_expiry",
            57 => "transient_not_committed",
            58 => "transient_not_accepted",
            59 => "request_already_applied",
            80 => "invalid_size_bytes",
            81 => "invalid_utf8",
            82 => "invalid_number_encoding",
            83 => "invalid_boolean_value",
            84 => "invalid_number_value",
            100 => "client_not_found",
            101 => "invalid_client_id",
            209 => "cannot_parse_header_kind",
            1009 => "stream_id_not_found",
            1010 => "stream_name_not_found",
            1011 => "stream_directory_not_found",
            1012 => "stream_name_already_exists",
            1013 => "invalid_stream_name",
            1014 => "invalid_stream_id",
            1019 => "invalid_topic_size",
            1020 => "too_many_streams",
            2009 => "cannot_poll_topic",
            2010 => "topic_id_not_found",
            2011 => "topic_name_not_found",
            2013 => "topic_name_already_exists",
            2014 => "invalid_topic_name",
            2015 => "too_many_partitions",
            2016 => "invalid_topic_id",
            2018 => "invalid_replication_factor",
            2019 => "invalid_partitions_count",
            2020 => "topic_directory_not_found",
            2021 => "too_many_topics",
            3007 => "partition_not_found",
            3008 => "no_partitions",
            3009 => "topic_full",
            3013 => "partition_id_space_exhausted",
            3021 => "consumer_offset_not_found",
            3022 => "not_resolved_consumer",
            3024 => "too_many_consumer_offsets",
            4000 => "segment_not_found",
            4001 => "segment_closed",
            4002 => "invalid_segment_size",
            4009 => "invalid_messages_count",
            4017 => "too_big_user_headers",
            4018 => "invalid_header_key",
            4019 => "invalid_header_value",
            4022 => "too_big_message_payload",
            4023 => "too_many_messages",
            4024 => "empty_message_payload",
            4025 => "invalid_message_payload_length",
            4027 => "invalid_message_checksum",
            4028 => "invalid_key_value_length",
            4029 => "command_length_error",
            4030 => "invalid_segments_count",
            4031 => "non_zero_offset",
            4032 => "non_zero_timestamp",
            4034 => "invalid_indexes_byte_size",
            4035 => "invalid_indexes_count",
            4036 => "invalid_messages_size",
            4037 => "too_small_message",
            4038 => "invalid_message_timestamp_delta",
            4039 => "invalid_batch_checksum",
            4040 => "invalid_header_kind",
            4041 => "unsupported_option_key",
            4042 => "invalid_option_value",
            4043 => "options_block_too_large",
            4100 => "invalid_offset",
            4101 => "invalid_reserved_field",
            4102 => "segment_size_mismatch_at_open",
            5000 => "consumer_group_id_not_found",
            5002 => "invalid_consumer_group_id",
            5003 => "consumer_group_name_not_found",
            5004 => "consumer_group_name_already_exists",
            5005 => "invalid_consumer_group_name",
            5006 => "consumer_group_member_not_found",
            5009 => "consumer_group_partition_not_owned",
            9000 => "snapshot_file_completion_failed",
            10013 => "timestamp_out_of_range",
            14000 => "already_authenticated",
            14001 => "invalid_session",
            14003 => "incompatible_protocol_version",
            _ => return None,
        })
    }

    /// Whether a client should retry the same request: 57 (not committed, replay on
    /// the same session) and 58 (not accepted, re-check the leader).
    #[must_use]
    pub fn is_transient(self) -> bool {
        self == Self::TRANSIENT_NOT_COMMITTED || self == Self::TRANSIENT_NOT_ACCEPTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_named() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.0), "duplicate code {}", code.0);
            assert!(code.name().is_some(), "unnamed code {}", code.0);
        }
        assert_eq!(ErrorCode::STREAM_ID_NOT_FOUND.0, 1009);
        assert_eq!(ErrorCode::TOPIC_ID_NOT_FOUND.0, 2010);
        assert_eq!(ErrorCode::PARTITION_NOT_FOUND.0, 3007);
        assert_eq!(ErrorCode::CONSUMER_GROUP_ID_NOT_FOUND.0, 5000);
        assert_eq!(ErrorCode::UNAUTHENTICATED.0, 40);
        assert_eq!(ErrorCode::UNAUTHORIZED.0, 41);
        assert_eq!(ErrorCode::INVALID_FORMAT.0, 4);
        assert_eq!(ErrorCode::FEATURE_UNAVAILABLE.0, 5);
        assert_eq!(ErrorCode::INCOMPATIBLE_PROTOCOL_VERSION.0, 14003);
        assert!(ErrorCode::TRANSIENT_NOT_COMMITTED.is_transient());
        assert!(ErrorCode(58).is_transient());
        assert!(!ErrorCode::INVALID_FORMAT.is_transient());
        assert_eq!(ErrorCode(999_999).name(), None);
    }
}
