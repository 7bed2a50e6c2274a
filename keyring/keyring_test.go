package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	idA = "6a1f8f0e-1c2d-4b3a-8e9f-0a1b2c3d4e5f"
	idB = "7b2f8f0e-1c2d-4b3a-8e9f-0a1b2c3d4e5f"
)

func mat(t *testing.T) string {
	t.Helper()
	m, err := NewMaterial()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeFile(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keyring")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, doc string) (*File, string) {
	t.Helper()
	p := writeFile(t, doc)
	f, err := Load(p)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f, p
}

func TestDescribe(t *testing.T) {
	f, _ := load(t, fmt.Sprintf(`
[[key]]
id = %q
aliases = ["alias/aws/kinesis", "alias/orders"]
versions = [%q]

[[key]]
id = %q
disabled = true
versions = [%q]
`, idA, mat(t), strings.ToUpper(idB), mat(t)))
	cases := []struct {
		keyID   string
		want    string // the key's id, or "" for an error
		enabled bool
		err     error
	}{
		{idA, idA, true, nil},
		{strings.ToUpper(idA), idA, true, nil},
		{"arn:aws:kms:us-east-1:123456789012:key/" + idA, idA, true, nil},
		{"alias/aws/kinesis", idA, true, nil},
		{"alias/orders", idA, true, nil},
		{"arn:aws:kms:us-east-1:123456789012:alias/orders", idA, true, nil},
		{idB, idB, false, nil},
		{"alias/nope", "", false, ErrNotFound},
		{"arn:aws:kms:us-east-1:123456789012:alias/nope", "", false, ErrNotFound},
		{"8c3f8f0e-1c2d-4b3a-8e9f-0a1b2c3d4e5f", "", false, ErrNotFound},
		{"arn:aws:kms:eu-west-1:123456789012:key/" + idA, "", false, ErrNotFound}, // another region
		{"arn:aws:kms:us-east-1:999999999999:key/" + idA, "", false, ErrNotFound}, // another account
		{"arn:aws:kms:us-east-1", "", false, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.keyID, func(t *testing.T) {
			k, err := f.Describe(context.Background(), tc.keyID, "us-east-1", "123456789012")
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || k.ID != tc.want || k.Enabled != tc.enabled {
				t.Fatalf("got %+v, %v; want id %s enabled %v", k, err, tc.want, tc.enabled)
			}
			if arn := k.ARN("us-east-1", "123456789012"); arn != "arn:aws:kms:us-east-1:123456789012:key/"+tc.want {
				t.Fatalf("ARN = %s", arn)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	m := mat(t)
	cases := []struct{ name, doc, want string }{
		{"not a uuid", fmt.Sprintf("[[key]]\nid = \"k1\"\nversions = [%q]\n", m), "not a UUID"},
		{"no versions", fmt.Sprintf("[[key]]\nid = %q\n", idA), "no versions"},
		{"short material", fmt.Sprintf("[[key]]\nid = %q\nversions = [\"aGVsbG8=\"]\n", idA), "32 bytes"},
		{"bad alias", fmt.Sprintf("[[key]]\nid = %q\naliases = [\"orders\"]\nversions = [%q]\n", idA, m), "alias/NAME"},
		{"alias twice", fmt.Sprintf("[[key]]\nid = %q\naliases = [\"alias/x\"]\nversions = [%q]\n[[key]]\nid = %q\naliases = [\"alias/x\"]\nversions = [%q]\n", idA, m, idB, m), "names both"},
		{"key twice", fmt.Sprintf("[[key]]\nid = %q\nversions = [%q]\n[[key]]\nid = %q\nversions = [%q]\n", idA, m, idA, m), "twice"},
		{"unknown field", fmt.Sprintf("[[key]]\nid = %q\nversions = [%q]\nenabled = true\n", idA, m), "enabled"},
		{"json unknown field", fmt.Sprintf(`{"key":[{"id":%q,"versions":[%q],"material":"x"}]}`, idA, m), "material"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// JSON is read as well as TOML.
	if _, err := Load(writeFile(t, fmt.Sprintf(`{"key":[{"id":%q,"aliases":["alias/j"],"versions":[%q]}]}`, idA, m))); err != nil {
		t.Fatalf("JSON keyring: %v", err)
	}
}

// TestWrapRotateDisable: a data key unwraps to itself; after a rotation
// new data keys name version 2 and old ones still unwrap; changed
// material, a removed version, a disabled key, a tampered or foreign
// blob fail with the error that says so.
func TestWrapRotateDisable(t *testing.T) {
	ctx := context.Background()
	v1, v2 := mat(t), mat(t)
	doc := func(disabled bool, versions ...string) string {
		return fmt.Sprintf("[[key]]\nid = %q\ndisabled = %v\nversions = [\"%s\"]\n", idA, disabled, strings.Join(versions, `", "`))
	}
	f, path := load(t, doc(false, v1))
	reload := func(d string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(d), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := f.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	plain1, w1, err := f.GenerateDataKey(ctx, idA)
	if err != nil || len(plain1) != 32 || len(w1) != WrappedSize {
		t.Fatalf("GenerateDataKey: %d, %d bytes, %v", len(plain1), len(w1), err)
	}
	if got, err := f.Decrypt(ctx, w1); err != nil || !bytes.Equal(got, plain1) {
		t.Fatalf("Decrypt: %v", err)
	}
	if bytes.Contains(w1, plain1) {
		t.Fatal("the wrapped key holds the data key in the clear")
	}

	reload(doc(false, v1, v2))
	plain2, w2, err := f.GenerateDataKey(ctx, idA)
	if err != nil {
		t.Fatal(err)
	}
	if v := w2[24]; v != 2 {
		t.Fatalf("after rotation the data key is wrapped by version %d, want 2", v)
	}
	for _, c := range []struct{ w, p []byte }{{w1, plain1}, {w2, plain2}} {
		if got, err := f.Decrypt(ctx, c.w); err != nil || !bytes.Equal(got, c.p) {
			t.Fatalf("Decrypt after rotation: %v", err)
		}
	}

	tampered := bytes.Clone(w2)
	tampered[len(tampered)-1] ^= 1
	otherVersion := bytes.Clone(w2)
	otherVersion[24] = 1 // the AAD binds the version
	cases := []struct {
		name string
		doc  string
		w    []byte
		err  error
	}{
		{"material changed", doc(false, mat(t), v2), w1, ErrInvalidCiphertext},
		{"version removed", doc(false, v1), w2, ErrInvalidCiphertext},
		{"disabled", doc(true, v1, v2), w1, ErrDisabled},
		{"tampered", doc(false, v1, v2), tampered, ErrInvalidCiphertext},
		{"version swapped", doc(false, v1, v2), otherVersion, ErrInvalidCiphertext},
		{"not a wrapped key", doc(false, v1, v2), []byte("hello"), ErrInvalidCiphertext},
		{"key gone", fmt.Sprintf("[[key]]\nid = %q\nversions = [%q]\n", idB, v1), w1, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reload(tc.doc)
			if _, err := f.Decrypt(ctx, tc.w); !errors.Is(err, tc.err) {
				t.Fatalf("Decrypt: %v, want %v", err, tc.err)
			}
		})
	}
	reload(doc(true, v1))
	if _, _, err := f.GenerateDataKey(ctx, idA); !errors.Is(err, ErrDisabled) {
		t.Fatalf("GenerateDataKey on a disabled key: %v", err)
	}
	if _, _, err := f.GenerateDataKey(ctx, idB); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GenerateDataKey on an unknown key: %v", err)
	}
	// A bad file on reload keeps the keys in use.
	if err := os.WriteFile(path, []byte("not toml ["), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); err == nil {
		t.Fatal("Reload of a bad file succeeded")
	}
	if _, err := f.Describe(ctx, idA, "r", "a"); err != nil {
		t.Fatalf("keys lost after a failed reload: %v", err)
	}
}

func TestNewKeyEntry(t *testing.T) {
	id, entry, err := NewKeyEntry("alias/aws/kinesis")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := load(t, entry)
	k, err := f.Describe(context.Background(), "alias/aws/kinesis", "r", "a")
	if err != nil || k.ID != id || !k.Enabled || k.Versions != 1 {
		t.Fatalf("Describe: %+v, %v", k, err)
	}
}
