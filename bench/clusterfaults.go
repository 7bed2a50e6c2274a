package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tributary-io/tributary/internal/clusterfaults"
	"github.com/tributary-io/tributary/keyring"
)

// ErrClusterFaultsFailed is returned by ClusterFaults when the run
// completed but its history failed the check.
var ErrClusterFaultsFailed = errors.New("the history fails the check")

// ClusterFaults runs the cluster-faults workload: a cluster of
// opts.ClusterNodes nodes, each program (this binary) in a network
// namespace, through a random schedule of opts.ClusterFaults drawn from
// opts.ClusterSeed for opts.Duration, with writers, readers and reshards
// recorded and checked at the end (internal/clusterfaults). Progress goes
// to stderr, each fault as it happens; the report to stdout. The nodes'
// data go in a new directory under the system's temporary one, removed
// when the check passes and kept, with the history, when it fails.
func ClusterFaults(ctx context.Context, opts Options, program clusterfaults.Program, stdout, stderr io.Writer) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	seed := opts.ClusterSeed
	for seed == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		// Small enough to type.
		seed = binary.LittleEndian.Uint64(b[:]) % 1_000_000_000
	}
	kinds := make([]clusterfaults.Kind, len(opts.ClusterFaults))
	for i, k := range opts.ClusterFaults {
		kinds[i] = clusterfaults.Kind(k)
	}
	dir, err := os.MkdirTemp("", "tributary-cluster-faults-*")
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cluster-faults: seed %d (--seed %d runs this schedule again), %d nodes, for %v; data in %s\n", seed, seed, opts.ClusterNodes, opts.Duration, dir)
	var serveArgs []string
	if opts.EncryptKey != "" {
		path, err := writeKeyring(dir, opts.EncryptKey)
		if err != nil {
			return err
		}
		serveArgs = []string{"--keyring", path}
		fmt.Fprintf(stderr, "cluster-faults: the stream is encrypted under %s, from the keyring %s every node reads\n", opts.EncryptKey, path)
	}
	res, err := clusterfaults.Run(ctx, clusterfaults.Config{
		Cluster:    clusterfaults.ClusterConfig{Program: program, Nodes: opts.ClusterNodes, Placements: opts.ClusterPlacements, Dir: dir, ServeArgs: serveArgs},
		EncryptKey: opts.EncryptKey,
		Seed:       seed,
		Kinds:      kinds,
		Duration:   opts.Duration,
		HistoryDir: dir,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(stderr, format+"\n", args...)
		},
	})
	if errors.Is(err, clusterfaults.ErrNoNamespaces) {
		os.RemoveAll(dir)
		return fmt.Errorf("the %s workload runs each node in a network namespace of its own, which takes root and iproute2's ip: %w", WorkloadClusterFaults, err)
	}
	if err != nil {
		return fmt.Errorf("%s (seed %d; data kept in %s): %w", WorkloadClusterFaults, seed, dir, err)
	}
	res.WriteReport(stdout)
	if !res.Check.OK() {
		fmt.Fprintf(stdout, "data and history kept in %s\n", dir)
		return fmt.Errorf("%s (seed %d): %w", WorkloadClusterFaults, seed, ErrClusterFaultsFailed)
	}
	return os.RemoveAll(dir)
}

// writeKeyring writes, in dir, a keyring with one new key that keyID
// names: as its alias when keyID is one (alias/NAME), else as its id.
func writeKeyring(dir, keyID string) (string, error) {
	var entry string
	if strings.HasPrefix(keyID, "alias/") {
		_, e, err := keyring.NewKeyEntry(keyID)
		if err != nil {
			return "", err
		}
		entry = e
	} else {
		m, err := keyring.NewMaterial()
		if err != nil {
			return "", err
		}
		entry = fmt.Sprintf("[[key]]\nid = %q\nversions = [%q]\n", keyID, m)
	}
	path := filepath.Join(dir, "keyring.toml")
	if err := os.WriteFile(path, []byte(entry), 0o600); err != nil {
		return "", err
	}
	if _, err := keyring.Load(path); err != nil {
		return "", fmt.Errorf("--encrypt %s: %w", keyID, err)
	}
	return path, nil
}
