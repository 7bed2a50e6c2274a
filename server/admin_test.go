package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/internal/bgtask"
)

// testAdminToken is the admin token of the tests' servers.
const testAdminToken = "test-admin-token"

// adminDo sends an admin request with the admin token.
func adminDo(t *testing.T, srv http.Handler, method, path, body string) (int, string) {
	t.Helper()
	return adminDoWith(t, srv, method, path, body, map[string]string{"Authorization": "Bearer " + testAdminToken})
}

// adminDoWith sends an admin request with these headers.
func adminDoWith(t *testing.T, srv http.Handler, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	w := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, rd)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	srv.ServeHTTP(w, req)
	for k := range w.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("%s %s: admin answer has CORS header %s", method, path, k)
		}
	}
	if ct := w.Header().Get("Content-Type"); w.Code != http.StatusNoContent && ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return w.Code, w.Body.String()
}

func TestAdminFaults(t *testing.T) {
	h := &fakeHandler{}
	var logs syncBuffer
	srv := New(Config{Handler: h, Admin: faults.New(1), AdminToken: testAdminToken, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	warned := false
	for _, rec := range logs.records(t) {
		warned = warned || rec["level"] == "WARN" && strings.Contains(rec["msg"].(string), "fault injection")
	}
	if !warned {
		t.Error("no startup warning that the admin API is on")
	}

	const rule = `{"operation":"PutRecords","effect":"error","error_type":"ProvisionedThroughputExceededException","count":2}`
	steps := []struct {
		method, path, body string
		status             int
		want               string // JSON the body must equal, if set
		contains           string // text the body must contain, if set
	}{
		{"GET", "/_tributary/faults", "", 200, `{"rules":[]}`, ""},
		{"POST", "/_tributary/faults", rule, 201,
			`{"id":"f1","operation":"PutRecords","effect":"error","probability":1,"count":2,"error_type":"ProvisionedThroughputExceededException"}`, ""},
		{"POST", "/_tributary/faults", `{"operation":"GetRecords","effect":"latency","latency":"10ms"}`, 201,
			`{"id":"f2","operation":"GetRecords","effect":"latency","probability":1,"latency":"10ms"}`, ""},
		{"GET", "/_tributary/faults", "", 200, "", `"id":"f2"`},
		{"DELETE", "/_tributary/faults/f1", "", 204, "", ""},
		{"DELETE", "/_tributary/faults/f1", "", 404, "", `no fault rule with id \"f1\"`},
		{"GET", "/_tributary/faults", "", 200, `{"rules":[{"id":"f2","operation":"GetRecords","effect":"latency","probability":1,"latency":"10ms"}]}`, ""},
		{"DELETE", "/_tributary/faults", "", 204, "", ""},
		{"GET", "/_tributary/faults", "", 200, `{"rules":[]}`, ""},

		{"POST", "/_tributary/faults", `{"operation":"PutRecords"`, 400, "", "decoding rule"},
		{"POST", "/_tributary/faults", `{"operation":"PutRecords","effect":"error","error_typo":"X"}`, 400, "", "unknown field"},
		{"POST", "/_tributary/faults", `{"operation":"PutRecords","effect":"error"} {}`, 400, "", "unexpected data"},
		{"POST", "/_tributary/faults", `{"operation":"PutRecords","effect":"error"}`, 400, "", "invalid rule: effect error needs error_type"},
		{"POST", "/_tributary/faults", `{"operation":"GetRecords","effect":"latency","latency":"soon"}`, 400, "", "must be like 200ms"},
		{"PUT", "/_tributary/faults", "", 405, "", "method PUT not allowed"},
		{"GET", "/_tributary/faults/f2", "", 405, "", "not allowed"},
		{"GET", "/_tributary/other", "", 404, "", "no admin route"},
		{"DELETE", "/_tributary/faults/a/b", "", 404, "", "no admin route"},
	}
	for _, st := range steps {
		status, body := adminDo(t, srv, st.method, st.path, st.body)
		if status != st.status {
			t.Errorf("%s %s %s: status %d %s, want %d", st.method, st.path, st.body, status, body, st.status)
			continue
		}
		if st.want != "" && !jsonEqual(t, body, st.want) {
			t.Errorf("%s %s: body %s, want %s", st.method, st.path, body, st.want)
		}
		if st.contains != "" && !strings.Contains(body, st.contains) {
			t.Errorf("%s %s: body %s, want it to contain %s", st.method, st.path, body, st.contains)
		}
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("admin requests reached the Kinesis handler %d times", n)
	}
}

func TestAdminOff(t *testing.T) {
	h := &fakeHandler{}
	srv := New(Config{Handler: h})
	for _, method := range []string{"GET", "POST", "DELETE"} {
		status, body := adminDo(t, srv, method, "/_tributary/faults", `{}`)
		if status != http.StatusNotFound || !strings.Contains(body, "admin API is off") {
			t.Errorf("%s: %d %s", method, status, body)
		}
	}
	if status, body := adminDo(t, srv, "GET", "/_tributary/stats", ""); status != http.StatusNotFound || !strings.Contains(body, "admin API is off") {
		t.Errorf("GET stats: %d %s", status, body)
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("admin requests reached the Kinesis handler %d times", n)
	}
}

// TestAdminStatsCountsConnections reads the stats over real connections:
// the one asking is open, and every one accepted is counted.
func TestAdminStatsCountsConnections(t *testing.T) {
	ts := startServer(t, Config{Handler: &fakeHandler{}, Admin: faults.New(1), AdminToken: testAdminToken})
	var got struct {
		Open  int64 `json:"connections_open"`
		Total int64 `json:"connections_total"`
	}
	for i := 1; i <= 3; i++ {
		client := &http.Client{Transport: &http.Transport{}} // a connection of its own
		req, err := http.NewRequest("GET", ts.url+"/_tributary/stats", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		client.CloseIdleConnections()
		if err != nil {
			t.Fatal(err)
		}
		if got.Open < 1 || got.Total != int64(i) {
			t.Fatalf("request %d: connections open %d, total %d; want at least 1 open and %d in all", i, got.Open, got.Total, i)
		}
	}
}

func TestAdminStats(t *testing.T) {
	background := map[string]map[string]bgtask.Stats{
		"engine":  {"clean": {Runs: 7, Failures: 1, Panics: 1}},
		"service": {"reaper": {Runs: 3}},
	}
	srv := New(Config{Handler: &fakeHandler{}, Admin: faults.New(1), AdminToken: testAdminToken,
		BackgroundStats: func() map[string]map[string]bgtask.Stats { return background }})
	status, body := adminDo(t, srv, "GET", "/_tributary/stats", "")
	if status != http.StatusOK {
		t.Fatalf("GET stats: %d %s", status, body)
	}
	var got struct {
		Goroutines     int                                  `json:"goroutines"`
		OpenFDs        *int                                 `json:"open_fds"`
		RSSBytes       *int64                               `json:"rss_bytes"`
		HeapInuseBytes uint64                               `json:"heap_inuse_bytes"`
		Background     map[string]map[string]map[string]int `json:"background"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	if got.Goroutines < 1 || got.HeapInuseBytes == 0 {
		t.Errorf("goroutines %d, heap in use %d: want both positive (%s)", got.Goroutines, got.HeapInuseBytes, body)
	}
	if _, err := os.Stat("/proc/self/fd"); err == nil {
		// At least stdin, stdout and stderr; some RSS.
		if got.OpenFDs == nil || *got.OpenFDs < 3 || got.RSSBytes == nil || *got.RSSBytes <= 0 {
			t.Errorf("open_fds and rss_bytes missing or implausible with /proc: %s", body)
		}
	}
	if c := got.Background["engine"]["clean"]; c["runs"] != 7 || c["failures"] != 1 || c["panics"] != 1 {
		t.Errorf("background engine clean = %v, want runs 7, failures 1, panics 1 (%s)", c, body)
	}
	if got.Background["service"]["reaper"]["runs"] != 3 {
		t.Errorf("background service reaper = %v (%s)", got.Background["service"]["reaper"], body)
	}

	// Without the callback the counts are an empty object, not null, so
	// that a reader can tell "no tasks" from a missing field.
	srv = New(Config{Handler: &fakeHandler{}, Admin: faults.New(1), AdminToken: testAdminToken})
	if _, body := adminDo(t, srv, "GET", "/_tributary/stats", ""); !strings.Contains(body, `"background":{}`) {
		t.Errorf("stats without BackgroundStats: %s", body)
	}
	if status, _ := adminDo(t, srv, "POST", "/_tributary/stats", "{}"); status != http.StatusMethodNotAllowed {
		t.Errorf("POST stats: %d, want 405", status)
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}

// TestAdminTokenAndOrigin: every route needs the token; no route
// answers a cross-origin request, with or without the token.
func TestAdminTokenAndOrigin(t *testing.T) {
	inj := faults.New(1)
	srv := New(Config{Handler: &fakeHandler{}, Admin: inj, AdminToken: testAdminToken})
	const rule = `{"operation":"PutRecords","effect":"latency","latency":"1ms"}`
	bearer := "Bearer " + testAdminToken
	tests := []struct {
		name         string
		method, path string
		header       map[string]string
		status       int
		contains     string
	}{
		{"no token", "POST", "/_tributary/faults", nil, 401, "needs its token"},
		{"no token, list", "GET", "/_tributary/faults", nil, 401, "needs its token"},
		{"no token, delete one", "DELETE", "/_tributary/faults/f1", nil, 401, "needs its token"},
		{"wrong token", "POST", "/_tributary/faults", map[string]string{"Authorization": "Bearer nope"}, 401, "needs its token"},
		{"token as basic", "POST", "/_tributary/faults", map[string]string{"Authorization": "Basic " + testAdminToken}, 401, "needs its token"},
		{"token with a suffix", "POST", "/_tributary/faults", map[string]string{"Authorization": bearer + "x"}, 401, "needs its token"},
		{"cross-origin with the token", "POST", "/_tributary/faults",
			map[string]string{"Authorization": bearer, "Origin": "http://evil.example"}, 403, "cross-origin"},
		{"cross-site fetch with the token", "POST", "/_tributary/faults",
			map[string]string{"Authorization": bearer, "Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
		{"cross-origin stats", "GET", "/_tributary/stats", map[string]string{"Authorization": bearer, "Origin": "http://evil.example"}, 403, "cross-origin"},
		{"stats without token", "GET", "/_tributary/stats", nil, 401, "needs its token"},
		{"same origin with the token", "POST", "/_tributary/faults",
			map[string]string{"Authorization": bearer, "Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, 201, `"id":"f1"`},
		{"stats with the token", "GET", "/_tributary/stats", map[string]string{"Authorization": bearer}, 200, `"goroutines"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// httptest.NewRequest's host is example.com.
			status, body := adminDoWith(t, srv, tt.method, tt.path, rule, tt.header)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("%d %s, want %d containing %q", status, body, tt.status, tt.contains)
			}
		})
	}
	// Only the one request with the token and from the same origin added
	// a rule.
	if rules := inj.List(); len(rules) != 1 {
		t.Fatalf("rules = %v, want the one added with the token", rules)
	}
}

func TestNewPanicsWithAdminWithoutToken(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New did not panic with Admin and no AdminToken")
		}
	}()
	New(Config{Handler: &fakeHandler{}, Admin: faults.New(1)})
}

// The profiles of net/http/pprof are admin routes: they need the token,
// and with it answer as pprof does under its usual path.
func TestAdminPprof(t *testing.T) {
	srv := New(Config{Handler: &fakeHandler{}, Admin: faults.New(1), AdminToken: testAdminToken})
	get := func(path string, header map[string]string) (int, string, string) {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		srv.ServeHTTP(w, req)
		return w.Code, w.Header().Get("Content-Type"), w.Body.String()
	}
	bearer := map[string]string{"Authorization": "Bearer " + testAdminToken}
	if status, _, body := get("/_tributary/debug/pprof/heap", nil); status != http.StatusUnauthorized {
		t.Fatalf("heap profile without the token: %d %s", status, body)
	}
	if status, _, body := get("/_tributary/debug/pprof/", bearer); status != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("index: %d %.200s", status, body)
	}
	if status, _, body := get("/_tributary/debug/pprof/goroutine?debug=1", bearer); status != http.StatusOK || !strings.Contains(body, "goroutine profile: total") {
		t.Fatalf("goroutine profile: %d %.200s", status, body)
	}
	status, ct, body := get("/_tributary/debug/pprof/heap", bearer)
	if status != http.StatusOK || ct != "application/octet-stream" || !strings.HasPrefix(body, "\x1f\x8b") {
		t.Fatalf("heap profile: %d %q, body starts %q, want a gzipped profile", status, ct, body[:min(len(body), 8)])
	}
}
