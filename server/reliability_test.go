package server_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	_ "modernc.org/sqlite" // the "sqlite" driver, for a real disk-full error

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/store"
)

// rawCodec sends a []byte request as-is and ignores the response, for
// sending messages that are not valid protobuf.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)   { return v.([]byte), nil }
func (rawCodec) Unmarshal(_ []byte, _ any) error { return nil }
func (rawCodec) Name() string                    { return "proto" }

// TestGRPCCredentialsBeforeDecode: the credentials of a gRPC call are
// checked before its message is read, so garbage without credentials is
// Unauthenticated; garbage with credentials is InvalidArgument, not
// Internal.
func TestGRPCCredentialsBeforeDecode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAuth("key", "secret"), skipURLCheck)
	conn := startGRPC(t, e)
	garbage := []byte("\x0a\xff\xff\xff\xff\x0f") // field 1, a length far past the end
	invoke := func(ctx context.Context) error {
		var out []byte
		return conn.Invoke(ctx, standinv1.WebhookService_ListWebhooks_FullMethodName, garbage, &out, grpc.ForceCodec(rawCodec{}))
	}
	ctx := context.Background()
	if err := invoke(ctx); status.Code(err) != codes.Unauthenticated || reason(err) != "Unauthorized" {
		t.Errorf("garbage without credentials: %v (reason %q), want Unauthenticated", err, reason(err))
	}
	if err := invoke(basicAuth(ctx, "key", "wrong")); status.Code(err) != codes.Unauthenticated {
		t.Errorf("garbage with wrong credentials: %v, want Unauthenticated", err)
	}
	err := invoke(basicAuth(ctx, "key", "secret"))
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "not valid protobuf") {
		t.Errorf("garbage with credentials: %v, want InvalidArgument", err)
	}
	// A valid call still works, and the codec answers with real protobuf.
	list, err := standinv1.NewWebhookServiceClient(conn).ListWebhooks(basicAuth(ctx, "key", "secret"), &standinv1.ListWebhooksRequest{})
	if err != nil || list == nil {
		t.Fatalf("valid ListWebhooks: %v", err)
	}
}

// TestTwoAuthorizationHeaders: a request with two Authorization headers is
// refused even when one of them is right, over REST and gRPC.
func TestTwoAuthorizationHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAuth("key", "secret"), skipURLCheck)
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte("key:secret"))
	bad := "Basic " + base64.StdEncoding.EncodeToString([]byte("key:wrong"))
	for _, pair := range [][2]string{{good, bad}, {good, good}, {bad, good}} {
		r := e.doWith(http.MethodGet, "/v1/webhooks", "", func(r *http.Request) {
			r.Header.Add("Authorization", pair[0])
			r.Header.Add("Authorization", pair[1])
		})
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "More than one Authorization header") {
			t.Errorf("two Authorization headers: %d %s, want 401", r.status, r.body)
		}
	}
	e.mustDo(http.StatusOK, http.MethodGet, "/v1/webhooks", "")

	conn := startGRPC(t, e)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", good, "authorization", good)
	_, err := standinv1.NewWebhookServiceClient(conn).ListWebhooks(ctx, &standinv1.ListWebhooksRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC with two authorization values: %v, want Unauthenticated", err)
	}
}

// failingStore is a store whose webhook list fails with err.
type failingStore struct {
	store.Store
	err error
}

func (s failingStore) WebhookList(context.Context, store.WebhookListParams) ([]*store.Webhook, error) {
	return nil, fmt.Errorf("list webhooks: %w", s.err)
}

// sqliteDiskFull returns the error SQLite gives when its disk is full: a
// database limited to its current size, written to.
func sqliteDiskFull(t *testing.T) error {
	t.Helper()
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{"CREATE TABLE t (b BLOB)", "PRAGMA max_page_count = 2"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, err = db.Exec("INSERT INTO t VALUES (zeroblob(100000))")
	if err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("insert into a full database: %v, want SQLITE_FULL", err)
	}
	return err
}

// TestStoreUnavailable503: a full disk or an unreachable database answers
// 503 {"code":"ServiceUnavailable"} (gRPC Unavailable) saying the store is
// unavailable, so that clients retry; other store errors stay 500.
func TestStoreUnavailable503(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"sqlite disk full", sqliteDiskFull(t), http.StatusServiceUnavailable},
		{"postgres disk full", &pgconn.PgError{Code: "53100", Message: "could not extend file"}, http.StatusServiceUnavailable},
		{"postgres shutting down", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, http.StatusServiceUnavailable},
		{"postgres connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, http.StatusServiceUnavailable},
		{"postgres syntax error", &pgconn.PgError{Code: "42601", Message: "syntax error"}, http.StatusInternalServerError},
		{"unknown error", errors.New("boom"), http.StatusInternalServerError},
	}
	for _, c := range cases {
		e := newEnv(t, skipURLCheck, func(cfg *server.APIConfig) { cfg.Store = failingStore{Store: cfg.Store, err: c.err} })
		r := e.do(http.MethodGet, "/v1/webhooks", "")
		var env struct{ Code, Message string }
		decode(t, r.body, &env)
		if r.status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.want)
			continue
		}
		if c.want == http.StatusServiceUnavailable {
			if env.Code != "ServiceUnavailable" || !strings.Contains(env.Message, "database is unavailable") {
				t.Errorf("%s: envelope %s", c.name, r.body)
			}
			_, err := standinv1.NewWebhookServiceClient(startGRPC(t, e)).ListWebhooks(context.Background(), &standinv1.ListWebhooksRequest{})
			if status.Code(err) != codes.Unavailable || reason(err) != "ServiceUnavailable" {
				t.Errorf("%s over gRPC: %v, want Unavailable", c.name, err)
			}
		}
	}
}
