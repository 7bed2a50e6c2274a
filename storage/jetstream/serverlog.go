package jetstream

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// serverLog writes the embedded server's log through the engine's slog
// logger, tagged component=nats-server. Notices (the startup banner,
// streams recovered) go at debug level, so that a server at info level
// says what Tributary says and no more; warnings and errors, such as a
// store that recovered with damage, go at their own level. Fatal becomes
// an error: the server's own logger would exit the process.
type serverLog struct{ l *slog.Logger }

func (s serverLog) log(level slog.Level, format string, v []any) {
	ctx := context.Background()
	if s.l.Enabled(ctx, level) {
		s.l.Log(ctx, level, fmt.Sprintf(format, v...), slog.String("component", "nats-server"))
	}
}

func (s serverLog) Noticef(format string, v ...any) { s.log(slog.LevelDebug, format, v) }
func (s serverLog) Warnf(format string, v ...any) {
	// The engine sets max_payload above 8 MB on purpose (a record may
	// hold 10 MiB, see maxPayload): the server's advice against it at
	// every start is no news, so it goes at debug level.
	if strings.HasPrefix(format, "Maximum payloads over") {
		s.log(slog.LevelDebug, format, v)
		return
	}
	s.log(slog.LevelWarn, format, v)
}
func (s serverLog) Fatalf(format string, v ...any) { s.log(slog.LevelError, format, v) }
func (s serverLog) Errorf(format string, v ...any) { s.log(slog.LevelError, format, v) }
func (s serverLog) Debugf(format string, v ...any) { s.log(slog.LevelDebug, format, v) }
func (s serverLog) Tracef(string, ...any)          {}
