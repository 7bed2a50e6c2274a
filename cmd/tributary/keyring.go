package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tributary-io/tributary/keyring"
	"github.com/tributary-io/tributary/storage"
)

// openKeyring loads --keyring (nil when it is not given) and reads it
// again on every SIGHUP until ctx ends: that is how a key is rotated (a
// new version appended), added, disabled or enabled without a restart.
// A file that fails to load on SIGHUP is logged and the keys in use stay.
func openKeyring(ctx context.Context, path string, logger *slog.Logger) (*keyring.File, error) {
	if path == "" {
		return nil, nil
	}
	kr, err := keyring.Load(path)
	if err != nil {
		return nil, fmt.Errorf("--keyring: %w", err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := kr.Reload(); err != nil {
					logger.Error("keyring not reloaded; the keys in use stay", slog.String("file", path), slog.Any("error", err))
					continue
				}
				logger.Info("keyring reloaded", slog.String("file", path))
			}
		}
	}()
	return kr, nil
}

// engineKeys is keys as the engine's KeyProvider: nil (not a typed nil
// pointer in an interface) when there is no keyring.
func engineKeys(keys *keyring.File) storage.KeyProvider {
	if keys == nil {
		return nil
	}
	return keys
}
