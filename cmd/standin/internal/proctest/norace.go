//go:build !race

package proctest

// raceEnabled reports whether this test binary runs with the race detector.
const raceEnabled = false
