package server

import (
	"context"
	"errors"
	"fmt"
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

// TestClusterChange: the drain and add routes need the admin token (but
// not the fault-injection admin API), pass the node to the hook and
// stream its steps as JSON lines ending with done or the error; a
// refusal before any step is 409, a bad body 400, another method 405,
// and without the hook 404.
func TestClusterChange(t *testing.T) {
	const token = "0123456789abcdef0123"
	hook := func(_ context.Context, op, node string, progress func(any)) error {
		switch node {
		case "few":
			return fmt.Errorf("%w: too few nodes", ErrChangeRefused)
		case "broken":
			progress(map[string]string{"step": "one"})
			return errors.New("lost the leader")
		}
		progress(map[string]string{"op": op, "node": node})
		return nil
	}
	for _, tt := range []struct {
		name   string
		hook   func(context.Context, string, string, func(any)) error
		method string
		path   string
		auth   string
		body   string
		status int
		want   string // the answer, exactly
	}{
		{"drain", hook, "POST", ClusterDrainPath, "Bearer " + token, `{"node":"n4"}`, 200,
			"{\"node\":\"n4\",\"op\":\"drain\"}\n{\"done\":true}\n"},
		{"add", hook, "POST", ClusterAddPath, "Bearer " + token, `{"node":"n5"}`, 200,
			"{\"node\":\"n5\",\"op\":\"add\"}\n{\"done\":true}\n"},
		{"failed after a step", hook, "POST", ClusterDrainPath, "Bearer " + token, `{"node":"broken"}`, 200,
			"{\"step\":\"one\"}\n{\"error\":\"lost the leader\"}\n"},
		{"refused", hook, "POST", ClusterDrainPath, "Bearer " + token, `{"node":"few"}`, 409,
			"{\"error\":\"refused: too few nodes\"}\n"},
		{"no token", hook, "POST", ClusterDrainPath, "", `{"node":"n4"}`, 401,
			"{\"error\":\"the admin API needs its token: send Authorization: Bearer TOKEN (tributary faults --admin-token or TRIBUTARY_ADMIN_TOKEN)\"}\n"},
		{"wrong token", hook, "POST", ClusterDrainPath, "Bearer nope", `{"node":"n4"}`, 401, ""},
		{"no node", hook, "POST", ClusterDrainPath, "Bearer " + token, `{}`, 400,
			"{\"error\":\"which node: {\\\"node\\\": \\\"NAME\\\"}\"}\n"},
		{"unknown member", hook, "POST", ClusterDrainPath, "Bearer " + token, `{"nodes":"n4"}`, 400, ""},
		{"get", hook, "GET", ClusterDrainPath, "Bearer " + token, ``, 405, ""},
		{"single node", nil, "POST", ClusterDrainPath, "Bearer " + token, `{"node":"n4"}`, 404,
			"{\"error\":\"cluster changes are off; start tributary serve with --cluster and --admin-token\"}\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{}
			srv := New(Config{Handler: h, ClusterChange: tt.hook, AdminToken: token})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			srv.ServeHTTP(rec, req)
			if rec.Code != tt.status || tt.want != "" && rec.Body.String() != tt.want {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.want)
			}
			if tt.status == 200 && rec.Header().Get("Content-Type") != "application/x-ndjson" {
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.reqs) != 0 {
				t.Fatal("the Kinesis handler was called")
			}
		})
	}
	// The fault routes stay off without Admin.
	srv := New(Config{Handler: &fakeHandler{}, ClusterChange: hook, AdminToken: token})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", faultsPath, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	srv.ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Fatalf("faults with ClusterChange but no Admin: %d %s, want 404", rec.Code, rec.Body)
	}
}
