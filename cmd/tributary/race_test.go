//go:build race

package main

// raceEnabled reports whether the tests run under the race detector, which
// makes them several times slower; the heaviest tests do less under it.
const raceEnabled = true
