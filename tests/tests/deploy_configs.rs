//! Goal: the example configurations in `deploy/` are what a node accepts. Each
//! `deploy/node-N.toml` loads through the node's own loader (the same code `vireo
//! server --config` runs, every key and relation validated), and the three files agree
//! with each other the way a cluster needs: one roster, one cluster id, one secret, one
//! partition-group count, each file naming itself at its own index and listening where
//! its roster entry says.

use std::path::{Path, PathBuf};

const NODES: usize = 3;

fn deploy_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(name)
}

fn table(index: usize) -> toml::Table {
    let path = deploy_file(&format!("node-{index}.toml"));
    let text = std::fs::read_to_string(&path).expect("read a deploy config");
    toml::from_str(&text).expect("valid TOML")
}

fn string<'a>(table: &'a toml::Table, section: &str, key: &str) -> &'a str {
    table[section][key].as_str().unwrap_or_else(|| panic!("{section}.{key} is a string"))
}

#[test]
fn every_deploy_config_loads_with_the_node_loader() {
    for index in 0..NODES {
        let path = deploy_file(&format!("node-{index}.toml"));
        let config = vireo_node::config::load(Some(&path), Vec::new(), &[])
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(config.node.name, format!("node-{index}"));
        assert_eq!(usize::from(config.cluster.replica), index);
        assert_eq!(config.cluster.nodes.len(), NODES);
        let me = config.cluster.me().expect("its own roster entry");
        assert_eq!(me.name, config.node.name);
        assert_eq!(me.replica.to_string(), format!("10.0.0.{}:8070", 11 + index));
        assert_eq!(config.node.data_dir, Path::new("/var/lib/vireo"));
        assert_eq!(config.tcp.address.to_string(), format!("10.0.0.{}:8090", 11 + index));
        assert_eq!(config.quic.address.to_string(), format!("10.0.0.{}:8080", 11 + index));
        assert_eq!(config.http.address.to_string(), format!("10.0.0.{}:3000", 11 + index));
    }
}

#[test]
fn the_three_configs_describe_one_cluster() {
    let tables: Vec<toml::Table> = (0..NODES).map(table).collect();
    let first = &tables[0];
    for (index, table) in tables.iter().enumerate() {
        let cluster = table["cluster"].as_table().expect("[cluster]");
        assert_eq!(cluster["replica"].as_integer(), Some(index as i64), "node-{index}: replica");
        assert_eq!(cluster["nodes"], first["cluster"]["nodes"], "node-{index}: same roster");
        assert_eq!(cluster["secret"], first["cluster"]["secret"], "node-{index}: same secret");
        assert!(cluster["secret"].as_str().is_some_and(|s| s.len() >= 16), "secret >= 16 bytes");
        for key in ["cluster_id", "partition_groups", "durability"] {
            assert_eq!(table["consensus"][key], first["consensus"][key], "node-{index}: {key}");
        }
        let roster = cluster["nodes"].as_array().expect("nodes is an array");
        assert_eq!(roster.len(), NODES);
        let own = &roster[index];
        assert_eq!(own["name"].as_str(), Some(string(table, "node", "name")), "own name");
        for (section, key) in [("tcp", "tcp"), ("quic", "quic"), ("http", "http")] {
            assert_eq!(
                own[key].as_str(),
                Some(string(table, section, "address")),
                "node-{index}: listens on the {key} address its roster entry advertises"
            );
        }
        let replica_addresses: Vec<&str> =
            roster.iter().map(|n| n["replica"].as_str().expect("replica address")).collect();
        let mut unique = replica_addresses.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), NODES, "distinct replica addresses");
    }
}
