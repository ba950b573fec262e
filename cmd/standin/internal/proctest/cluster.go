//go:build unix

package proctest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PostgresBinDirEnv names a variable that may point at the directory of
// initdb and pg_ctl; otherwise they are looked up with pg_config, in
// /usr/lib/postgresql/<version>/bin (the newest) and on PATH.
const PostgresBinDirEnv = "STANDIN_TEST_PG_BINDIR"

// Postgres is a private PostgreSQL server for one test, in a temporary
// directory, on a free port of 127.0.0.1, with trust authentication. Unlike
// the shared server of DatabaseURL, a test may stop and start it.
type Postgres struct {
	// URL is the server's "postgres" database as superuser postgres.
	URL string

	bin  string // directory of initdb and pg_ctl
	dir  string // data directory
	log  string // server log file
	port int
	cred *syscall.Credential // the OS user the server runs as; nil: ours
}

// StartPostgres initializes and starts a private PostgreSQL server, and
// stops and deletes it when the test ends. PostgreSQL refuses to run as
// root: under root the server runs as the OS user postgres. The test is
// skipped when initdb and pg_ctl cannot be found (or, under root, there is
// no postgres user), except under CI=true, where that is a failure.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	bin := postgresBinDir()
	if bin == "" {
		skipOrFail(tb, "initdb and pg_ctl not found (set %s)", PostgresBinDirEnv)
	}
	p := &Postgres{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipOrFail(tb, "running as root and there is no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}

	// Not tb.TempDir: its parents are private to us, and the server may run
	// as another user.
	root, err := os.MkdirTemp("", "standin-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(root) })
	if p.cred != nil {
		if err := os.Chown(root, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			tb.Fatal(err)
		}
	}
	p.dir = filepath.Join(root, "data")
	p.log = filepath.Join(root, "server.log")
	if out, err := p.run("initdb", "-D", p.dir, "-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync"); err != nil {
		tb.Fatalf("proctest: initdb: %v\n%s", err, out)
	}
	// The socket goes in root too, away from the system server's.
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 100\n", root)
	if err := appendFile(filepath.Join(p.dir, "postgresql.conf"), conf); err != nil {
		tb.Fatal(err)
	}

	// A free port is only free until someone takes it: try a few.
	for try := 0; ; try++ {
		if p.port, err = freePort(); err != nil {
			tb.Fatal(err)
		}
		out, err := p.run("pg_ctl", "-D", p.dir, "-l", p.log, "-o", "-p "+strconv.Itoa(p.port), "-w", "-t", "60", "start")
		if err == nil {
			break
		}
		if try == 2 {
			tb.Fatalf("proctest: pg_ctl start: %v\n%s\n%s", err, out, p.serverLog())
		}
	}
	tb.Cleanup(func() { _, _ = p.run("pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop") })
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	return p
}

// NewDatabase creates an empty database on the server and returns its URL.
func (p *Postgres) NewDatabase(tb testing.TB) string {
	tb.Helper()
	return createDatabase(tb, p.URL)
}

// Stop shuts the server down in fast mode: open sessions are terminated,
// as in a restart or failover, and it waits until the server is down.
func (p *Postgres) Stop(tb testing.TB) {
	tb.Helper()
	if out, err := p.run("pg_ctl", "-D", p.dir, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		tb.Fatalf("proctest: pg_ctl stop: %v\n%s", err, out)
	}
}

// Start starts the stopped server again, on the same port, and waits until
// it accepts connections.
func (p *Postgres) Start(tb testing.TB) {
	tb.Helper()
	if out, err := p.run("pg_ctl", "-D", p.dir, "-l", p.log, "-o", "-p "+strconv.Itoa(p.port), "-w", "-t", "60", "start"); err != nil {
		tb.Fatalf("proctest: pg_ctl start: %v\n%s\n%s", err, out, p.serverLog())
	}
}

func (p *Postgres) run(tool string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, tool), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
		cmd.Dir = "/" // our working directory may be closed to that user
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func (p *Postgres) serverLog() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func postgresBinDir() string {
	has := func(dir string) bool {
		for _, tool := range []string{"initdb", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, tool)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv(PostgresBinDirEnv); dir != "" {
		if has(dir) {
			return dir
		}
		return ""
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(initdb)) {
		return filepath.Dir(initdb)
	}
	return ""
}

// version is the major version in /usr/lib/postgresql/<version>/bin.
func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
