//go:build ignore

// genproto regenerates aggregated.pb.go from aggregated.proto with protoc
// from PATH and protoc-gen-go built at the version go.mod pins, so that
// the output depends on the module, not on whatever protoc-gen-go happens
// to be installed. `go generate ./kpl/` runs it; TestGeneratedCodeIsCurrent
// runs it with -out into a temporary directory and compares.
//
//	go run genproto.go [-out DIR]
package main

import (
	"flag"
	"log"
	"os"
	"os/exec"
	"path/filepath"
)

func main() {
	out := flag.String("out", ".", "directory to write aggregated.pb.go into")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("genproto: ")

	protoc, err := exec.LookPath("protoc")
	if err != nil {
		log.Fatal("protoc not found on PATH (Debian: apt-get install protobuf-compiler)")
	}
	tmp, err := os.MkdirTemp("", "kpl-genproto")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	plugin := filepath.Join(tmp, "protoc-gen-go")
	run("go", "build", "-o", plugin, "google.golang.org/protobuf/cmd/protoc-gen-go")
	// The file is registered with protobuf's global registry under the
	// path protoc is given, and a second file of the same path in a
	// program panics at init; "aggregated.proto" alone is a name another
	// library could use too, so protoc sees it as tributary/kpl/.
	run(protoc, "--plugin=protoc-gen-go="+plugin, "--proto_path=tributary/kpl=.",
		"--go_out="+tmp, "--go_opt=paths=source_relative", "tributary/kpl/aggregated.proto")
	gen, err := os.ReadFile(filepath.Join(tmp, "tributary", "kpl", "aggregated.pb.go"))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "aggregated.pb.go"), gen, 0o644); err != nil {
		log.Fatal(err)
	}
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
}
