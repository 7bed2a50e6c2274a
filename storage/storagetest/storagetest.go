// Package storagetest is the conformance suite every storage.Engine must
// pass. An engine's tests call Run with a Harness that opens the engine:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, storagetest.Harness{
//			Open: func(t testing.TB, dir string, now func() time.Time) storage.Engine {
//				return mem.New(mem.Options{Now: now})
//			},
//		})
//	}
//
// The suite takes positions only from what Append returns and never assumes
// that they start at 1 or are contiguous, because a cluster engine's are
// not. Time is a Clock the suite moves by hand, so retention is tested
// without sleeping.
package storagetest

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// Harness tells Run how to open the engine under test.
type Harness struct {
	// Open opens (or reopens, on the same dir) an engine whose clock is now.
	// The suite closes every engine it opens.
	Open func(t testing.TB, dir string, now func() time.Time) storage.Engine
	// Durable: data and metadata survive Close followed by Open on the same
	// dir. Subtests that reopen an engine are skipped when it is false.
	Durable bool
	// EncryptionKey is a key id the engine's KeyProvider accepts, for
	// the Encryption subtest, which is skipped when it is empty.
	EncryptionKey string
}

type subtest struct {
	name    string
	durable bool // needs Harness.Durable
	run     func(t *testing.T, h Harness)
}

func subtests() []subtest {
	return []subtest{
		{"AppendRead", false, testAppendRead},
		{"ClockBackwards", false, testClockBackwards},
		{"RecordSizes", false, testRecordSizes},
		{"EmptyBatch", false, testEmptyBatch},
		{"CancelledContext", false, testCancelledContext},
		{"ReadByPosition", false, testReadByPosition},
		{"ReadByTime", false, testReadByTime},
		{"OldestLatest", false, testOldestLatest},
		{"ReadLimits", false, testReadLimits},
		{"ReadResultTail", false, testReadResultTail},
		{"FollowWithNext", false, testFollowWithNext},
		{"ReleaseReads", false, testReleaseReads},
		{"Retention", false, testRetention},
		{"SetRetention", false, testSetRetention},
		{"Seal", false, testSeal},
		{"SealEmpty", false, testSealEmpty},
		{"SealRacingAppends", false, testSealRacingAppends},
		{"DeleteSealed", false, testDeleteSealed},
		{"ConcurrentAppendsOneLog", false, testConcurrentAppendsOneLog},
		{"ConcurrentAppendsManyLogs", false, testConcurrentAppendsManyLogs},
		{"Wait", false, testWait},
		{"LogLifecycle", false, testLogLifecycle},
		{"LogNames", false, testLogNames},
		{"DeletedHandle", false, testDeletedHandle},
		{"ManyLogs", false, testManyLogs},
		{"Info", false, testInfo},
		{"Meta", false, testMeta},
		{"MetaConcurrentCAS", false, testMetaConcurrentCAS},
		{"Closed", false, testClosed},
		{"Reopen", true, testReopen},
		{"Encryption", false, testEncryption},
	}
}

// Run runs every subtest of the suite against the engine h opens.
func Run(t *testing.T, h Harness) {
	if h.Open == nil {
		t.Fatal("storagetest: Harness.Open is nil")
	}
	for _, st := range subtests() {
		t.Run(st.name, func(t *testing.T) {
			if st.durable && !h.Durable {
				t.Skip("the engine is not durable")
			}
			st.run(t, h)
		})
	}
}
