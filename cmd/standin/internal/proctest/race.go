//go:build race

package proctest

// raceEnabled reports whether this test binary runs with the race detector;
// Binary then builds standin with it too, which shares the compiled
// packages of the test build and checks the processes for data races.
const raceEnabled = true
