package waittest

import (
	"sync/atomic"
	"testing"
)

// For returns once the condition holds, having polled it until then.
func TestForPollsUntilTheConditionHolds(t *testing.T) {
	var polls atomic.Int32
	done := make(chan struct{})
	go func() {
		For(t, "the fifth poll", func() bool { return polls.Add(1) >= 5 })
		close(done)
	}()
	<-done
	if n := polls.Load(); n != 5 {
		t.Errorf("polled %d times, want 5: For must stop at the first poll that holds", n)
	}
}
