package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serveMetrics serves h (GET /metrics) on addr until stop is called. It
// backs serve's --metrics-addr, which works in every role: a worker process
// has no REST port for /metrics.
func serveMetrics(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) (stop func(), err error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.WarnContext(ctx, "metrics server stopped", slog.String("error", err.Error()))
		}
	}()
	logger.InfoContext(ctx, "metrics listening", slog.String("addr", lis.Addr().String()), slog.String("path", "/metrics"))
	return func() { _ = srv.Close() }, nil
}
