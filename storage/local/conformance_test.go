package local

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/storagetest"
)

// TestConformance runs the suite every engine must pass. Small segments and
// a short checkpoint interval make rolls and checkpoints happen inside it.
func TestConformance(t *testing.T) {
	_, _, keys := testKeyring(t)
	storagetest.Run(t, storagetest.Harness{
		Durable:       true,
		EncryptionKey: testKeyID,
		Open: func(t testing.TB, dir string, now func() time.Time) storage.Engine {
			e, err := Open(dir, Options{Now: now, SegmentBytes: 256 << 10, CheckpointInterval: 20 * time.Millisecond, Keys: keys})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return e
		},
	})
}
