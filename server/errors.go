package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/store"
)

// Envelope codes. Fivetran publishes Success, InvalidInput and
// NotFound_<Entity>; the others are standin's own, for cases Fivetran does
// not document.
const (
	codeSuccess          = "Success"
	codeInvalidInput     = "InvalidInput"
	codeNotFound         = "NotFound"
	codeUnauthorized     = "Unauthorized"
	codeMethodNotAllowed = "MethodNotAllowed"
	codeConflict         = "Conflict"
	codeInternal         = "InternalError"
	codeUnavailable      = "ServiceUnavailable"
)

// storeUnavailableMessage is the message of every error that storeUnavailable
// recognises: the request changed nothing and may be retried.
const storeUnavailableMessage = "The database is unavailable (unreachable, shutting down or out of disk space): nothing was changed; retry later"

// storeUnavailable reports whether err says the database cannot serve
// requests for now rather than that the request is wrong: PostgreSQL
// unreachable (dial errors, connection failures, classes 08 connection
// exception, 53 insufficient resources such as disk_full, 57P0x shutdown,
// 58 system error) or SQLite's disk full, I/O error, cannot open or read
// only database.
func storeUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		c := pgErr.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") ||
			strings.HasPrefix(c, "57P0") || strings.HasPrefix(c, "58")
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || pgconn.SafeToRetry(err) {
		return true
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_READONLY, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.ECONNREFUSED)
}

// errorDomain is the Domain of the google.rpc.ErrorInfo on every error status.
const errorDomain = "standin.dev"

// authError is a request without valid credentials.
type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }

// tooLargeError is a request body over the limit.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("Request body is larger than the limit of %d bytes (1 MiB)", e.limit)
}

// status is the one place that maps domain and store errors to gRPC
// statuses. Each status carries an ErrorInfo whose Reason is the Fivetran
// envelope code. Errors it does not know become Internal with a generic
// message; the error itself is only logged, so no internals or secrets reach
// the client. A nil error maps to nil, and an error that already is a gRPC
// status is returned unchanged.
func (a *API) status(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var (
		inErr   *apierr.InputError
		nfErr   *apierr.NotFoundError
		cfErr   *apierr.ConflictError
		auErr   *authError
		bigErr  *tooLargeError
		code    codes.Code
		reason  string
		message string
	)
	switch {
	case errors.As(err, &inErr):
		code, reason, message = codes.InvalidArgument, codeInvalidInput, inErr.Msg
	case errors.As(err, &nfErr):
		code, reason, message = codes.NotFound, codeNotFound+"_"+nfErr.Entity, nfErr.Error()
	case errors.As(err, &cfErr):
		code, reason, message = codes.FailedPrecondition, codeConflict, cfErr.Msg
	case errors.As(err, &auErr):
		code, reason, message = codes.Unauthenticated, codeUnauthorized, auErr.msg
	case errors.As(err, &bigErr):
		code, reason, message = codes.ResourceExhausted, codeInvalidInput, bigErr.Error()
	case errors.Is(err, store.ErrNotFound):
		code, reason, message = codes.NotFound, codeNotFound, "Cannot find the requested entity"
	case errors.Is(err, store.ErrConflict):
		code, reason, message = codes.AlreadyExists, codeConflict, "The entity conflicts with an existing one"
	case errors.Is(err, context.Canceled):
		code, reason, message = codes.Canceled, codeInternal, "The request was cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		code, reason, message = codes.DeadlineExceeded, codeInternal, "The request timed out"
	case storeUnavailable(err):
		a.cfg.Logger.WarnContext(ctx, "api: database unavailable", "err", err)
		code, reason, message = codes.Unavailable, codeUnavailable, storeUnavailableMessage
	default:
		a.cfg.Logger.ErrorContext(ctx, "api: internal error", "err", err)
		code, reason, message = codes.Internal, codeInternal, "Internal error"
	}
	st, derr := status.New(code, message).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain})
	if derr != nil {
		return status.Error(code, message)
	}
	return st.Err()
}

// envelope is the body of every error response.
type envelope struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// httpError returns the HTTP status and envelope of a gRPC status: the
// ErrorInfo reason when there is one (set by API.status), else a code
// derived from the gRPC code (statuses made by the gateway itself, such as
// malformed JSON or query parameters).
func httpError(st *status.Status) (int, envelope) {
	env := envelope{Message: st.Message()}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			env.Code = info.GetReason()
		}
	}
	var httpStatus int
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		httpStatus, env.Code = http.StatusBadRequest, orDefault(env.Code, codeInvalidInput)
	case codes.NotFound:
		httpStatus, env.Code = http.StatusNotFound, orDefault(env.Code, codeNotFound)
	case codes.Unauthenticated:
		httpStatus, env.Code = http.StatusUnauthorized, orDefault(env.Code, codeUnauthorized)
	case codes.AlreadyExists, codes.FailedPrecondition:
		httpStatus, env.Code = http.StatusConflict, orDefault(env.Code, codeConflict)
	case codes.ResourceExhausted:
		httpStatus, env.Code = http.StatusRequestEntityTooLarge, orDefault(env.Code, codeInvalidInput)
	case codes.Unavailable:
		httpStatus, env.Code = http.StatusServiceUnavailable, orDefault(env.Code, codeUnavailable)
	default:
		httpStatus, env = http.StatusInternalServerError, envelope{Code: codeInternal, Message: "Internal error"}
	}
	return httpStatus, env
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeEnvelope writes an error envelope. 401 responses also get the
// WWW-Authenticate challenge.
func writeEnvelope(w http.ResponseWriter, httpStatus int, env envelope) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(env) // two strings: cannot fail
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON)
	if httpStatus == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="standin"`)
	}
	w.WriteHeader(httpStatus)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// writeError writes err, a domain error or a gRPC status, as an envelope.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	httpStatus, env := httpError(status.Convert(a.status(r.Context(), err)))
	writeEnvelope(w, httpStatus, env)
}

// gatewayError is the gateway's runtime.ErrorHandlerFunc.
func (a *API) gatewayError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) { // a malformed path escape
		writeEnvelope(w, hse.HTTPStatus, envelope{Code: codeInvalidInput, Message: "Invalid path: " + hse.Err.Error()})
		return
	}
	a.writeError(w, r, err)
}

// routingError is the gateway's runtime.RoutingErrorHandlerFunc.
func routingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusNotFound:
		writeEnvelope(w, httpStatus, envelope{Code: codeNotFound, Message: fmt.Sprintf("No route for path '%s'", r.URL.Path)})
	case http.StatusMethodNotAllowed:
		writeEnvelope(w, httpStatus, envelope{Code: codeMethodNotAllowed, Message: fmt.Sprintf("Method %s is not allowed for path '%s'", r.Method, r.URL.Path)})
	default:
		writeEnvelope(w, http.StatusBadRequest, envelope{Code: codeInvalidInput, Message: "Invalid request path"})
	}
}
