package jetstream

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/storagetest"
)

// openTest opens an engine on dir for a test; the caller closes it.
func openTest(t testing.TB, dir string, now func() time.Time) *Engine {
	t.Helper()
	e, err := Open(t.Context(), Options{Dir: dir, Now: now})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return e
}

func TestConformance(t *testing.T) {
	keys := testKeyring(t)
	storagetest.Run(t, storagetest.Harness{
		Open: func(t testing.TB, dir string, now func() time.Time) storage.Engine {
			e, err := Open(t.Context(), Options{Dir: dir, Now: now, Keys: keys})
			if err != nil {
				t.Fatalf("Open(%s): %v", dir, err)
			}
			return e
		},
		Durable:       true,
		EncryptionKey: testKeyID,
	})
}
