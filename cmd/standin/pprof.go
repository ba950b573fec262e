package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof serves net/http/pprof's handlers on addr until ctx is done. It
// backs serve's hidden --pprof-addr flag, used to profile standin under
// load (see cmd/standin-bench); the handlers are on their own mux, never on
// the API's.
func servePprof(ctx context.Context, addr string, logger *slog.Logger) (stop func(), err error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.WarnContext(ctx, "pprof server stopped", slog.String("error", err.Error()))
		}
	}()
	logger.InfoContext(ctx, "pprof listening", slog.String("addr", lis.Addr().String()))
	return func() { _ = srv.Close() }, nil
}
