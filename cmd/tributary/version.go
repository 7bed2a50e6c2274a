package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the release version, set when building a release:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/tributary
var version = "dev"

// versionString describes this binary: its version, the Go toolchain that
// built it, and the source revision when the build recorded one.
func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(version, bi)
}

// formatVersion is versionString with its inputs made explicit; bi may be
// nil when the binary carries no build information.
func formatVersion(v string, bi *debug.BuildInfo) string {
	goVersion := runtime.Version()
	var revision, commitTime string
	var modified bool
	if bi != nil {
		// "go install module@version" records the module version; use it
		// when no -ldflags version was given.
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				commitTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "tributary %s\n", v)
	fmt.Fprintf(&b, "go:       %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	if revision != "" {
		if modified {
			revision += " (modified)"
		}
		fmt.Fprintf(&b, "revision: %s\n", revision)
	}
	if commitTime != "" {
		fmt.Fprintf(&b, "commit:   %s\n", commitTime)
	}
	return b.String()
}
