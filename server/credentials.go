package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pelletier/go-toml/v2"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/policy"
)

// A credentials file (serve --credentials) lists the access keys the
// server accepts with --auth sigv4, in TOML:
//
//	[[credentials]]
//	access_key_id = "AKIAALICE0000000001"
//	secret_access_key = "..."
//	account_id = "111111111111"
//	name = "alice"                 # optional: arn:aws:iam::111111111111:user/alice
//	policy = '{"Version": ...}'    # optional identity policy, IAM's JSON grammar
//
// or the same in JSON: {"credentials": [{"access_key_id": ...}, ...]}.
// The format follows the file's extension (.json is JSON, anything else
// TOML).

// Credential is one access key the server accepts.
type Credential struct {
	AccessKeyID     string `json:"access_key_id" toml:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key" toml:"secret_access_key"`
	// AccountID is the 12-digit account the key belongs to: the account
	// of every stream its requests create or name.
	AccountID string `json:"account_id" toml:"account_id"`
	// Name, when set, makes the principal an IAM user of the account
	// (arn:aws:iam::ACCOUNT:user/NAME); without it the key is the
	// account's root.
	Name string `json:"name,omitempty" toml:"name,omitempty"`
	// Policy is an identity policy document (JSON, as a string), handed
	// on to the handler in kinesis.Caller.Policy; empty for none.
	Policy string `json:"policy,omitempty" toml:"policy,omitempty"`
}

// String hides the secret, so that a Credential printed by mistake (%v in
// a log line or an error) does not reveal it.
func (c Credential) String() string {
	return fmt.Sprintf("{%s account %s}", c.AccessKeyID, c.AccountID)
}

// GoString hides the secret from %#v too.
func (c Credential) GoString() string { return c.String() }

// ARN is the principal the key authenticates as.
func (c Credential) ARN() string {
	if c.Name != "" {
		return "arn:aws:iam::" + c.AccountID + ":user/" + c.Name
	}
	return "arn:aws:iam::" + c.AccountID + ":root"
}

// caller is the kinesis.Caller of a request signed with c.
func (c *Credential) caller() *kinesis.Caller {
	var policy []byte
	if c.Policy != "" {
		policy = []byte(c.Policy)
	}
	return &kinesis.Caller{AccessKeyID: c.AccessKeyID, Account: c.AccountID, ARN: c.ARN(), Policy: policy}
}

// Credentials is a set of access keys, by access key id. It is immutable
// once made, so that the server can swap a whole set for a reloaded one
// (Server.SetCredentials) while requests are verified against the old.
type Credentials struct {
	keys map[string]*Credential
	// signingKeys caches the SigV4 signing keys of scopes that verified
	// (see signingKey).
	signingKeys signingKeyCache
}

// maxSigningKeys bounds signingKeys: a key signs for one scope a day per
// region, so this is room for hundreds of keys; past it the cache starts
// over.
const maxSigningKeys = 4096

// signingKeyCache maps an access key id and a credential scope to the
// signing key derived from the key's secret for it, which saves four of
// the five HMACs of a verification. Only scopes whose signature verified
// are stored, so a client without the secret cannot fill it.
type signingKeyCache struct {
	mu   sync.Mutex
	keys map[string][]byte
}

func (c *signingKeyCache) get(id string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys[id]
}

func (c *signingKeyCache) put(id string, key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys) >= maxSigningKeys {
		c.keys = make(map[string][]byte)
	}
	c.keys[id] = key
}

// NewCredentials checks list and returns it as a set: every key needs an
// access key id (1 to 128 letters and digits), a secret, and
// a 12-digit account id; ids are unique; a policy is a JSON object. Errors
// name the key by its position (from 1) in list.
func NewCredentials(list []Credential) (*Credentials, error) {
	set := &Credentials{keys: make(map[string]*Credential, len(list))}
	var errs []error
	for i, c := range list {
		where := fmt.Sprintf("credential %d", i+1)
		if c.AccessKeyID != "" {
			where += fmt.Sprintf(" (access_key_id %q)", c.AccessKeyID)
		}
		if err := checkCredential(c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if _, dup := set.keys[c.AccessKeyID]; dup {
			errs = append(errs, fmt.Errorf("%s: the access key id is already used by an earlier credential", where))
			continue
		}
		set.keys[c.AccessKeyID] = &c
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(set.keys) == 0 {
		return nil, errors.New("no credentials: every request would be refused")
	}
	return set, nil
}

func checkCredential(c Credential) error {
	switch {
	case c.AccessKeyID == "" || len(c.AccessKeyID) > 128 || !isAlnum(c.AccessKeyID):
		// IAM's alphabet and upper bound (not its lower bound of 16, so
		// that local setups may keep ids like "test"); the id is also a
		// field of the SigV4 credential, where a slash or a space would
		// break parsing.
		return errors.New("access_key_id must be 1 to 128 letters and digits")
	case c.SecretAccessKey == "":
		return errors.New("secret_access_key is missing")
	case len(c.AccountID) != 12 || strings.Trim(c.AccountID, "0123456789") != "":
		return fmt.Errorf("account_id %q must be 12 digits, like an AWS account id", c.AccountID)
	case c.Name != "" && !isIAMName(c.Name):
		return fmt.Errorf("name %q must be 1 to 64 letters, digits or +=,.@_-, as an IAM user name", c.Name)
	case c.Policy != "":
		// Refused here rather than skipped when calls are authorised:
		// a statement the evaluator did not understand could have been
		// a Deny.
		if err := policy.Validate([]byte(c.Policy), policy.Identity); err != nil {
			return fmt.Errorf("policy: %w", err)
		}
	}
	return nil
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

func isIAMName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("+=,.@_-", r)) {
			return false
		}
	}
	return true
}

// Len is the number of keys in the set.
func (c *Credentials) Len() int { return len(c.keys) }

// lookup returns the key with this id, or nil.
func (c *Credentials) lookup(accessKeyID string) *Credential { return c.keys[accessKeyID] }

// credentialsFile is the document of a credentials file.
type credentialsFile struct {
	Credentials []Credential `json:"credentials" toml:"credentials"`
}

// ParseCredentials reads a credentials file's contents, in JSON if asJSON
// and TOML otherwise. Unknown keys are errors: a misspelt "policy" would
// otherwise leave a key with more rights than meant.
func ParseCredentials(b []byte, asJSON bool) (*Credentials, error) {
	var doc credentialsFile
	if asJSON {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("not a JSON object {\"credentials\": [...]} of known keys: %w", err)
		}
	} else {
		dec := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			var se *toml.StrictMissingError
			if errors.As(err, &se) && len(se.Errors) > 0 {
				line, _ := se.Errors[0].Position()
				return nil, fmt.Errorf("line %d: unknown key %q; keys are access_key_id, secret_access_key, account_id, name, policy",
					line, strings.Join(se.Errors[0].Key(), "."))
			}
			var de *toml.DecodeError
			if errors.As(err, &de) {
				line, _ := de.Position()
				return nil, fmt.Errorf("line %d: %s", line, strings.TrimPrefix(de.Error(), "toml: "))
			}
			return nil, err
		}
	}
	return NewCredentials(doc.Credentials)
}

// LoadCredentials reads the credentials file at path; see
// ParseCredentials. Errors name the file.
func LoadCredentials(path string) (*Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	set, err := ParseCredentials(b, strings.EqualFold(filepath.Ext(path), ".json"))
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return set, nil
}
