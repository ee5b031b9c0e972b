//go:build !race

package bench

// raceEnabled lowers load-test rates: the race detector makes every
// request several times dearer.
const raceEnabled = false
