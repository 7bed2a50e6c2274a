//go:build !linux

package netns

import "errors"

// do needs Linux's network namespaces; elsewhere the package builds, so
// that the programs importing it (tributary bench) do, and refuses.
func (nw *Net) do(i int, f func() error) error {
	return errors.New("netns: network namespaces need Linux")
}
