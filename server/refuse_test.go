package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// A body the server refuses unread, over the size limit or without room
// in the body budget, is answered over HTTP/2 as over HTTP/1.1: the client
// reads the status. The server must not reset the stream right after
// answering (which RFC 9113 allows, but which clients such as curl 7.88
// report as a stream error with no status): it reads and discards what the
// client goes on sending, and ends the stream once the client has ended
// its side. A client that stops sending on the answer, as Go's does, sees
// the stream end soon after, not at the read timeout.
func TestHTTP2RefusedBodyIsAnswered(t *testing.T) {
	const (
		bodyLen = 40000 // within HTTP/2's initial flow-control windows
		// Longer than a client that stops sending should wait.
		patience = 15 * time.Second
	)
	tooLarge := func(cfg *Config) { cfg.MaxBodyBytes = bodyLen - 1 }
	noRoom := func(cfg *Config) { cfg.MaxBodyBytes, cfg.BodyBudget = bodyLen, bodyLen }
	unavailable := jsonError("ServiceUnavailable", serviceUnavailableMessage)
	tests := []struct {
		name       string
		upgrade    bool          // h2c Upgrade; else prior knowledge
		cause      func(*Config) // tooLarge or noRoom
		stops      bool          // the client stops sending on the answer
		wantStatus int
		wantBody   string
	}{
		{"prior knowledge, over the limit", false, tooLarge, false, 413, ""},
		{"upgrade, over the limit", true, tooLarge, false, 413, ""},
		{"prior knowledge, no room in the budget", false, noRoom, false, 503, unavailable},
		{"upgrade, no room in the budget", true, noRoom, false, 503, unavailable},
		{"prior knowledge, over the limit, client stops", false, tooLarge, true, 413, ""},
		{"upgrade, no room in the budget, client stops", true, noRoom, true, 503, unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Handler: &fakeHandler{}}
			tt.cause(&cfg)
			ts := startServer(t, cfg)

			var c *h2cClient
			streamID := uint32(1)
			if tt.upgrade {
				c = dialH2CUpgrade(t, ts.addr, "{}")
				if r := c.readResponse(t, 1); r.status != 200 {
					t.Fatalf("upgrade request: status %d", r.status)
				}
				streamID = 3
			} else {
				c = dialH2PriorKnowledge(t, ts.addr)
			}
			full := tt.wantStatus == http.StatusServiceUnavailable
			if full {
				if err := ts.budget.acquire(context.Background(), bodyLen, 0); err != nil {
					t.Fatal(err)
				}
			}

			start := time.Now()
			c.startRequest(t, streamID, bodyLen)
			c.sendBody(t, streamID, bodyLen/4, false)
			var x h2Exchange
			c.readUntil(t, streamID, &x, func(http2.Frame) bool { return x.status != 0 || x.reset })
			if x.reset {
				t.Fatalf("stream reset (%v) before any answer", x.resetCode)
			}
			if tt.stops {
				c.readUntil(t, streamID, &x, func(http2.Frame) bool { return x.ended || x.reset })
				if elapsed := time.Since(start); elapsed > patience {
					t.Errorf("stream ended %v after the request, waiting for the rest of the body", elapsed)
				}
			} else {
				// The client finishes its request, as a client that does
				// not stop sending on an early answer does.
				c.sendBody(t, streamID, bodyLen-bodyLen/4, true)
				c.roundTripPing(t, streamID, &x)
				if !x.ended && !x.reset {
					c.readUntil(t, streamID, &x, func(http2.Frame) bool { return x.ended || x.reset })
				}
				if x.reset {
					t.Errorf("stream reset (%v) after the %d answer; want it ended normally", x.resetCode, x.status)
				}
			}
			if x.status != tt.wantStatus || string(x.body) != tt.wantBody {
				t.Errorf("answer %d %q, want %d %q", x.status, x.body, tt.wantStatus, tt.wantBody)
			}
			if x.header.Get(headerRequestID) == "" {
				t.Errorf("answer without %s: %v", headerRequestID, x.header)
			}
			if full {
				ts.budget.release(bodyLen)
			}
			// The connection is still usable.
			c.request(t, streamID+2, "{}")
			if r := c.readResponse(t, streamID+2); r.status != http.StatusOK {
				t.Errorf("next request on the connection: status %d", r.status)
			}
		})
	}
}
