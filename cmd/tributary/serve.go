package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/server"
)

// run serves Kinesis as cfg says until ctx is done, then shuts down
// gracefully: new connections are refused and in-flight requests finish
// (for at most server.DefaultShutdownTimeout).
func run(ctx context.Context, cfg serveConfig, logger *slog.Logger) error {
	// ===== Wiring ==========================================================
	// TODO(lead): once storage/local, stream and kinesis land, replace the
	// placeholder handler and error encoder below with the real stack. As
	// those packages stand today:
	//
	//	var every time.Duration // zero: fsync before acknowledging
	//	if cfg.Sync == syncInterval {
	//		every = cfg.SyncInterval
	//	}
	//	engine, err := local.Open(cfg.DataDir, local.Options{SyncInterval: every, Logger: logger})
	//	if err != nil {
	//		return fmt.Errorf("open storage in %s: %w", cfg.DataDir, err)
	//	}
	//	// stream takes a zero delay to mean its 500ms default and
	//	// stream.NoDelay to mean none, while --create-delay=0 means none.
	//	delay := func(d time.Duration) time.Duration {
	//		if d == 0 {
	//			return stream.NoDelay
	//		}
	//		return d
	//	}
	//	svc, err := stream.New(ctx, engine, stream.Options{
	//		CreateDelay: delay(cfg.CreateDelay), DeleteDelay: delay(cfg.DeleteDelay),
	//		UpdateDelay: delay(cfg.UpdateDelay), Logger: logger,
	//	})
	//	if err != nil {
	//		engine.Close()
	//		return fmt.Errorf("start streams: %w", err)
	//	}
	//	var handler server.Handler = kinesis.New(svc) // the API value with Handle
	//	errorResponse := func(contentType, typ, message string, status int) *kinesis.Response {
	//		return kinesis.ErrorResponse(contentType, &kinesis.Error{Type: typ, Message: message, Status: status})
	//	}
	//	closeWiring := engine.Close // plus svc's Close, if it gets one
	errorResponse := server.ErrorResponseFunc(placeholderErrorResponse)
	var handler server.Handler = notImplementedHandler{errorResponse}
	closeWiring := func() error { return nil }
	// ===== End of wiring ===================================================

	srv := server.New(server.Config{
		Handler:       handler,
		Account:       cfg.Account,
		Logger:        logger,
		ErrorResponse: errorResponse,
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		closeWiring()
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	addr := ln.Addr().String()
	logger.Info("listening on "+addr,
		slog.String("addr", addr),
		slog.String("data_dir", cfg.DataDir),
		slog.String("account", cfg.Account),
		slog.String("sync", cfg.Sync))

	serveErr := srv.Serve(ctx, ln)
	closeErr := closeWiring()
	if serveErr != nil {
		return fmt.Errorf("serve on %s: %w", addr, serveErr)
	}
	if closeErr != nil {
		return fmt.Errorf("closing storage: %w", closeErr)
	}
	logger.Info("stopped")
	return nil
}

// notImplementedHandler answers every call with InternalFailure until the
// kinesis API is wired in. TODO(lead): delete with the placeholder wiring.
type notImplementedHandler struct {
	errorResponse server.ErrorResponseFunc
}

func (h notImplementedHandler) Handle(_ context.Context, req *kinesis.Request) *kinesis.Response {
	op := strings.TrimPrefix(req.Target, kinesis.TargetPrefix)
	return h.errorResponse(req.ContentType, "InternalFailure",
		fmt.Sprintf("Tributary does not implement %s yet.", op), http.StatusInternalServerError)
}

// placeholderErrorResponse encodes errors in AWS JSON 1.1 whatever the
// caller's encoding. TODO(lead): delete for kinesis.ErrorResponse.
func placeholderErrorResponse(_, typ, message string, status int) *kinesis.Response {
	body, err := json.Marshal(map[string]string{"__type": typ, "message": message})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return &kinesis.Response{Status: status, ContentType: kinesis.ContentTypeJSON, Body: body}
}
