package dynamolease_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tributary-io/tributary/internal/testsvc/dynalite"
	"github.com/tributary-io/tributary/sdkhttp"
)

// The tests run against dynalite, a DynamoDB in memory (npm), which
// package internal/testsvc/dynalite starts (and says how to install).
// One dynalite serves the package's tests, each store on a table of its
// own; TestMain stops it. Without node or dynalite the tests skip, but
// fail with CI=true.

func TestMain(m *testing.M) {
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

var server dynalite.Shared

// client returns a DynamoDB client of the package's dynalite, starting it
// the first time; it skips or fails t when there is none.
func client(t *testing.T) *dynamodb.Client {
	t.Helper()
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(server.Endpoint(t)),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:   sdkhttp.New(),
	})
}

var tables atomic.Int64

// newTable returns the name of a table no test used yet.
func newTable() string { return fmt.Sprintf("leases-%d", tables.Add(1)) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}
