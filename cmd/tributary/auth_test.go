package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/tributary-io/tributary/sdkhttp"
)

// keyClient is an SDK client signing with this key.
func keyClient(addr, key, secret string) *sdk.Client {
	return sdk.New(sdk.Options{
		BaseEndpoint: aws.String("http://" + addr),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:   sdkhttp.New(),
		Retryer:      aws.NopRetryer{},
	})
}

// listAs calls ListStreams with a key and returns the API error code, ""
// for success.
func listAs(t *testing.T, addr, key, secret string) string {
	t.Helper()
	_, err := keyClient(addr, key, secret).ListStreams(context.Background(), &sdk.ListStreamsInput{})
	if err == nil {
		return ""
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("ListStreams: %v", err)
	}
	return apiErr.ErrorCode()
}

// TestCredentialsReloadOnSIGHUP runs the real server in a process of its
// own with --auth sigv4 and rewrites its credentials file: after SIGHUP
// a new key works and a removed one is refused, on a connection opened
// before; a file that does not load keeps the keys in force. No secret
// reaches the log, which is at debug level.
func TestCredentialsReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials.toml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	key := func(id, secret, account string) string {
		return "[[credentials]]\naccess_key_id = \"" + id + "\"\nsecret_access_key = \"" + secret + "\"\naccount_id = \"" + account + "\"\n"
	}
	const (
		oldSecret = "old-secret-b2xkb2xk"
		newSecret = "new-secret-bmV3bmV3"
	)
	write(key("AKIAOLD", oldSecret, "111111111111"))
	p, err := startServe("--listen", "127.0.0.1:0", "--storage", "memory", "--log-level", "debug", "--log-format", "json",
		"--auth", "sigv4", "--credentials", file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)

	// One client kept across the reloads: its connection stays open.
	oldClient := keyClient(p.addr, "AKIAOLD", oldSecret)
	if _, err := oldClient.ListStreams(context.Background(), &sdk.ListStreamsInput{}); err != nil {
		t.Fatalf("old key before the reload: %v", err)
	}
	if code := listAs(t, p.addr, "AKIANEW", newSecret); code != "UnrecognizedClientException" {
		t.Fatalf("new key before the reload: %q", code)
	}
	conns := func() string { return p.stderr.String() }

	reload := func(wantLog string) {
		t.Helper()
		before := strings.Count(conns(), wantLog)
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(conns(), wantLog) == before {
			if time.Now().After(deadline) {
				t.Fatalf("no %q after SIGHUP: %s", wantLog, conns())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	write(key("AKIANEW", newSecret, "222222222222"))
	reload(`"msg":"credentials reloaded"`)
	if code := listAs(t, p.addr, "AKIANEW", newSecret); code != "" {
		t.Fatalf("new key after the reload: %s", code)
	}
	_, err = oldClient.ListStreams(context.Background(), &sdk.ListStreamsInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnrecognizedClientException" {
		t.Fatalf("removed key after the reload: %v", err)
	}

	// A bad file: the new key stays in force.
	write(key("AKIABAD", "s", "123"))
	reload(`"msg":"credentials not reloaded; the keys loaded before stay in force"`)
	if code := listAs(t, p.addr, "AKIANEW", newSecret); code != "" {
		t.Fatalf("new key after a bad file: %s", code)
	}
	if code := listAs(t, p.addr, "AKIABAD", "s"); code != "UnrecognizedClientException" {
		t.Fatalf("key of the bad file: %q", code)
	}
	if !strings.Contains(conns(), `account_id \"123\" must be 12 digits`) {
		t.Errorf("the error does not say what is wrong: %s", conns())
	}

	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d: %s", code, conns())
	}
	for _, secret := range []string{oldSecret, newSecret} {
		if strings.Contains(conns(), secret) {
			t.Fatalf("the log holds a secret: %s", conns())
		}
	}
}

func TestAuthOptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.toml")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(c serveConfig) bool
	}{
		{"default", nil, nil, "", func(c serveConfig) bool { return c.Auth == authOff && c.CORSOrigins == "" && c.AdminToken == "" }},
		{"sigv4", []string{"--auth", "sigv4", "--credentials", file}, nil, "",
			func(c serveConfig) bool { return c.Auth == authSigV4 && c.Credentials == file }},
		{"sigv4 from the environment", nil, map[string]string{"TRIBUTARY_AUTH": "sigv4", "TRIBUTARY_CREDENTIALS": file}, "",
			func(c serveConfig) bool { return c.Auth == authSigV4 && c.Credentials == file }},
		{"sigv4 without credentials", []string{"--auth", "sigv4"}, nil, "--auth sigv4 needs --credentials FILE", nil},
		{"credentials without sigv4", []string{"--credentials", file}, nil, "--credentials is only read with --auth sigv4", nil},
		{"unknown auth", []string{"--auth", "basic"}, nil, "must be one of off, sigv4", nil},
		{"cors origins", []string{"--cors-origins", "https://a.example.com, http://b.example.com:8080"}, nil, "",
			func(c serveConfig) bool { return c.CORSOrigins == "https://a.example.com,http://b.example.com:8080" }},
		{"cors any", []string{"--cors-origins", "*"}, nil, "", func(c serveConfig) bool { return c.CORSOrigins == "*" }},
		{"cors origin with a path", []string{"--cors-origins", "https://a.example.com/x"}, nil, "is not an origin", nil},
		{"admin token", nil, map[string]string{adminTokenEnv: "0123456789abcdef"}, "",
			func(c serveConfig) bool { return c.AdminToken == "0123456789abcdef" }},
		{"short admin token", []string{"--admin-token", "short"}, nil, "must be at least 16 characters", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseServeArgs(tt.args, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(cfg) {
				t.Fatalf("config %+v, error %v", cfg, err)
			}
		})
	}
}

// TestRegionlessRequestsRefused: with --auth off, a request that carries
// no signature (so no region) creates nothing, in whatever content type.
func TestRegionlessRequestsRefused(t *testing.T) {
	addr, _, _ := runTestServer(t, nil, func(c *serveConfig) { c.Storage = storageMemory })
	body := `{"StreamName":"nowhere","ShardCount":1}`
	for _, ct := range []string{"application/x-amz-json-1.1", "application/json", "application/x-amz-cbor-1.1", ""} {
		req, err := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Amz-Target", "Kinesis_20131202.CreateStream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("%q: served: %s", ct, b)
		}
	}
	out, err := testClient(addr).ListStreams(context.Background(), &sdk.ListStreamsInput{})
	if err != nil || len(out.StreamNames) != 0 {
		t.Fatalf("streams after unsigned CreateStreams: %v, %v", out.StreamNames, err)
	}
}
