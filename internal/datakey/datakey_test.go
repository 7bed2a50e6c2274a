package datakey

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tributary-io/tributary/storage"
)

// fakeKeys wraps a data key by prefixing it with its key id: enough to
// check what the package does with the provider's answers.
type fakeKeys struct{ fail error }

func (f fakeKeys) GenerateDataKey(_ context.Context, keyID string) ([]byte, []byte, error) {
	if f.fail != nil {
		return nil, nil, f.fail
	}
	plain := bytes.Repeat([]byte{byte(len(keyID))}, 32)
	return plain, append([]byte(keyID+":"), plain...), nil
}

func (f fakeKeys) Decrypt(_ context.Context, wrapped []byte) ([]byte, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	_, plain, ok := bytes.Cut(wrapped, []byte(":"))
	if !ok {
		return nil, errors.New("not wrapped here")
	}
	return plain, nil
}

// TestSealOpen: sealed data opens with its nonce and additional data and
// with nothing else; nonces never repeat; the provider's failures and
// its absence come back typed.
func TestSealOpen(t *testing.T) {
	ctx := context.Background()
	keys := fakeKeys{}
	k, err := New(ctx, keys, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 1000 {
		n := string(k.AppendNonce(nil))
		if len(n) != NonceSize || seen[n] {
			t.Fatalf("nonce %x: repeated or of the wrong size", n)
		}
		seen[n] = true
	}
	nonce := k.AppendNonce(nil)
	plain, aad := []byte("records"), []byte("count")
	ct := k.Seal(nil, nonce, plain, aad)
	got, err := Open(ctx, keys, k.Wrapped, nonce, ct, aad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v; want %q", got, err, plain)
	}
	for name, c := range map[string]struct{ nonce, ct, aad []byte }{
		"other aad":   {nonce, ct, []byte("other")},
		"other nonce": {k.AppendNonce(nil), ct, aad},
		"flipped bit": {nonce, append([]byte{ct[0] ^ 1}, ct[1:]...), aad},
		"short":       {nonce, ct[:TagSize-1], aad},
	} {
		if _, err := Open(ctx, keys, k.Wrapped, c.nonce, c.ct, c.aad); !errors.Is(err, storage.ErrDecrypt) {
			t.Errorf("%s: Open error %v, want ErrDecrypt", name, err)
		}
	}
	if _, err := Open(ctx, nil, k.Wrapped, nonce, ct, aad); !errors.Is(err, storage.ErrDecrypt) || !errors.Is(err, storage.ErrNoKeys) {
		t.Errorf("Open without keys: %v, want ErrDecrypt and ErrNoKeys", err)
	}
	disabled := errors.New("disabled")
	if _, err := Open(ctx, fakeKeys{fail: disabled}, k.Wrapped, nonce, ct, aad); !errors.Is(err, storage.ErrDecrypt) || !errors.Is(err, disabled) {
		t.Errorf("Open with a failing provider: %v, want ErrDecrypt and its error", err)
	}
	if _, err := New(ctx, nil, "key-1"); !errors.Is(err, storage.ErrNoKeys) {
		t.Errorf("New without keys: %v, want ErrNoKeys", err)
	}
	if _, err := New(ctx, fakeKeys{fail: disabled}, "key-1"); !errors.Is(err, disabled) {
		t.Errorf("New with a failing provider: %v, want its error", err)
	}
}
