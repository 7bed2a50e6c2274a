package server

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClusterStatus: GET /cluster/status answers the ClusterStatus hook's
// value as JSON, without a signature and without reaching the Kinesis
// handler; 404 on a server without the hook, 503 with the hook's error,
// 405 for other methods.
func TestClusterStatus(t *testing.T) {
	type status struct {
		Leader string `json:"leader"`
	}
	var hookErr error
	hook := func(context.Context) (any, error) {
		if hookErr != nil {
			return nil, hookErr
		}
		return status{Leader: "n2"}, nil
	}
	for _, tt := range []struct {
		name   string
		hook   func(context.Context) (any, error)
		method string
		err    error
		status int
		body   string // a substring of the answer
	}{
		{"status", hook, "GET", nil, 200, `{"leader":"n2"}`},
		{"single node", nil, "GET", nil, 404, `"not a cluster"`},
		{"no leader", hook, "GET", errors.New("jetstream: no metadata leader"), 503, `"reason":"jetstream: no metadata leader"`},
		{"post", hook, "POST", nil, 405, `"use GET or HEAD"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{}
			hookErr = tt.err
			srv := New(Config{Handler: h, ClusterStatus: tt.hook})
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(tt.method, ClusterStatusPath, nil))
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("%d %s, want %d with %s", rec.Code, rec.Body, tt.status, tt.body)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.reqs) != 0 {
				t.Fatal("the Kinesis handler was called")
			}
		})
	}
}
