package backend

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/storetest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		want    target
		wantErr string
	}{
		{url: "", want: target{kind: kindSQLite, path: "./standin.db"}},
		{url: "sqlite:///abs/path/x.db", want: target{kind: kindSQLite, path: "/abs/path/x.db"}},
		{url: "sqlite://relative/x.db", want: target{kind: kindSQLite, path: "relative/x.db"}},
		{url: "sqlite://:memory:", want: target{kind: kindSQLite, path: ":memory:"}},
		{url: "sqlite:///tmp/my%20db.db", want: target{kind: kindSQLite, path: "/tmp/my db.db"}},
		{url: ":memory:", want: target{kind: kindSQLite, path: ":memory:"}},
		{url: "/var/lib/standin.db", want: target{kind: kindSQLite, path: "/var/lib/standin.db"}},
		{url: "data/standin.db", want: target{kind: kindSQLite, path: "data/standin.db"}},
		{url: `C:\standin.db`, want: target{kind: kindSQLite, path: `C:\standin.db`}},
		{url: "postgres://u:p@localhost:5432/db?sslmode=disable", want: target{kind: kindPostgres}},
		{url: "postgresql://localhost/db", want: target{kind: kindPostgres}},
		{url: "mysql://u:p@localhost/db", wantErr: `scheme "mysql" is not supported`},
		{url: "sqlite:x.db", wantErr: "want sqlite:///abs/path"},
		{url: "sqlite://", wantErr: "no path"},
		{url: "sqlite:///x.db?mode=ro", wantErr: "not supported"},
	}
	for _, tt := range tests {
		got, err := parse(tt.url)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parse(%q) error = %v, want one containing %q", tt.url, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v", tt.url, got, err, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"", "sqlite:./standin.db"},
		{"sqlite://:memory:", "sqlite::memory:"},
		{"/tmp/x.db", "sqlite:/tmp/x.db"},
		{"postgres://user:s3cret@db:5432/standin?sslmode=disable", "postgres://user:xxxxx@db:5432/standin?sslmode=disable"},
		{"postgres://user@db/standin?password=s3cret&sslmode=require", "postgres://user@db/standin?password=xxxxx&sslmode=require"},
		{"postgresql://db/standin", "postgresql://db/standin"},
		{"mysql://user:s3cret@db/x", "invalid database URL"},
	}
	for _, tt := range tests {
		if got := Describe(tt.url); got != tt.want {
			t.Errorf("Describe(%q) = %q, want %q", tt.url, got, tt.want)
		}
		if strings.Contains(Describe(tt.url), "s3cret") {
			t.Errorf("Describe(%q) leaks the password", tt.url)
		}
	}
}

func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "standin.db")
	for _, url := range []string{"sqlite://" + path, path, "sqlite://:memory:"} {
		st, err := Open(t.Context(), Config{URL: url, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if err := st.WebhookCreate(t.Context(), &store.Webhook{ID: "wh_" + url, Type: store.WebhookTypeAccount}); err != nil {
			t.Errorf("Open(%q): %v", url, err)
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// TestOpenPostgres opens a PostgreSQL store whose schema comes from the URL's
// search_path (no Schema in the config: River follows search_path too).
func TestOpenPostgres(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	ctx := t.Context()
	schema := storetest.PostgresSchema(t, url, "standin_backend_")
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	st, err := Open(ctx, Config{URL: storetest.SearchPathURL(url, schema), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}()
	_, err = st.EventCreate(ctx, store.EventCreateParams{
		Event:      store.Event{ID: "ev_1", Name: "sync_end"},
		Deliveries: []store.DeliveryNew{{ID: "d_1", WebhookID: "wh_1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var jobs int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+schema+".river_job").Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 1 {
		t.Fatalf("%d River jobs in %s, want 1", jobs, schema)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), Config{URL: "redis://u:s3cret@localhost"})
	if err == nil {
		t.Fatal("Open accepted a redis URL")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the password: %v", err)
	}
}
