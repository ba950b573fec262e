// Package app is standin's composition root: it turns one Config into a
// running process. New opens the store (every backend is reachable only
// from here, through store/backend), migrates it, seeds the registry, and
// builds the API (package server) and the delivery workers (package worker)
// with settings derived from the Config; Serve runs them on the caller's
// listeners until its context ends and shuts down gracefully; Close
// releases the store. The standin binary and testkit both use it.
//
//	srv, err := app.New(ctx, app.Config{DatabaseURL: "./standin.db", TimeScale: 60})
//	if err != nil { … }
//	defer srv.Close()
//	err = srv.Serve(ctx, app.Listeners{HTTP: httpLis, GRPC: grpcLis})
//
// docs/layout.md lists every package and what it may import.
package app
