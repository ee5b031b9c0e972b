//go:build linux

package reload

import (
	"os"
	"syscall"
)

// stampOf identifies the content of a file cheaply: device and inode catch
// a replacement by rename (geoipupdate, a Kubernetes ..data swap), size,
// mtime and ctime catch a rewrite in place. ctime cannot be set by a
// writer, so a copy that preserves mtime (cp -p, rsync) is still seen.
func stampOf(fi os.FileInfo) stamp {
	s := stamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino = uint64(st.Dev), st.Ino
		s.ctime = st.Ctim.Nano()
	}
	return s
}
