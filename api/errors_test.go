package api

import (
	"testing"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

// TestEveryCodeHasAnException checks the mapping from the domain's kinds
// of failure to the wire's exceptions: each code up to the last one
// declared names an exception of the wire's table that a served call can
// end with, and no two codes share one.
func TestEveryCodeHasAnException(t *testing.T) {
	seen := map[string]stream.Code{}
	for c := stream.CodeNotFound; c <= stream.CodeKMSInvalidState; c++ {
		name := exceptions[c]
		if name == "" {
			t.Errorf("code %v has no exception", c)
			continue
		}
		if !kinesis.IsCallError(name) {
			t.Errorf("code %v maps to %s, which a served call cannot end with", c, name)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("codes %v and %v both map to %s", prev, c, name)
		}
		seen[name] = c
	}
	if got := exceptionOf(stream.Code(0)); got != kinesis.ErrInternalFailure {
		t.Errorf("exceptionOf(0) = %s, want InternalFailure", got)
	}
	if got := exceptionOf(stream.CodeKMSInvalidState + 1); got != kinesis.ErrInternalFailure {
		t.Errorf("exceptionOf(unknown) = %s, want InternalFailure", got)
	}
}
