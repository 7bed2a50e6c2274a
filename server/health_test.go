package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHealth: live and ready through a server's life, answered without a
// signature and never reaching the Kinesis handler.
func TestHealth(t *testing.T) {
	h := &fakeHandler{}
	var notReady error
	srv := New(Config{Handler: h, Ready: func(context.Context) error { return notReady }})
	get := func(method, path string) (int, map[string]string) {
		t.Helper()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		var body map[string]string
		if method != http.MethodHead {
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s %s: body %q: %v", method, path, rec.Body, err)
			}
		}
		return rec.Code, body
	}
	for _, tt := range []struct {
		name, method, path string
		before             func()
		status             int
		state              string
	}{
		{"live", "GET", LivePath, nil, 200, "ok"},
		{"ready", "GET", ReadyPath, nil, 200, "ok"},
		{"head", "HEAD", ReadyPath, nil, 200, ""},
		{"post", "POST", ReadyPath, nil, 405, "error"},
		{"not ready", "GET", ReadyPath, func() { notReady = errors.New("storage: disk full") }, 503, "not ready"},
		{"live while not ready", "GET", LivePath, nil, 200, "ok"},
		{"ready again", "GET", ReadyPath, func() { notReady = nil }, 200, "ok"},
		{"shutting down", "GET", ReadyPath, func() { srv.Shutdown(context.Background()) }, 503, "shutting down"},
		{"live while shutting down", "GET", LivePath, nil, 200, "ok"},
	} {
		if tt.before != nil {
			tt.before()
		}
		status, body := get(tt.method, tt.path)
		if status != tt.status || body["status"] != tt.state {
			t.Errorf("%s: %d %v, want %d %q", tt.name, status, body, tt.status, tt.state)
		}
		if tt.name == "not ready" && body["reason"] != "storage: disk full" {
			t.Errorf("not ready: reason %q, want Ready's error", body["reason"])
		}
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("the Kinesis handler saw %d health requests", n)
	}
}
