//go:build race

package stream

// raceEnabled reports whether the tests run under the race detector,
// under which sync.Pool drops a quarter of what it is given, at random,
// so that pooled buffers are allocated again now and then.
const raceEnabled = true
