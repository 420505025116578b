//! Command codes of the Iggy 0.11.0 client protocol.
//!
//! A code names what a request asks for. Replicated commands travel with an
//! [`Operation`](super::Operation) that implies the code; non-replicated commands carry the
//! code in bytes 196..200 of the request header. Codes the 0.11.0 SDK never sends over
//! the VSR framing (the classic logins 38/44) are listed so a server can name them when
//! it refuses them.

/// Liveness check; the only request accepted before login.
pub const PING: u32 = 1;
/// Server statistics.
pub const GET_STATS: u32 = 10;
/// Diagnostic snapshot archive.
pub const GET_SNAPSHOT_FILE: u32 = 11;
/// Cluster roster; the SDK calls it after login to find the leader.
pub const GET_CLUSTER_METADATA: u32 = 12;
/// The option catalog of a resource kind.
pub const DESCRIBE_OPTIONS: u32 = 13;
/// Binds a data connection to a coordinator session (multi-node polling only).
pub const ATTACH_CONSUMER_SESSION: u32 = 14;
/// The calling client's own details.
pub const GET_ME: u32 = 20;
/// One client's details.
pub const GET_CLIENT: u32 = 21;
/// All clients.
pub const GET_CLIENTS: u32 = 22;
/// One user.
pub const GET_USER: u32 = 31;
/// All users.
pub const GET_USERS: u32 = 32;
/// Creates a user.
pub const CREATE_USER: u32 = 33;
/// Deletes a user.
pub const DELETE_USER: u32 = 34;
/// Renames a user or changes its status.
pub const UPDATE_USER: u32 = 35;
/// Replaces a user's permissions.
pub const UPDATE_PERMISSIONS: u32 = 36;
/// Changes a user's password.
pub const CHANGE_PASSWORD: u32 = 37;
/// Classic (pre-VSR) login; a VSR server refuses it.
pub const LOGIN_USER: u32 = 38;
/// Ends the session.
pub const LOGOUT_USER: u32 = 39;
/// Login with username and password, registering a session.
pub const LOGIN_REGISTER: u32 = 40;
/// The calling user's personal access tokens.
pub const GET_PERSONAL_ACCESS_TOKENS: u32 = 41;
/// Creates a personal access token.
pub const CREATE_PERSONAL_ACCESS_TOKEN: u32 = 42;
/// Deletes a personal access token.
pub const DELETE_PERSONAL_ACCESS_TOKEN: u32 = 43;
/// Classic (pre-VSR) token login; a VSR server refuses it.
pub const LOGIN_WITH_PERSONAL_ACCESS_TOKEN: u32 = 44;
/// Login with a personal access token, registering a session.
pub const LOGIN_REGISTER_WITH_PAT: u32 = 45;
/// Reads messages.
pub const POLL_MESSAGES: u32 = 100;
/// Appends a batch of messages.
pub const SEND_MESSAGES: u32 = 101;
/// Flushes a partition's unsaved buffer.
pub const FLUSH_UNSAVED_BUFFER: u32 = 102;
/// Asks where a poll should go (multi-node only).
pub const GET_POLL_ROUTING: u32 = 103;
/// A poll sent to the partition primary (multi-node only).
pub const POLL_MESSAGES_ON_PRIMARY: u32 = 104;
/// Reads a stored consumer offset.
pub const GET_CONSUMER_OFFSET: u32 = 120;
/// Stores a consumer offset.
pub const STORE_CONSUMER_OFFSET: u32 = 121;
/// Deletes a consumer offset.
pub const DELETE_CONSUMER_OFFSET: u32 = 122;
/// Asks where an offset write should go (multi-node only).
pub const GET_CONSUMER_OFFSET_ROUTING: u32 = 123;
/// One stream with its topics.
pub const GET_STREAM: u32 = 200;
/// All streams.
pub const GET_STREAMS: u32 = 201;
/// Creates a stream.
pub const CREATE_STREAM: u32 = 202;
/// Deletes a stream.
pub const DELETE_STREAM: u32 = 203;
/// Renames a stream.
pub const UPDATE_STREAM: u32 = 204;
/// Deletes every message of a stream.
pub const PURGE_STREAM: u32 = 205;
/// One topic with its partitions.
pub const GET_TOPIC: u32 = 300;
/// A stream's topics.
pub const GET_TOPICS: u32 = 301;
/// Creates a topic.
pub const CREATE_TOPIC: u32 = 302;
/// Deletes a topic.
pub const DELETE_TOPIC: u32 = 303;
/// Renames a topic or patches its options.
pub const UPDATE_TOPIC: u32 = 304;
/// Deletes every message of a topic.
pub const PURGE_TOPIC: u32 = 305;
/// Adds partitions to a topic.
pub const CREATE_PARTITIONS: u32 = 402;
/// Removes partitions from a topic.
pub const DELETE_PARTITIONS: u32 = 403;
/// Deletes a partition's oldest segments.
pub const DELETE_SEGMENTS: u32 = 503;
/// One consumer group with its members.
pub const GET_CONSUMER_GROUP: u32 = 600;
/// A topic's consumer groups.
pub const GET_CONSUMER_GROUPS: u32 = 601;
/// Creates a consumer group.
pub const CREATE_CONSUMER_GROUP: u32 = 602;
/// Deletes a consumer group.
pub const DELETE_CONSUMER_GROUP: u32 = 603;
/// Adds the caller to a consumer group.
pub const JOIN_CONSUMER_GROUP: u32 = 604;
/// Removes the caller from a consumer group.
pub const LEAVE_CONSUMER_GROUP: u32 = 605;
/// The caller's current partition assignment in a group (the SDK's group polls).
pub const SYNC_CONSUMER_GROUP: u32 = 606;

/// Every code of the 0.11.0 registry, for exhaustive tests and dispatch tables.
pub const ALL: [u32; 55] = [
    PING,
    GET_STATS,
    GET_SNAPSHOT_FILE,
    GET_CLUSTER_METADATA,
    DESCRIBE_OPTIONS,
    ATTACH_CONSUMER_SESSION,
    GET_ME,
    GET_CLIENT,
    GET_CLIENTS,
    GET_USER,
    GET_USERS,
    CREATE_USER,
    DELETE_USER,
    UPDATE_USER,
    UPDATE_PERMISSIONS,
    CHANGE_PASSWORD,
    LOGIN_USER,
    LOGOUT_USER,
    LOGIN_REGISTER,
    GET_PERSONAL_ACCESS_TOKENS,
    CREATE_PERSONAL_ACCESS_TOKEN,
    DELETE_PERSONAL_ACCESS_TOKEN,
    LOGIN_WITH_PERSONAL_ACCESS_TOKEN,
    LOGIN_REGISTER_WITH_PAT,
    POLL_MESSAGES,
    SEND_MESSAGES,
    FLUSH_UNSAVED_BUFFER,
    GET_POLL_ROUTING,
    POLL_MESSAGES_ON_PRIMARY,
    GET_CONSUMER_OFFSET,
    STORE_CONSUMER_OFFSET,
    DELETE_CONSUMER_OFFSET,
    GET_CONSUMER_OFFSET_ROUTING,
    GET_STREAM,
    GET_STREAMS,
    CREATE_STREAM,
    DELETE_STREAM,
    UPDATE_STREAM,
    PURGE_STREAM,
    GET_TOPIC,
    GET_TOPICS,
    CREATE_TOPIC,
    DELETE_TOPIC,
    UPDATE_TOPIC,
    PURGE_TOPIC,
    CREATE_PARTITIONS,
    DELETE_PARTITIONS,
    DELETE_SEGMENTS,
    GET_CONSUMER_GROUP,
    GET_CONSUMER_GROUPS,
    CREATE_CONSUMER_GROUP,
    DELETE_CONSUMER_GROUP,
    JOIN_CONSUMER_GROUP,
    LEAVE_CONSUMER_GROUP,
    SYNC_CONSUMER_GROUP,
];

/// The largest number of partitions one create/delete request may name.
pub const PARTITIONS_PER_REQUEST_MAX: u32 = 1000;
