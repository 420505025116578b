//! Replies: each acknowledged request's reply is exactly what the committed history
//! computes, and stays so — so an acknowledged produce keeps its offset and bytes.

use std::collections::BTreeMap;

use vireo_consensus::ApplyContext;
use vireo_protocol::vsr::{Header, Message, Operation, checksum};

use super::Violation;
use super::commits::{CommitChecker, RequestKey};
use crate::state_machine::Model;

/// Replays the canonical history on a model and compares every reply clients accept.
#[derive(Debug, Default)]
pub struct ReplyChecker {
    model: Model,
    replayed: u64,
    /// Request bodies clients sent, by (client, request number, body checksum).
    bodies: BTreeMap<(u128, u64, u128), Vec<u8>>,
    /// Expected reply body checksum per op.
    expected: BTreeMap<u64, u128>,
    /// Replies accepted, by request (identical on every delivery).
    accepted: BTreeMap<RequestKey, (u64, u128)>,
    /// Replies accepted in total.
    pub acknowledged: u64,
}

impl ReplyChecker {
    /// Records a sent request's body.
    pub fn on_request_sent(&mut self, message: &Message) {
        let header = message.header();
        self.bodies
            .insert((header.client, header.request, header.checksum_body), message.body().to_vec());
    }

    /// The body of a request a client sent, by (client, request number, body checksum).
    #[must_use]
    pub fn body(&self, key: &(u128, u64, u128)) -> Option<&[u8]> {
        self.bodies.get(key).map(Vec::as_slice)
    }

    /// Applies newly committed ops of the history to the model.
    pub fn catch_up(&mut self, commits: &CommitChecker) {
        while self.replayed < commits.commit_max() {
            let header: Header = commits.history[usize::try_from(self.replayed).expect("fits")];
            self.replayed += 1;
            let mut reply = Vec::new();
            if header.operation.is_user() {
                let body = &self.bodies[&(header.client, header.request, header.request_checksum)];
                let context = ApplyContext {
                    op: header.op,
                    timestamp: header.timestamp,
                    operation: header.operation,
                    client: header.client,
                };
                self.model.apply(&context, body, &mut reply);
            }
            self.expected.insert(header.op, checksum(&reply));
        }
    }

    /// A client accepted `reply`.
    pub fn on_reply(&mut self, reply: &Message, commits: &CommitChecker) -> Result<(), Violation> {
        self.catch_up(commits);
        let header = reply.header();
        let Some(committed) =
            commits.history.get(usize::try_from(header.op).expect("fits").wrapping_sub(1))
        else {
            return Err(Violation::new(
                "replies",
                format!("reply for op {} that never committed", header.op),
            ));
        };
        if committed.checksum != header.context
            || committed.client != header.client
            || committed.request != header.request
        {
            return Err(Violation::new(
                "replies",
                format!("reply for op {} does not match the committed prepare", header.op),
            ));
        }
        if header.operation != Operation::REGISTER {
            let body = checksum(reply.body());
            if self.expected.get(&header.op) != Some(&body) {
                return Err(Violation::new(
                    "replies",
                    format!(
                        "reply body for op {} differs from what the committed history computes",
                        header.op
                    ),
                ));
            }
            let key = (header.client, header.session, header.request);
            let value = (header.op, body);
            if let Some(previous) = self.accepted.insert(key, value)
                && previous != value
            {
                return Err(Violation::new(
                    "replies",
                    format!("request {key:?} answered differently twice"),
                ));
            }
        }
        self.acknowledged += 1;
        Ok(())
    }
}
