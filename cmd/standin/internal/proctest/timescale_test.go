package proctest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/cmd/standin/internal/proctest"
)

// TestTimeScaleAgreed runs the processes of one deployment on PostgreSQL
// as the README shows, the API with --time-scale 3600: a worker given
// another scale refuses to start (exit 2), naming both scales and how to
// change the deployment's; a worker given none adopts 3600 and works at it;
// `trigger --wait` names the scale the workers use; and
// --reset-time-scale changes it.
func TestTimeScaleAgreed(t *testing.T) {
	t.Parallel()
	db := proctest.NewDatabase(t)
	api := serve(t, "api", db, "api", "--time-scale", "3600")
	if e := api.Logs("standin started"); len(e) != 1 || e[0]["time_scale"] != 3600.0 {
		t.Fatalf("api start line %v, want time_scale 3600", e)
	}
	if out := api.Output(); !strings.Contains(out, "authentication is off") {
		t.Errorf("the api process does not warn that auth is off:\n%s", out)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := proctest.Start(t, "worker-60", "serve", "--role", "worker", "--database-url", db, "--time-scale", "60")
	code, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("a worker at another scale is still running: %v", err)
	}
	out := p.Output()
	if code != 2 {
		t.Errorf("a worker at another scale exited %d, want 2:\n%s", code, out)
	}
	for _, want := range []string{"--time-scale 60", "time scale 3600", "--time-scale 3600", "--reset-time-scale"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, out)
		}
	}

	w := serve(t, "worker", db, "worker")
	if e := w.Logs("standin started"); len(e) != 1 || e[0]["time_scale"] != 3600.0 || e[0].String("role") != "worker" || e[0].String("http") != "" {
		t.Fatalf("worker start line %v, want role worker, time_scale 3600 and no http", e)
	}
	if strings.Contains(w.Output(), "authentication is off") {
		t.Errorf("the worker, which does not listen, warns that auth is off:\n%s", w.Output())
	}

	rc := newHookReceiver(t, func(_ *http.Request, n int) int {
		if n == 1 {
			return 503 // the first retry is 6 emulated minutes away: 100 ms
		}
		return 200
	})
	res := proctest.Run(t, "webhooks", "create", "--api-url", api.API, "--url", rc.URL, "--events", "sync_end", "--secret", "s")
	if res.Code != 0 {
		t.Fatalf("webhooks create: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = proctest.Run(t, "trigger", "sync_end", "--api-url", api.API, "--wait", "--wait-timeout", "30s")
	if res.Code != 0 || !strings.Contains(res.Stdout, "Workers' time scale: 3600 (Fivetran's 24 h retry schedule in 24s)") {
		t.Errorf("trigger --wait: exit %d, want 0 and the workers' time scale:\n%s%s", res.Code, res.Stdout, res.Stderr)
	}

	stopped, cancel2 := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel2()
	for _, s := range []*standin{w, api} {
		if code, err := s.Stop(stopped); err != nil || code != 0 {
			t.Fatalf("stop: exit %d, %v", code, err)
		}
	}
	reset := serve(t, "reset", db, "all", "--time-scale", "60", "--reset-time-scale")
	if e := reset.Logs("standin started"); len(e) != 1 || e[0]["time_scale"] != 60.0 {
		t.Fatalf("start line after --reset-time-scale %v, want time_scale 60", e)
	}
}
