package server

import (
	"net/http"
	"time"

	"github.com/standin-dev/standin/server/export"
)

// exportPath serves the delivery log as JSON Lines (see package export).
const exportPath = "/standin/v1/export"

// serveExport answers GET /standin/v1/export: the delivery log as JSON
// Lines (format=jsonl, the default) or its timeline (format=timeline-csv,
// format=timeline-json), filtered by since (RFC 3339), webhook_id and
// event. Bad parameters are a 400 InvalidInput before anything is written.
func (a *API) serveExport(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	q := r.URL.Query()
	for name := range q {
		switch name {
		case "since", "webhook_id", "event", "format":
		default:
			a.writeError(w, r, invalidInput("Unknown parameter '%s': want since, webhook_id, event or format", name))
			return
		}
	}
	f := export.Filter{WebhookID: q.Get("webhook_id"), Event: q.Get("event")}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			a.writeError(w, r, invalidInput("Invalid value '%s' for field 'since': must be an RFC 3339 time", v))
			return
		}
		f.Since = t
	}
	var (
		contentType string
		write       func() error
	)
	switch format := q.Get("format"); format {
	case "", "jsonl":
		contentType = "application/jsonl"
		write = func() error { return export.Write(r.Context(), a.cfg.Store, w, f) }
	case "timeline-csv":
		contentType = "text/csv; charset=utf-8"
		write = func() error { return export.WriteTimeline(r.Context(), a.cfg.Store, w, f, export.TimelineCSV) }
	case "timeline-json":
		contentType = contentTypeJSON
		write = func() error { return export.WriteTimeline(r.Context(), a.cfg.Store, w, f, export.TimelineJSON) }
	default:
		a.writeError(w, r, invalidInput("Invalid value '%s' for field 'format': must be one of jsonl, timeline-csv, timeline-json", format))
		return
	}
	w.Header().Set("Content-Type", contentType)
	if err := write(); err != nil {
		// The status line is gone; the body ends short and the log says why.
		a.cfg.Logger.ErrorContext(r.Context(), "export", "err", err)
	}
}
