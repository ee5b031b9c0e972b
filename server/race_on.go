//go:build race

package server

// raceEnabled reports whether the race detector is on.
const raceEnabled = true
