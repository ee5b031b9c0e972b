// Package stalltest measures, in a test, how long the process was kept
// from running: on a loaded machine a deadline test adds that to its
// slack, so that it fails on lateness the code adds, not on the machine's.
package stalltest

import "time"

// Watch starts measuring, once its ticker runs, until the returned function is called; that
// function returns the longest gap past 1ms between the ticks of a 1ms
// ticker in the meantime: the longest the process (its scheduler, its
// garbage collector's pauses, the CPUs it shares) kept a goroutine that
// was due to run from running.
func Watch() (stop func() time.Duration) {
	quit := make(chan struct{})
	done := make(chan time.Duration)
	started := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var longest time.Duration
		last := time.Now()
		close(started)
		for {
			select {
			case <-quit:
				done <- max(longest, time.Since(last)-time.Millisecond)
				return
			case <-tick.C:
				now := time.Now()
				longest = max(longest, now.Sub(last)-time.Millisecond)
				last = now
			}
		}
	}()
	<-started
	return func() time.Duration {
		close(quit)
		return <-done
	}
}
