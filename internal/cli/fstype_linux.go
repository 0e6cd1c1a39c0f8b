package cli

import "golang.org/x/sys/unix"

// fsMagic names the filesystems a bench folder is likely to be on, by the
// f_type statfs reports (linux/magic.h).
var fsMagic = map[int64]string{
	0x01021994: "tmpfs",
	0x858458f6: "ramfs",
	0xef53:     "ext4",
	0x58465342: "xfs",
	0x9123683e: "btrfs",
	0x794c7630: "overlayfs",
	0x2fc12fc1: "zfs",
	0x6969:     "nfs",
	0x65735546: "fuse",
	0xf2f52010: "f2fs",
}

// fsType names the filesystem dir is on ("" when statfs fails), and
// whether it keeps files in memory only (tmpfs, ramfs).
func fsType(dir string) (name string, memory bool) {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return "", false
	}
	name, ok := fsMagic[int64(st.Type)]
	if !ok {
		name = "unknown"
	}
	return name, name == "tmpfs" || name == "ramfs"
}
