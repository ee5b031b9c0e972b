package events

import (
	"bufio"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/waittest"
)

// crashChildEnv, set to a spill directory, makes TestRecordSurvivesKill
// the child: it records wins over a sink that never works and prints each
// one's number once Record has returned, until it is killed.
const crashChildEnv = "ADX_EVENTS_CRASH_CHILD"

func crashChild(dir string) {
	s, err := Open(Options{Sink: newTestSink(sinkDown), Buffer: 16, SpillDir: dir, SinkTimeout: time.Second, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	var line []byte
	for i := 0; ; i++ {
		if err := s.Record(recorded(i)); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		line = append(strconv.AppendInt(line[:0], int64(i), 10), '\n')
		if _, err := os.Stdout.Write(line); err != nil {
			os.Exit(4) // the parent has gone
		}
	}
}

// TestRecordSurvivesKill runs a child that records events and kills it
// with SIGKILL while it writes; every event whose Record returned must then
// be delivered from the spill by the next Stream, in order, exactly once
// (the child's sink never took anything, so nothing was delivered before).
func TestRecordSurvivesKill(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecordSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 2000 // lines seen
	sc := bufio.NewScanner(out)
	printed := -1
	killed := false
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil || n != printed+1 {
			t.Fatalf("child printed %q after %d", sc.Text(), printed)
		}
		printed = n
		if printed+1 == killAfter && !killed {
			// The child goes on recording until the signal lands: up to a
			// pipe's worth of lines still come after this.
			if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL; %d lines", err, printed+1)
	}
	t.Logf("child killed after %d records returned", printed+1)

	sink := newTestSink(sinkOK)
	s := openStream(t, dir, sink, 16, 10*time.Second)
	waittest.For(t, "the spill replayed", func() bool { return s.spill.pendingBytes() == 0 && sink.count() > printed })
	recs := sink.records()
	// Records that returned must be there; the one the signal caught may be
	// too (written, not printed), or cut short and skipped as torn.
	checkStream(t, recs, 0, len(recs))
	if len(recs) < printed+1 {
		t.Fatalf("%d events delivered, want at least the %d whose Record returned", len(recs), printed+1)
	}
	t.Logf("%d delivered, %d torn", len(recs), s.counts.torn.Load())
	closeStream(t, s, 10*time.Second)
}
