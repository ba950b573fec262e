package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/standin-dev/standin/server/internal/inspector"
	"github.com/standin-dev/standin/server/internal/metrics"
	"github.com/standin-dev/standin/store"
)

// Paths of the observability endpoints, served next to the gateway routes
// and behind the same authentication.
const (
	metricsPath = "/metrics"
	statsPath   = "/standin/v1/stats"
	streamPath  = "/standin/v1/stream"
)

// streamWatchInterval is how often, while an inspector page is open, the API
// looks for attempts recorded by other processes (one indexed read).
const streamWatchInterval = time.Second

// observe puts the observability endpoints and the web inspector in front
// of the gateway: GET /metrics (Prometheus), GET /standin/v1/stats (the
// same counts in an envelope), GET /standin/v1/stream (server-sent events
// of changes), and the inspector at / and /ui/. Every other request goes to gateway.
func (a *API) observe(gateway http.Handler) http.Handler {
	metricsHandler := metrics.Handler(a.cfg.Store, a.cfg.Logger)
	ui := inspector.New(inspector.NewSettings(a.cfg.TimeScale))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		switch {
		case read && r.URL.Path == metricsPath:
			metricsHandler.ServeHTTP(w, r)
		case read && r.URL.Path == statsPath:
			a.serveStats(w, r)
		case r.Method == http.MethodGet && r.URL.Path == streamPath:
			a.hub.ServeHTTP(w, r)
		case ui.Serves(r):
			ui.ServeHTTP(w, r)
		default:
			gateway.ServeHTTP(w, r)
		}
	})
}

// serveStats answers the counts of /metrics as JSON in Fivetran's envelope.
func (a *API) serveStats(w http.ResponseWriter, r *http.Request) {
	st, err := a.cfg.Store.StatsGet(r.Context(), store.StatsParams{})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := metrics.NewStats(st)
	// The deployment's scale, which this process agreed to at start; read
	// again, as a later process may have reset it (serve --reset-time-scale).
	out.TimeScale = a.cfg.TimeScale
	if v, err := a.cfg.Store.SettingInit(r.Context(), store.SettingTimeScale, strconv.FormatFloat(a.cfg.TimeScale, 'g', -1, 64)); err == nil {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out.TimeScale = f
		}
	}
	writeData(w, out)
}

// writeData writes {"code":"Success","data":…} with status 200.
func writeData(w http.ResponseWriter, data any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Code string `json:"code"`
		Data any    `json:"data"`
	}{codeSuccess, data}); err != nil {
		writeEnvelope(w, http.StatusInternalServerError, envelope{Code: codeInternal, Message: "Internal error"})
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// Store returns the store the API writes through: the configured one,
// wrapped so that its writes feed GET /standin/v1/stream. A worker in the
// same process writes through it too, so that its attempts reach the
// stream at once.
func (a *API) Store() store.Store { return a.cfg.Store }
