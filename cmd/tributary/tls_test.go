package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/sdkhttp"
)

// protoRecorder remembers the protocol of the last response.
type protoRecorder struct {
	rt    http.RoundTripper
	major atomic.Int32
}

func (p *protoRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.rt.RoundTrip(r)
	if err == nil {
		p.major.Store(int32(resp.ProtoMajor))
	}
	return resp, err
}

func tlsClient(addr string, rt http.RoundTripper) *sdk.Client {
	return sdk.New(sdk.Options{
		BaseEndpoint: aws.String("https://" + addr),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   sdkhttp.Wrap(&http.Client{Transport: rt}),
		Retryer:      aws.NopRetryer{},
	})
}

// checkTLS runs calls over HTTP/2 and HTTP/1.1 clients trusting cfg, and a
// SubscribeToShard over HTTP/2.
func checkTLS(t *testing.T, addr string, cfg *tls.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h2 := &protoRecorder{rt: &http.Transport{TLSClientConfig: cfg.Clone(), ForceAttemptHTTP2: true}}
	h1 := &protoRecorder{rt: &http.Transport{TLSClientConfig: cfg.Clone(), TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	c2, c1 := tlsClient(addr, h2), tlsClient(addr, h1)

	createActive(t, ctx, c2, "s")
	if got := h2.major.Load(); got != 2 {
		t.Errorf("HTTP/2 client got HTTP/%d", got)
	}
	if _, err := c1.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("tls")}); err != nil {
		t.Fatalf("PutRecord over HTTP/1.1: %v", err)
	}
	if got := h1.major.Load(); got != 1 {
		t.Errorf("HTTP/1.1 client got HTTP/%d", got)
	}
	cons := aws.ToString(registerActive(t, ctx, c2, streamARN("s"), "app").ConsumerARN)
	s := subscribe(t, ctx, c2, cons, &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	if got, _ := s.collect(t, ctx, 1); len(got) != 1 || got[0] != "tls" {
		t.Errorf("subscribed records %v, want [tls]", got)
	}

	// /metrics is served over TLS too, and counts the connections by the
	// protocol ALPN chose: the HTTP/2 client's one, the HTTP/1.1
	// client's, and the scrape's own (HTTP/1.1), all still open.
	scraper := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg.Clone()}}
	defer scraper.CloseIdleConnections()
	families := scrapeWith(t, scraper, "https://"+addr+"/metrics")
	for proto, want := range map[string]float64{"h2": 1, "http1": 2, "unknown": 0} {
		if got, _ := value(families, "tributary_http_connections_open", map[string]string{"protocol": proto}); got != want {
			t.Errorf("connections open over %s: %v, want %v", proto, got, want)
		}
	}
}

func TestTLSCertFiles(t *testing.T) {
	cert, err := selfSignedCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startServerAddr(t, func(c *serveConfig) { c.TLSCert, c.TLSKey = certFile, keyFile })
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	checkTLS(t, addr, &tls.Config{RootCAs: roots})
}

func TestTLSSelfSigned(t *testing.T) {
	addr, logs := startServerLogs(t, func(c *serveConfig) { c.TLSSelfSigned = true })
	var want string
	for _, rec := range logs.records(t) {
		if fp, ok := rec["sha256_fingerprint"].(string); ok {
			want = fp
		}
	}
	if len(want) != 95 {
		t.Fatalf("logged fingerprint %q, want 32 colon-separated bytes", want)
	}
	// The client trusts exactly the certificate with the logged
	// fingerprint, as a user pinning it would.
	checkTLS(t, addr, &tls.Config{
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if got := fingerprint(cs.PeerCertificates[0].Raw); got != want {
				t.Errorf("server certificate fingerprint %s, logged %s", got, want)
				return x509.UnknownAuthorityError{}
			}
			return nil
		},
	})
}
