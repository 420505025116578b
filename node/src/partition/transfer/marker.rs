//! The durable "catching up" marker of a partition group: `partitions/g<group>.syncing`
//! beside the group's directory. Present from before a transferred snapshot can become
//! durable until the fetched records are flushed; at restart it turns "a log ends below
//! its checkpoint" from lost data (the node stops) into data to fetch again.

use std::path::{Path, PathBuf};

fn path(data_dir: &Path, group: u32) -> PathBuf {
    data_dir.join(format!("partitions/g{group}.syncing"))
}

fn sync_parent(path: &Path) -> Result<(), String> {
    let parent = path.parent().expect("the marker has a parent");
    std::fs::File::open(parent)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| format!("sync {}: {error}", parent.display()))
}

/// True if the group was catching up when the node stopped.
pub(crate) fn exists(data_dir: &Path, group: u32) -> bool {
    path(data_dir, group).exists()
}

/// Creates the marker and makes it durable (file and directory entry).
pub(crate) fn write(data_dir: &Path, group: u32) -> Result<(), String> {
    let path = path(data_dir, group);
    let parent = path.parent().expect("the marker has a parent");
    std::fs::create_dir_all(parent)
        .map_err(|error| format!("create {}: {error}", parent.display()))?;
    let file = std::fs::File::create(&path)
        .map_err(|error| format!("create {}: {error}", path.display()))?;
    file.sync_all().map_err(|error| format!("sync {}: {error}", path.display()))?;
    sync_parent(&path)
}

/// Removes the marker durably (absent is fine).
pub(crate) fn remove(data_dir: &Path, group: u32) -> Result<(), String> {
    let path = path(data_dir, group);
    match std::fs::remove_file(&path) {
        Ok(()) => sync_parent(&path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(format!("remove {}: {error}", path.display())),
    }
}
