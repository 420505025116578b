//! Goal: users over TCP and QUIC — create, get, list, update, change password, update
//! permissions, delete — and permissions enforced on what a user may read and write.

mod support;

use iggy::prelude::*;
use support::{TEST_LIMIT, TRANSPORTS, bounded, code, connect, id, messages, name, root};
use vireo_tests::Node;

fn send_only(stream: u32) -> Permissions {
    let mut streams = std::collections::BTreeMap::new();
    streams.insert(
        stream as usize,
        StreamPermissions { send_messages: true, read_stream: true, ..Default::default() },
    );
    Permissions { global: GlobalPermissions::default(), streams: Some(streams) }
}

#[test]
fn user_management_and_permission_enforcement() {
    let node = Node::start("users", &[]);
    bounded(TEST_LIMIT, async {
        for (round, transport) in TRANSPORTS.into_iter().enumerate() {
            let admin = root(&node, transport).await;
            let stream = admin.create_stream(&format!("u-{round}")).await.unwrap().id;
            let options = TopicCreateOptions { partitions_count: Some(1), ..Default::default() };
            let topic = admin.create_topic(&id(stream), "t", &options).await.unwrap().id;

            let username = format!("writer{round}");
            let created = admin
                .create_user(&username, "secret-1", UserStatus::Active, Some(send_only(stream)))
                .await
                .expect("create user");
            assert!(created.permissions.is_some());
            assert_eq!(
                code(admin.create_user(&username, "secret-1", UserStatus::Active, None).await),
                46
            );
            assert_eq!(
                code(admin.create_user("ab", "secret-1", UserStatus::Active, None).await),
                43
            );
            let fetched = admin.get_user(&name(&username)).await.unwrap().expect("found");
            assert_eq!(fetched.id, created.id);
            assert!(admin.get_users().await.unwrap().iter().any(|u| u.username == username));
            assert!(admin.get_user(&id(999)).await.unwrap().is_none());

            let writer = connect(&node, transport).await;
            writer.login_user(&username, "secret-1").await.expect("login as the new user");
            let mut batch = messages("w", 2);
            writer
                .send_messages(&id(stream), &id(topic), &Partitioning::partition_id(0), &mut batch)
                .await
                .expect("allowed to send");
            assert_eq!(code(writer.create_stream("forbidden").await), 41, "cannot manage streams");
            let poll = writer
                .poll_messages(
                    &id(stream),
                    &id(topic),
                    Some(0),
                    &Consumer::new(id(1)),
                    &PollingStrategy::first(),
                    1,
                    false,
                )
                .await;
            assert_eq!(code(poll), 41, "cannot poll");
            assert_eq!(code(writer.get_users().await), 41, "cannot read users");

            writer
                .change_password(&id(created.id), "secret-1", "secret-2")
                .await
                .expect("own password");
            assert_eq!(
                code(writer.change_password(&id(created.id), "wrong", "secret-3").await),
                42
            );
            let relogin = connect(&node, transport).await;
            assert_eq!(code(relogin.login_user(&username, "secret-1").await), 42, "old password");
            relogin.login_user(&username, "secret-2").await.expect("new password");

            admin.update_permissions(&id(created.id), None).await.expect("revoke all");
            let mut batch = messages("w", 1);
            let denied = writer
                .send_messages(&id(stream), &id(topic), &Partitioning::partition_id(0), &mut batch)
                .await;
            assert_eq!(code(denied), 41, "revoked");

            let renamed = format!("renamed{round}");
            admin
                .update_user(
                    &id(created.id),
                    Some(&renamed),
                    Some(UserStatus::Inactive),
                    &UserUpdateOptions::default(),
                )
                .await
                .expect("update user");
            let inactive = connect(&node, transport).await;
            assert!(
                inactive.login_user(&renamed, "secret-2").await.is_err(),
                "inactive users cannot log in"
            );

            assert_eq!(code(admin.delete_user(&id(0)).await), 48, "root cannot be deleted");
            admin.delete_user(&id(created.id)).await.expect("delete user");
            assert!(admin.get_user(&id(created.id)).await.unwrap().is_none());
        }
    });
}
