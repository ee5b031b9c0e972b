//go:build race

package reliability

// raceEnabled skips the suite: the race detector makes the generator and
// the mock DSP, which run in the test process, several times slower, so
// the loads would measure the detector, not adx (which runs as its own
// binary, built without it).
const raceEnabled = true
