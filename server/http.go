package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
)

// Paths served next to the gateway routes.
const (
	healthzPath = "/healthz"
	openAPIPath = "/standin/v1/openapi.json"
)

// serveHealthz answers {"status":"SERVING"} (200) or
// {"status":"NOT_SERVING"} (503), as set by SetServing.
func (a *API) serveHealthz(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if resp, err := a.health.Check(r.Context(), &healthpb.HealthCheckRequest{}); err == nil {
		st = resp.GetStatus()
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	if st != healthpb.HealthCheckResponse_SERVING {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = fmt.Fprintf(w, `{"status":%q}`, st.String())
}

// serveOpenAPI serves the generated OpenAPI document.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	w.Header().Set("Content-Type", contentTypeJSON)
	_, _ = w.Write(standinv1.OpenAPI)
}

// authenticate requires the API credentials on every path but /healthz; it
// is a no-op when authentication is off.
func (a *API) authenticate(next http.Handler) http.Handler {
	if a.creds == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == healthzPath {
			next.ServeHTTP(w, r)
			return
		}
		if err := a.creds.checkAuthorization(r.Header.Values("Authorization")); err != nil {
			a.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody reads the whole request body up front, refusing one over
// MaxBodyBytes with 413 and one that does not arrive within the server's
// read timeout with 408, so that the gateway (which reads a PATCH body
// twice) works on memory.
func (a *API) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				a.writeError(w, r, &tooLargeError{limit: MaxBodyBytes})
				return
			}
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				w.Header().Set("Connection", "close")
				writeEnvelope(w, http.StatusRequestTimeout, envelope{Code: codeInvalidInput, Message: "The request body did not arrive in time"})
				return
			}
			writeEnvelope(w, http.StatusBadRequest, envelope{Code: codeInvalidInput, Message: "Cannot read the request body"})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// requireJSON refuses a request body that is not JSON with 415 and an
// InvalidInput envelope naming the Content-Type: the API reads JSON only, as
// Fivetran's does. application/json and application/*+json (with any
// parameters) are accepted, and so is a body without a Content-Type. It
// runs after limitBody, which sets ContentLength to the body read.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); r.ContentLength > 0 && ct != "" && !isJSONMediaType(ct) {
			writeEnvelope(w, http.StatusUnsupportedMediaType, envelope{
				Code:    codeInvalidInput,
				Message: fmt.Sprintf("Unsupported Content-Type '%s': send a JSON body with Content-Type: application/json", ct),
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isJSONMediaType reports whether a Content-Type is application/json or
// application/*+json.
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == contentTypeJSON || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// statusRecorder remembers the status code written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs every request at debug level: method, path, status,
// response size and duration (never headers or bodies, which hold
// credentials and secrets).
func (a *API) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		a.cfg.Logger.DebugContext(r.Context(), "http request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "bytes", rec.bytes, "duration", time.Since(start))
	})
}

// queryParser is the gateway's default query parameter parser with
// Fivetran-style messages: a value that does not fit its field is refused as
// "Invalid value 'abc' for parameter 'limit'". Unknown parameters are
// ignored.
type queryParser struct{}

func (queryParser) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	var def runtime.DefaultQueryParser
	err := def.Parse(msg, values, filter)
	if err == nil {
		return nil
	}
	// Find the parameter at fault by parsing each one alone.
	for _, key := range slices.Sorted(maps.Keys(values)) {
		scratch := proto.Clone(msg)
		proto.Reset(scratch)
		if def.Parse(scratch, url.Values{key: values[key]}, filter) != nil {
			return apierr.Invalid("Invalid value '%s' for parameter '%s'", strings.Join(values[key], ","), key)
		}
	}
	return apierr.Invalid("Invalid query parameters: %s", err)
}
