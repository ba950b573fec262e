package app

import (
	"net/http"

	"github.com/standin-dev/standin/server/internal/metrics"
)

// MetricsHandler serves GET /metrics, the same metrics the REST port serves
// at /metrics, for a process in any role (a RoleWorker process has no REST
// port). It does not authenticate: serve it on an address only the scraper
// reaches. The counts come from the database, so every process of one
// deployment reports the same numbers.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(s.store, s.cfg.Logger))
	return mux
}
