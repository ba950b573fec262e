package server

import (
	"context"
	"io"
	"net/http"
	"time"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/export"
	"github.com/standin-dev/standin/server/internal/apierr"
)

// exportPath serves the delivery log as JSON Lines (see package export).
const exportPath = "/standin/v1/export"

// exportJob is a parsed export request: what to write and its content type.
type exportJob struct {
	filter      export.Filter
	format      string
	contentType string
}

// newExportJob validates an export request's parameters.
func newExportJob(since, webhookID, event, format string) (*exportJob, error) {
	j := &exportJob{filter: export.Filter{WebhookID: webhookID, Event: event}, format: format}
	if since != "" {
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			return nil, apierr.Invalid("Invalid value '%s' for field 'since': must be an RFC 3339 time", since)
		}
		j.filter.Since = t
	}
	switch format {
	case "", "jsonl":
		j.contentType = "application/jsonl"
	case "timeline-csv":
		j.contentType = "text/csv; charset=utf-8"
	case "timeline-json":
		j.contentType = contentTypeJSON
	default:
		return nil, apierr.Invalid("Invalid value '%s' for field 'format': must be one of jsonl, timeline-csv, timeline-json", format)
	}
	return j, nil
}

// write writes the export to w.
func (j *exportJob) write(ctx context.Context, st export.Store, w io.Writer) error {
	switch j.format {
	case "timeline-csv":
		return export.WriteTimeline(ctx, st, w, j.filter, export.TimelineCSV)
	case "timeline-json":
		return export.WriteTimeline(ctx, st, w, j.filter, export.TimelineJSON)
	}
	return export.Write(ctx, st, w, j.filter)
}

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
			a.writeError(w, r, apierr.Invalid("Unknown parameter '%s': want since, webhook_id, event or format", name))
			return
		}
	}
	j, err := newExportJob(q.Get("since"), q.Get("webhook_id"), q.Get("event"), q.Get("format"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", j.contentType)
	if err := j.write(r.Context(), a.cfg.Store, w); err != nil {
		// The status line is gone; the body ends short and the log says why.
		a.cfg.Logger.ErrorContext(r.Context(), "export", "err", err)
	}
}

// exportServer implements standinv1.ExportServiceServer.
type exportServer struct {
	standinv1.UnimplementedExportServiceServer
	api *API
}

// Export implements standinv1.ExportServiceServer.
func (s *exportServer) Export(req *standinv1.ExportRequest, stream standinv1.ExportService_ExportServer) error {
	ctx := stream.Context()
	j, err := newExportJob(req.GetSince(), req.GetWebhookId(), req.GetEvent(), req.GetFormat())
	if err != nil {
		return s.api.status(ctx, err)
	}
	return s.api.status(ctx, j.write(ctx, s.api.cfg.Store, chunkWriter{stream}))
}

// chunkWriter sends each Write as an ExportChunk.
type chunkWriter struct {
	stream standinv1.ExportService_ExportServer
}

func (c chunkWriter) Write(p []byte) (int, error) {
	if err := c.stream.Send(&standinv1.ExportChunk{Data: append([]byte(nil), p...)}); err != nil {
		return 0, err
	}
	return len(p), nil
}
