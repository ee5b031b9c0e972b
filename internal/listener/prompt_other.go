//go:build !unix

package listener

import "errors"

// acceptNonblock is not available here: a Prompt accepts only through the
// network poller, as any listener does.
func acceptNonblock(int) (int, error) { return -1, errors.ErrUnsupported }
