//go:build !unix

package bench

import "time"

// cpuTime returns -1: process CPU time is not measured on this platform.
func cpuTime() time.Duration { return -1 }
