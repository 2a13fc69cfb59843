//! cgroup v2 directories as this crate uses them: finding the unified hierarchy's mount (from
//! `/proc/self/mountinfo`, never a fixed path) and this process's own cgroup in it (from
//! `/proc/self/cgroup`), creating a child cgroup, moving a process in through an open
//! `cgroup.procs`, killing everything inside at once (`cgroup.kill`, Linux 5.14), waiting on
//! `cgroup.events` until nothing is left, and removing the directories.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::TrackingError;

/// One cgroup directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    dir: PathBuf,
}

impl Cgroup {
    /// The cgroup this process is in.
    pub fn own() -> Result<Self, TrackingError> {
        let read = |path: &str| {
            std::fs::read_to_string(path).map_err(|source| TrackingError::Io {
                action: "read",
                path: PathBuf::from(path),
                source,
            })
        };
        let (root, mount_point) =
            cgroup2_mount(&read("/proc/self/mountinfo")?).ok_or(TrackingError::NoCgroup2)?;
        let proc_cgroup = read("/proc/self/cgroup")?;
        let own = own_cgroup_path(&proc_cgroup).ok_or(TrackingError::UnknownOwnCgroup)?;
        // The mount shows the hierarchy from `root` down; our path is from the top.
        let relative = match root.as_str() {
            "/" => own,
            root => own
                .strip_prefix(root)
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                .ok_or(TrackingError::UnknownOwnCgroup)?,
        };
        Ok(Self {
            dir: mount_point.join(relative.trim_start_matches('/')),
        })
    }

    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The child cgroup `name` (a name this crate made, never a client's string).
    pub fn child(&self, name: &str) -> Self {
        Self {
            dir: self.dir.join(name),
        }
    }

    /// Creates this cgroup (and missing parents); an existing one is fine.
    pub fn create(&self) -> Result<(), TrackingError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| self.error("create", source))
    }

    /// Whether the kernel can kill this cgroup's processes at once (`cgroup.kill`).
    pub fn can_kill(&self) -> bool {
        self.dir.join("cgroup.kill").exists()
    }

    /// Whether this process may move processes out of this cgroup (into one below it).
    pub fn can_move_processes_out(&self) -> bool {
        nix::unistd::access(
            &self.dir.join("cgroup.procs"),
            nix::unistd::AccessFlags::W_OK,
        )
        .is_ok()
    }

    /// `cgroup.procs`, open for writing: writing `0` to it moves the writer in, which a child
    /// does between `fork` and `exec`, before it can start anything.
    pub fn procs_for_joining(&self) -> Result<File, TrackingError> {
        let path = self.dir.join("cgroup.procs");
        OpenOptions::new()
            .write(true)
            .custom_flags(nix::libc::O_CLOEXEC)
            .open(&path)
            .map_err(|source| TrackingError::Io {
                action: "open",
                path,
                source,
            })
    }

    /// SIGKILLs every process in this cgroup and below it.
    pub fn kill(&self) -> io::Result<()> {
        std::fs::write(self.dir.join("cgroup.kill"), "1")
    }

    /// Waits until no process is left in this cgroup or below it, at most `within`; returns
    /// whether that happened. Woken by the kernel's notification on `cgroup.events`.
    pub fn wait_unpopulated(&self, within: Duration) -> bool {
        let Ok(mut events) = File::open(self.dir.join("cgroup.events")) else {
            return true;
        };
        let deadline = Instant::now() + within;
        let mut text = String::new();
        loop {
            text.clear();
            if events.rewind().is_err() || events.read_to_string(&mut text).is_err() {
                return !self.dir.exists();
            }
            if !events_say_populated(&text) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let mut poll = [nix::libc::pollfd {
                fd: events.as_raw_fd(),
                events: nix::libc::POLLPRI,
                revents: 0,
            }];
            let millis = left.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for the duration of the call.
            unsafe { nix::libc::poll(poll.as_mut_ptr(), 1, millis) };
        }
    }

    /// How many processes are in this cgroup and below it.
    pub fn process_count(&self) -> usize {
        self.walk()
            .iter()
            .filter_map(|dir| std::fs::read_to_string(dir.join("cgroup.procs")).ok())
            .map(|procs| procs.lines().count())
            .sum()
    }

    /// Removes this cgroup and every cgroup below it (each must be empty of processes).
    pub fn remove(&self) -> io::Result<()> {
        for dir in self.walk().iter().rev() {
            match std::fs::remove_dir(dir) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }

    /// The child cgroups directly below this one.
    pub fn children(&self) -> Vec<(String, Cgroup)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| {
                let entry = entry.ok()?;
                entry.file_type().ok()?.is_dir().then_some(())?;
                let name = entry.file_name().into_string().ok()?;
                Some((name, Cgroup::at(entry.path())))
            })
            .collect()
    }

    /// This directory and every cgroup directory below it, parents before children.
    fn walk(&self) -> Vec<PathBuf> {
        let mut found = vec![self.dir.clone()];
        let mut next = 0;
        while next < found.len() {
            let children = Cgroup::at(found[next].clone()).children();
            found.extend(children.into_iter().map(|(_, child)| child.dir));
            next += 1;
        }
        found
    }

    fn error(&self, action: &'static str, source: io::Error) -> TrackingError {
        TrackingError::Io {
            action,
            path: self.dir.clone(),
            source,
        }
    }
}

fn events_say_populated(events: &str) -> bool {
    events.lines().any(|line| line.trim() == "populated 1")
}

/// The root and mount point of the cgroup2 mount in `/proc/self/mountinfo` text.
fn cgroup2_mount(mountinfo: &str) -> Option<(String, PathBuf)> {
    mountinfo.lines().find_map(|line| {
        let (mount, filesystem) = line.split_once(" - ")?;
        if filesystem.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = mount.split_whitespace();
        let root = unescape(fields.nth(3)?);
        let mount_point = unescape(fields.next()?);
        Some((root, PathBuf::from(mount_point)))
    })
}

/// The cgroup v2 path in `/proc/self/cgroup` text (the `0::PATH` line).
fn own_cgroup_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .filter(|path| path.starts_with('/'))
}

/// Undoes mountinfo's octal escapes (`\040` for a space, and so on).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|digits| bytes[i] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d)));
        match octal.and_then(|digits| u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok())
        {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_the_unified_mount_among_v1_ones() {
        assert_eq!(
            cgroup2_mount(HYBRID),
            Some(("/".to_owned(), PathBuf::from("/sys/fs/cgroup/unified")))
        );
        let odd = "7 1 0:9 /sub /mnt/with\\040space rw shared:3 - cgroup2 none rw";
        assert_eq!(
            cgroup2_mount(odd),
            Some(("/sub".to_owned(), PathBuf::from("/mnt/with space")))
        );
        assert_eq!(cgroup2_mount("1 0 0:1 / / rw - ext4 /dev/x rw"), None);
    }

    #[test]
    fn reads_the_v2_line_of_proc_self_cgroup() {
        let text = "4:memory:/process_api/x\n1:cpu:/\n0::/system.slice/a.service\n";
        assert_eq!(own_cgroup_path(text), Some("/system.slice/a.service"));
        assert_eq!(own_cgroup_path("1:cpu:/\n"), None);
        assert!(events_say_populated("populated 1\nfrozen 0\n"));
        assert!(!events_say_populated("populated 0\nfrozen 0\n"));
    }
}
