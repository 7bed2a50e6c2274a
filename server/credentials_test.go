package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
)

func TestParseCredentials(t *testing.T) {
	const good = `
[[credentials]]
access_key_id = "AKIAALICE000000001"
secret_access_key = "s1"
account_id = "111111111111"
name = "alice"
policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}'

[[credentials]]
access_key_id = "AKIABOB00000000002"
secret_access_key = "s2"
account_id = "222222222222"
`
	tests := []struct {
		name    string
		file    string
		asJSON  bool
		wantErr string // "" for success
	}{
		{"toml", good, false, ""},
		{"json", `{"credentials":[{"access_key_id":"AKID","secret_access_key":"s","account_id":"123456789012"}]}`, true, ""},
		{"duplicate key id", `{"credentials":[
			{"access_key_id":"AKID","secret_access_key":"s","account_id":"123456789012"},
			{"access_key_id":"AKID","secret_access_key":"t","account_id":"210987654321"}]}`, true,
			`credential 2 (access_key_id "AKID"): the access key id is already used by an earlier credential`},
		{"bad account id", good + "\n[[credentials]]\naccess_key_id = \"AKIDTHREE\"\nsecret_access_key = \"s\"\naccount_id = \"12345\"\n", false,
			`credential 3 (access_key_id "AKIDTHREE"): account_id "12345" must be 12 digits, like an AWS account id`},
		{"no secret", `{"credentials":[{"access_key_id":"AKID","account_id":"123456789012"}]}`, true,
			`credential 1 (access_key_id "AKID"): secret_access_key is missing`},
		{"key id with a slash", `{"credentials":[{"access_key_id":"AK/ID","secret_access_key":"s","account_id":"123456789012"}]}`, true,
			`credential 1 (access_key_id "AK/ID"): access_key_id must be 1 to 128 letters and digits`},
		{"policy not JSON", `{"credentials":[{"access_key_id":"AKID","secret_access_key":"s","account_id":"123456789012","policy":"allow all"}]}`, true,
			`credential 1 (access_key_id "AKID"): policy: Policy document is not a JSON object`},
		{"policy naming a principal", `{"credentials":[{"access_key_id":"AKID","secret_access_key":"s","account_id":"123456789012",` +
			`"policy":"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kinesis:*\",\"Resource\":\"*\"}}"}]}`, true,
			`credential 1 (access_key_id "AKID"): policy: `},
		{"policy with an unknown condition key", `{"credentials":[{"access_key_id":"AKID","secret_access_key":"s","account_id":"123456789012",` +
			`"policy":"{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"kinesis:*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"kinesis:Nope\":\"x\"}}}}"}]}`, true,
			`credential 1 (access_key_id "AKID"): policy: `},
		{"bad name", `{"credentials":[{"access_key_id":"AKID","secret_access_key":"s","account_id":"123456789012","name":"a b"}]}`, true,
			`credential 1 (access_key_id "AKID"): name "a b" must be 1 to 64 letters`},
		{"unknown toml key", "[[credentials]]\naccess_key_id = \"AKID\"\nsecret = \"s\"\n", false,
			`line 3: unknown key "credentials.secret"`},
		{"unknown json key", `{"credentials":[{"access_key_id":"AKID","secret":"s"}]}`, true, `unknown field "secret"`},
		{"toml syntax", "[[credentials]\n", false, "line 1:"},
		{"empty", "", false, "no credentials"},
		{"two errors", `{"credentials":[{"access_key_id":"A","secret_access_key":"s","account_id":"1"},{"access_key_id":"B","account_id":"123456789012"}]}`, true,
			"credential 1 (access_key_id \"A\"): account_id \"1\" must be 12 digits, like an AWS account id\ncredential 2 (access_key_id \"B\"): secret_access_key is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ParseCredentials([]byte(tt.file), tt.asJSON)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if set.Len() == 0 {
					t.Fatal("no keys")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	set, err := ParseCredentials([]byte(good), false)
	if err != nil {
		t.Fatal(err)
	}
	alice := set.lookup("AKIAALICE000000001")
	if alice == nil || alice.ARN() != "arn:aws:iam::111111111111:user/alice" || set.lookup("AKIABOB00000000002").ARN() != "arn:aws:iam::222222222222:root" {
		t.Fatalf("ARNs of %v", set.keys)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", *alice, *alice, *alice, alice); strings.Contains(s, "s1") {
		t.Fatalf("a printed Credential shows its secret: %s", s)
	}
}

func TestLoadCredentialsByExtension(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(j, []byte(`{"credentials":[{"access_key_id":"AKID","secret_access_key":"s","account_id":"123456789012"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCredentials(j); err != nil {
		t.Fatalf("JSON file: %v", err)
	}
	// The same JSON in a .toml file is read as TOML, and fails as such.
	tf := filepath.Join(dir, "keys.toml")
	b, _ := os.ReadFile(j)
	if err := os.WriteFile(tf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCredentials(tf); err == nil || !strings.Contains(err.Error(), "credentials file "+tf+": line 1") {
		t.Fatalf("JSON in a .toml file: %v", err)
	}
}

// TestNoSecretInLogs: with debug logs, requests signed with the right
// and a wrong secret leave neither secret in the log.
func TestNoSecretInLogs(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := startServer(t, Config{Handler: &fakeHandler{}, Credentials: testCredentials(t), Logger: logger})
	const wrong = "wrong-secret-c2VjcmV0"
	for _, secret := range []string{aliceSecret, wrong} {
		_, _ = sdkClient(ts, "us-east-1", credentials.NewStaticCredentialsProvider(aliceKey, secret, "")).
			ListStreams(context.Background(), &awskinesis.ListStreamsInput{})
	}
	logs.mu.Lock()
	text := logs.buf.String()
	logs.mu.Unlock()
	if !strings.Contains(text, `"msg":"authentication failed"`) || !strings.Contains(text, aliceKey) {
		t.Fatalf("no debug line for the failed request: %s", text)
	}
	for _, secret := range []string{aliceSecret, bobSecret, wrong} {
		if strings.Contains(text, secret) {
			t.Fatalf("the log holds secret %q:\n%s", secret, text)
		}
	}
}
