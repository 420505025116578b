//! The code ↔ variant table of [`Request`], written once.

use super::{Body, Request, RequestError, decode_body};
use crate::iggy::code;
use crate::iggy::wire::DecodeError;

macro_rules! request_table {
    (
        empty { $($empty_code:path => $empty:ident,)* }
        body { $($body_code:path => $variant:ident,)* }
    ) => {
        impl<'a> Request<'a> {
            /// The command code.
            #[must_use]
            pub fn code(&self) -> u32 {
                match self {
                    $(Self::$empty => $empty_code,)*
                    $(Self::$variant(_) => $body_code,)*
                }
            }

            /// Decodes the body of command `code` (no header checks; see
            /// [`super::parse_request`]).
            pub fn decode(code: u32, body: &'a [u8]) -> Result<Self, RequestError> {
                let wrap = |error| RequestError::Body { code, error };
                Ok(match code {
                    code::LOGIN_USER | code::LOGIN_WITH_PERSONAL_ACCESS_TOKEN => {
                        return Err(RequestError::LegacyLogin(code));
                    }
                    $($empty_code => {
                        if !body.is_empty() {
                            return Err(wrap(DecodeError::TrailingBytes { offset: 0 }));
                        }
                        Self::$empty
                    })*
                    $($body_code => Self::$variant(decode_body(body).map_err(wrap)?),)*
                    _ => return Err(RequestError::UnknownCommand(code)),
                })
            }

            /// Appends the body.
            pub fn encode_body(&self, out: &mut Vec<u8>) {
                match self {
                    $(Self::$empty => {})*
                    $(Self::$variant(body) => body.encode(out),)*
                }
            }
        }
    };
}

request_table! {
    empty {
        code::PING => Ping,
        code::GET_STATS => GetStats,
        code::GET_CLUSTER_METADATA => GetClusterMetadata,
        code::GET_ME => GetMe,
        code::GET_CLIENTS => GetClients,
        code::GET_USERS => GetUsers,
        code::LOGOUT_USER => Logout,
        code::GET_PERSONAL_ACCESS_TOKENS => GetPersonalAccessTokens,
        code::GET_STREAMS => GetStreams,
    }
    body {
        code::GET_SNAPSHOT_FILE => GetSnapshot,
        code::DESCRIBE_OPTIONS => DescribeOptions,
        code::ATTACH_CONSUMER_SESSION => AttachConsumerSession,
        code::GET_CLIENT => GetClient,
        code::GET_USER => GetUser,
        code::CREATE_USER => CreateUser,
        code::DELETE_USER => DeleteUser,
        code::UPDATE_USER => UpdateUser,
        code::UPDATE_PERMISSIONS => UpdatePermissions,
        code::CHANGE_PASSWORD => ChangePassword,
        code::LOGIN_REGISTER => LoginRegister,
        code::LOGIN_REGISTER_WITH_PAT => LoginRegisterWithPat,
        code::CREATE_PERSONAL_ACCESS_TOKEN => CreatePersonalAccessToken,
        code::DELETE_PERSONAL_ACCESS_TOKEN => DeletePersonalAccessToken,
        code::POLL_MESSAGES => PollMessages,
        code::SEND_MESSAGES => SendMessages,
        code::FLUSH_UNSAVED_BUFFER => FlushUnsavedBuffer,
        code::GET_POLL_ROUTING => GetPollRouting,
        code::POLL_MESSAGES_ON_PRIMARY => PollMessagesOnPrimary,
        code::GET_CONSUMER_OFFSET => GetConsumerOffset,
        code::STORE_CONSUMER_OFFSET => StoreConsumerOffset,
        code::DELETE_CONSUMER_OFFSET => DeleteConsumerOffset,
        code::GET_CONSUMER_OFFSET_ROUTING => GetConsumerOffsetRouting,
        code::GET_STREAM => GetStream,
        code::CREATE_STREAM => CreateStream,
        code::DELETE_STREAM => DeleteStream,
        code::UPDATE_STREAM => UpdateStream,
        code::PURGE_STREAM => PurgeStream,
        code::GET_TOPIC => GetTopic,
        code::GET_TOPICS => GetTopics,
        code::CREATE_TOPIC => CreateTopic,
        code::DELETE_TOPIC => DeleteTopic,
        code::UPDATE_TOPIC => UpdateTopic,
        code::PURGE_TOPIC => PurgeTopic,
        code::CREATE_PARTITIONS => CreatePartitions,
        code::DELETE_PARTITIONS => DeletePartitions,
        code::DELETE_SEGMENTS => DeleteSegments,
        code::GET_CONSUMER_GROUP => GetConsumerGroup,
        code::GET_CONSUMER_GROUPS => GetConsumerGroups,
        code::CREATE_CONSUMER_GROUP => CreateConsumerGroup,
        code::DELETE_CONSUMER_GROUP => DeleteConsumerGroup,
        code::JOIN_CONSUMER_GROUP => JoinConsumerGroup,
        code::LEAVE_CONSUMER_GROUP => LeaveConsumerGroup,
        code::SYNC_CONSUMER_GROUP => SyncConsumerGroup,
    }
}

// Keeps `Body` in scope for the macro's `body.encode(out)` calls.
#[allow(unused_imports)]
use Body as _;
