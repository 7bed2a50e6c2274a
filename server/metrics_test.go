package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tributary-io/tributary/kinesis"
)

// sample returns the value of the series of family name with exactly
// labels in what g gathers: a counter's or gauge's value, a histogram's
// sample count. It returns -1 when there is no such series.
func sample(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return -1
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	if len(m.GetLabel()) != len(labels) {
		return false
	}
	for _, lp := range m.GetLabel() {
		if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

// TestRequestMetrics: each answer is counted once under its operation
// and the error it carries, with its latency and body bytes; targets that
// name no served operation share the label "unknown".
func TestRequestMetrics(t *testing.T) {
	h := &fakeHandler{respond: func(_ context.Context, req *kinesis.Request) *kinesis.Response {
		switch req.Target {
		case kinesis.TargetPrefix + kinesis.OpListStreams:
			return &kinesis.Response{Status: 200, ContentType: jsonCT, Body: []byte(okBody)}
		case kinesis.TargetPrefix + kinesis.OpDescribeStream:
			return kinesis.ErrorResponse(req.ContentType, kinesis.ResourceNotFound("Stream s under account 000000000000 not found."))
		}
		// What package api answers for a target it does not serve.
		return kinesis.ErrorResponse(req.ContentType, kinesis.UnknownOperation())
	}}
	reg := prometheus.NewRegistry()
	ts := startServer(t, Config{Handler: h, Metrics: reg, MaxBodyBytes: 1000})
	client := http1Client()
	defer client.CloseIdleConnections()
	call := func(target, body string) response {
		return do(t, client, "POST", ts.url, signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": target}), body)
	}

	notFound := kinesis.ErrorResponse(jsonCT, kinesis.ResourceNotFound("Stream s under account 000000000000 not found."))
	tests := []struct {
		name      string
		send      func() response
		operation string
		errLabel  string
		reqBytes  int
		respBytes int
	}{
		{"success", func() response { return call(listTgt, "{}") }, "ListStreams", "none", 2, len(okBody)},
		{"ResourceNotFoundException", func() response { return call(kinesis.TargetPrefix+"DescribeStream", `{"StreamName":"s"}`) },
			"DescribeStream", "ResourceNotFoundException", len(`{"StreamName":"s"}`), len(notFound.Body)},
		{"made-up operation", func() response { return call(kinesis.TargetPrefix+"MakeCoffee", "{}") },
			"unknown", "UnknownOperationException", 2, len(`{"__type":"UnknownOperationException"}`)},
		// A Kinesis operation Tributary has no shapes for is unknown too.
		{"operation without shapes", func() response { return call(kinesis.TargetPrefix+"CreateChannel", "{}") },
			"unknown", "UnknownOperationException", 2, len(`{"__type":"UnknownOperationException"}`)},
		// The front end's own XML errors are counted by their type.
		{"another service", func() response {
			return do(t, client, "GET", ts.url, signed(map[string]string{"X-Amz-Target": "DynamoDB_20120810.ListTables"}), "")
		}, "unknown", "UnrecognizedClientException", 0, len(xmlError("UnrecognizedClientException",
			"No authorization strategy was found for service: DynamoDB_20120810, operation: ListTables"))},
		// An error without a body is counted by its status.
		{"body too large", func() response { return call(listTgt, strings.Repeat("x", 1001)) }, "ListStreams", "http_413", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := map[string]string{"operation": tt.operation}
			series := map[string]string{"operation": tt.operation, "error": tt.errLabel}
			before := max(0, sample(t, reg, "tributary_requests_total", series))
			beforeCount := max(0, sample(t, reg, "tributary_request_duration_seconds", ops))
			beforeIn := max(0, sample(t, reg, "tributary_request_body_bytes_total", ops))
			beforeOut := max(0, sample(t, reg, "tributary_response_body_bytes_total", ops))

			got := tt.send()
			if len(got.body) != tt.respBytes {
				t.Fatalf("answer %d %q: %d bytes, want %d", got.status, got.body, len(got.body), tt.respBytes)
			}
			// The exchange counts itself after writing the answer.
			waitUntil(t, func() bool { return sample(t, reg, "tributary_requests_total", series) == before+1 })
			if n := sample(t, reg, "tributary_request_duration_seconds", ops); n != beforeCount+1 {
				t.Errorf("latency histogram count %v, want %v", n, beforeCount+1)
			}
			if n := sample(t, reg, "tributary_request_body_bytes_total", ops); n != beforeIn+float64(tt.reqBytes) {
				t.Errorf("request bytes %v, want %v", n, beforeIn+float64(tt.reqBytes))
			}
			if n := sample(t, reg, "tributary_response_body_bytes_total", ops); n != beforeOut+float64(tt.respBytes) {
				t.Errorf("response bytes %v, want %v", n, beforeOut+float64(tt.respBytes))
			}
		})
	}
	// Nothing was counted twice or elsewhere: six requests, six counts.
	var total float64
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "tributary_requests_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	if total != float64(len(tests)) {
		t.Errorf("tributary_requests_total sums to %v over all series, want %d", total, len(tests))
	}
	// Operations never called have no series: they appear on first use.
	if n := sample(t, reg, "tributary_request_duration_seconds", map[string]string{"operation": "PutRecord"}); n != -1 {
		t.Errorf("PutRecord has a latency series (%v) without a request", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// TestErrorLabel pins the error label of answers without an exception
// in them, and keeps the label bounded.
func TestErrorLabel(t *testing.T) {
	for _, tt := range []struct {
		resp   kinesis.Response
		status int
		want   string
	}{
		{kinesis.Response{}, 200, "none"},
		{kinesis.Response{ErrorType: kinesis.ErrProvisionedThroughputExceeded}, 400, "ProvisionedThroughputExceededException"},
		{kinesis.Response{ErrorType: "NoSuchException"}, 400, "other"},
		{kinesis.Response{}, 400, "http_400"},
		{kinesis.Response{}, 413, "http_413"},
		{kinesis.Response{}, 502, "http_502"},
	} {
		if got := errorLabel(&tt.resp, tt.status); got != tt.want {
			t.Errorf("errorLabel(%+v, %d) = %q, want %q", tt.resp, tt.status, got, tt.want)
		}
	}
}

// TestBodyBudgetMetrics: a request refused for want of budget is counted,
// and the budget in use shows what requests hold.
func TestBodyBudgetMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	ts := startServer(t, Config{Handler: &fakeHandler{}, Metrics: reg, MaxBodyBytes: 1000, BodyBudget: BodyCost * 1000, BodyBudgetWait: time.Millisecond})
	if got := sample(t, reg, "tributary_http_body_budget_bytes", nil); got != BodyCost*1000 {
		t.Errorf("budget %v, want %d", got, BodyCost*1000)
	}
	if err := ts.budget.acquire(context.Background(), BodyCost*1000, 0); err != nil {
		t.Fatal(err)
	}
	if got := sample(t, reg, "tributary_http_body_budget_used_bytes", nil); got != BodyCost*1000 {
		t.Errorf("budget used %v, want %d", got, BodyCost*1000)
	}
	client := http1Client()
	defer client.CloseIdleConnections()
	for range 2 {
		if got := do(t, client, "POST", ts.url, signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}), "{}"); got.status != 503 {
			t.Fatalf("status %d, want 503", got.status)
		}
	}
	if got := sample(t, reg, "tributary_http_body_budget_refused_total", nil); got != 2 {
		t.Errorf("refused %v, want 2", got)
	}
	waitUntil(t, func() bool {
		return sample(t, reg, "tributary_requests_total", map[string]string{"operation": "ListStreams", "error": "ServiceUnavailable"}) == 2
	})
	ts.budget.release(BodyCost * 1000)
	if got := sample(t, reg, "tributary_http_body_budget_used_bytes", nil); got != 0 {
		t.Errorf("budget used %v after release, want 0", got)
	}
}

// TestConnectionMetrics: connections are counted under the protocol of
// their first request, an h2c Upgrade moves one from http1 to h2, and
// each leaves the count when it closes.
func TestConnectionMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	ts := startServer(t, Config{Handler: &fakeHandler{}, Metrics: reg})
	open := func(proto string) float64 {
		return sample(t, reg, "tributary_http_connections_open", map[string]string{"protocol": proto})
	}
	waitOpen := func(http1, h2, unknown float64) {
		t.Helper()
		waitUntil(t, func() bool { return open("http1") == http1 && open("h2") == h2 && open("unknown") == unknown })
	}
	waitOpen(0, 0, 0)
	call := func(c *http.Client) {
		t.Helper()
		if got := do(t, c, "POST", ts.url, signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}), "{}"); got.status != 200 {
			t.Fatalf("status %d", got.status)
		}
	}

	h1 := http1Client()
	call(h1)
	call(h1) // the same kept-alive connection
	waitOpen(1, 0, 0)
	h2 := priorKnowledgeClient()
	call(h2)
	call(h2)
	waitOpen(1, 1, 0)
	up := dialH2CUpgrade(t, ts.addr, "{}")
	if r := up.readResponse(t, 1); r.status != 200 {
		t.Fatalf("upgraded stream 1: %d", r.status)
	}
	waitOpen(1, 2, 0)

	h1.CloseIdleConnections()
	h2.CloseIdleConnections()
	up.conn.Close()
	waitOpen(0, 0, 0)
	// Every connection accepted is counted, the upgraded one once.
	if got := sample(t, reg, "tributary_http_connections_accepted_total", nil); got != 3 {
		t.Errorf("accepted %v, want 3", got)
	}
}

// TestMetricsRoute: GET /metrics answers what the Gatherer holds, in
// Prometheus's text format, without a signature and without reaching
// the Kinesis handler; other methods get 405; without a Gatherer the
// path is the Kinesis API's like any other.
func TestMetricsRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := &fakeHandler{}
	srv := New(Config{Handler: h, Metrics: reg, Gatherer: reg})
	// One Kinesis call, to have a series to find.
	call := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	for k, v := range signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}) {
		call.Header.Set(k, v)
	}
	srv.ServeHTTP(httptest.NewRecorder(), call)

	get := func(s *Server, method string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(method, MetricsPath, nil))
		return rec
	}
	rec := get(srv, "GET")
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d %s", MetricsPath, rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(io.Reader(rec.Body))
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	found := false
	for _, m := range families["tributary_requests_total"].GetMetric() {
		if hasLabels(m, map[string]string{"operation": "ListStreams", "error": "none"}) && m.GetCounter().GetValue() == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("scrape has no tributary_requests_total{operation=ListStreams,error=none} 1: %v", families["tributary_requests_total"])
	}
	if rec := get(srv, "HEAD"); rec.Code != 200 {
		t.Errorf("HEAD: %d", rec.Code)
	}
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		if rec := get(srv, method); rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d, Allow %q; want 405, GET, HEAD", method, rec.Code, rec.Header().Get("Allow"))
		}
	}
	if n := len(h.requests()); n != 1 {
		t.Errorf("the Kinesis handler saw %d requests, want the one call", n)
	}

	// Without a Gatherer, /metrics is not a route: an unsigned GET gets
	// AWS's answer.
	if rec := get(New(Config{Handler: h}), "GET"); rec.Code != 403 || !strings.Contains(rec.Body.String(), "MissingAuthenticationTokenException") {
		t.Errorf("without a Gatherer: %d %s, want 403 MissingAuthenticationTokenException", rec.Code, rec.Body)
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmark below measures the server and not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkServeHTTPMetrics measures what the metrics add to a request
// through the front end (a handler that answers at once, so the front
// end's own work is all there is): go test -run X -bench ServeHTTPMetrics
// -benchmem ./server/ and compare off with on.
func BenchmarkServeHTTPMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		var reg prometheus.Registerer
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			if on {
				reg = prometheus.NewRegistry() // b.Run may call this more than once
			}
			srv := New(Config{Handler: &benchHandler{}, Metrics: reg})
			body := []byte(`{"StreamName":"s","PartitionKey":"k","Data":"aGVsbG8="}`)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest("POST", "/", nil)
				for k, v := range signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": kinesis.TargetPrefix + kinesis.OpPutRecord}) {
					r.Header.Set(k, v)
				}
				r.ContentLength = int64(len(body))
				w := &discardWriter{h: http.Header{}}
				rd := &rewindReader{}
				for pb.Next() {
					rd.Reset(body)
					r.Body = rd
					clear(w.h)
					srv.ServeHTTP(w, r)
				}
			})
		})
	}
}

// benchHandler answers every call with the same small success.
type benchHandler struct{}

var benchAnswer = []byte(`{"SequenceNumber":"1","ShardId":"shardId-000000000000"}`)

func (benchHandler) Handle(context.Context, *kinesis.Request) *kinesis.Response {
	return &kinesis.Response{Status: 200, ContentType: jsonCT, Body: benchAnswer}
}

// rewindReader is a request body read again on every iteration.
type rewindReader struct{ bytes.Reader }

func (r *rewindReader) Close() error { return nil }

// BenchmarkRequestMetrics measures the metrics' own work for one
// request (finding the operation's series, observing latency, bytes and
// the outcome), which BenchmarkServeHTTPMetrics's noise can hide, next to
// the same work done by label values on every request, the design the
// resolved series avoid.
func BenchmarkRequestMetrics(b *testing.B) {
	m := newMetrics(prometheus.NewRegistry(), New(Config{Handler: &benchHandler{}}))
	target := kinesis.TargetPrefix + kinesis.OpPutRecord
	b.Run("resolved", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.forTarget(target).observe(noError, time.Millisecond, 60, 55)
		}
	})
	b.Run("by-label", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			op, _ := kinesis.OperationOf(target)
			m.durations.WithLabelValues(op).Observe(0.001)
			m.reqBytes.WithLabelValues(op).Add(60)
			m.respBytes.WithLabelValues(op).Add(55)
			m.requests.WithLabelValues(op, noError).Inc()
		}
	})
}
