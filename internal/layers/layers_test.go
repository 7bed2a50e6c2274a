// Package layers holds the test that keeps Tributary's packages in their
// layers (docs/architecture.md): each package may import, of Tributary's
// own packages, only those listed for it below. A new package fails the
// test until it is given its place here.
package layers

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tributary-io/tributary/"

// allowed lists, for every package of the module, the packages of the
// module it may import (test files are not checked: a test may use an
// engine or a client from anywhere). "internal/*" stands for any package
// under internal/.
//
// The layers, top down: cmd/tributary; server (HTTP); api (one handler per
// operation); faults; kinesis (the wire, standalone); stream (the domain);
// storage and its engines. Imports point down, never up, and kinesis and
// the client-side packages import nothing of Tributary so that the
// producer and consumer libraries can use them without a server.
var allowed = map[string][]string{
	"cmd/tributary": {"*"},
	// server validates the identity policies of its credentials file.
	"server": {"kinesis", "faults", "policy", "internal/*"},
	"api":    {"kinesis", "faults", "policy", "stream", "internal/bufpool"},
	"faults": {"kinesis"},
	// kinesis reuses buffers through internal/bufpool, a leaf that
	// imports nothing of Tributary either.
	"kinesis": {"internal/bufpool"},
	// policy parses and evaluates IAM policy documents; standalone, so
	// the credentials loader (server, cmd) can validate identity policies.
	"policy": {},
	// stream reads the KPL format to store an aggregate sent again once
	// (stream/dedup.go); kpl is standalone and shared with the clients.
	"stream": {"storage", "kpl", "keyring", "internal/*"},
	// The local key provider for encryption at rest, KMS-shaped; the
	// engine sees it only as a storage.KeyProvider.
	"keyring": {},

	"storage":          {},
	"storage/local":    {"storage", "internal/*"},
	"internal/bufpool": {},
	// The envelope encryption both on-disk engines seal records with.
	"internal/datakey": {"storage"},
	"storage/mem":      {"storage"},
	"storage/discard":  {"storage", "storage/mem"},
	// The engine on embedded NATS JetStream (issue 17).
	"storage/jetstream":   {"storage", "internal/datakey"},
	"storage/storagetest": {"storage"},

	// keyring: the cluster-faults workload writes its nodes' keyring.
	"bench":   {"sdkhttp", "producer", "consumer", "keyring", "internal/*"},
	"sdkhttp": {},
	"kpl":     {},

	// The client libraries: clients of the Kinesis API through the AWS
	// SDK, for AWS and Tributary alike, so nothing of the server.
	"producer":           {"kpl", "sdkhttp"},
	"consumer":           {"kpl", "sdkhttp"},
	"consumer/leasetest": {"consumer"},
	"consumer/pglease":   {"consumer"},
	// Lease stores, each in its own package so that its client library
	// (here aws-sdk-go-v2's DynamoDB) is imported only by who uses it.
	"consumer/dynamolease": {"consumer"},
	// Test files only: the consumer in worker processes, end to end.
	"consumer/e2e": {},

	"internal/bgtask":   {},
	"internal/cli":      {},
	"internal/procstat": {},
	"internal/tmpfs":    {},
	"internal/layers":   {},
	// For the cluster's fault tests: the history of concurrent Kinesis
	// clients and its checker (a client of the API through the AWS SDK,
	// so nothing of the server), and network namespaces to partition
	// nodes.
	"internal/history": {},
	"internal/netns":   {},
	// The cluster under a random schedule of faults: node processes in
	// network namespaces, a workload through the history's recorder
	// (for a test of cmd/tributary and its bench).
	"internal/clusterfaults": {"internal/*", "sdkhttp"},
	// A test helper: the whole server in a test's process.
	"internal/inproc": {"api", "faults", "sdkhttp", "server", "storage", "storage/mem", "stream"},
	// Test helpers: the outside services some tests need (lease stores).
	"internal/testsvc/dynalite": {},
	"internal/testsvc/postgres": {},
}

func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, ok := strings.CutPrefix(fields[0], module)
		if !ok {
			t.Fatalf("go list printed %q, outside the module", fields[0])
		}
		rules, ok := allowed[pkg]
		if !ok {
			t.Errorf("package %s has no place in the layers: add it to allowed, and to docs/architecture.md", pkg)
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if !permitted(rules, dep) {
				t.Errorf("%s imports %s, which its layer may not (allowed: %v)", pkg, dep, rules)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages; go list found too few", checked)
	}
}

func permitted(rules []string, dep string) bool {
	if slices.Contains(rules, "*") || slices.Contains(rules, dep) {
		return true
	}
	return strings.HasPrefix(dep, "internal/") && slices.Contains(rules, "internal/*")
}

// TestPermitted pins the matching itself, so that a rule that matched
// everything could not pass TestImportsPointDown vacuously.
func TestPermitted(t *testing.T) {
	tests := []struct {
		rules []string
		dep   string
		want  bool
	}{
		{[]string{}, "stream", false},
		{[]string{"storage"}, "storage", true},
		{[]string{"storage"}, "storage/local", false},
		{[]string{"internal/*"}, "internal/bgtask", true},
		{[]string{"internal/*"}, "stream", false},
		{[]string{"*"}, "api", true},
	}
	for _, tt := range tests {
		if got := permitted(tt.rules, tt.dep); got != tt.want {
			t.Errorf("permitted(%v, %s) = %v, want %v", tt.rules, tt.dep, got, tt.want)
		}
	}
}
