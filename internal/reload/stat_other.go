//go:build !linux

package reload

import "os"

// stampOf identifies the content of a file by size and mtime where the
// platform has no inode or ctime; the content hash decides the rest.
func stampOf(fi os.FileInfo) stamp {
	return stamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
