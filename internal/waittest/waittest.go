// Package waittest waits in tests for a condition to hold, polling it
// under a generous deadline: on a loaded machine a test waits for the
// event it needs, never a fixed time.
package waittest

import (
	"testing"
	"time"
)

// Deadline is how long For waits before it fails the test.
const Deadline = 60 * time.Second

// For polls cond every 2ms until it holds, and fails the test, naming
// what it waited for, if it does not within Deadline.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Deadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", Deadline, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
