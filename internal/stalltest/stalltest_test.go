package stalltest

import (
	"runtime"
	"testing"
	"time"
)

// On one P, a goroutine that spins for 50ms is preempted only every 10ms
// or so (the runtime's time slice): the ticker waits that long between
// ticks, and Watch reports a stall of at least a few milliseconds.
func TestWatchSeesAStall(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	stop := Watch()
	start := time.Now()
	for time.Since(start) < 50*time.Millisecond {
	}
	if got := stop(); got < 5*time.Millisecond {
		t.Fatalf("a 50ms spin on the only P: longest stall %v, want at least 5ms", got)
	} else {
		t.Logf("longest stall %v", got)
	}
}
