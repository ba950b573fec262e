package testkit

import (
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/standin-dev/standin/delivery/check"
)

// CheckReceiver runs standin's conformance check of a webhook receiver
// (package delivery/check, the engine of `standin check`) against h,
// served on 127.0.0.1 for the length of the check, and fails the test with
// the readable report (each failed probe with the exact requests sent and
// the answers) when a probe failed, with Errorf: the test goes on. Warnings
// do not fail the test; the returned report has them. An invalid cfg stops
// the test, as in CheckURL.
//
// cfg is used as given, except its URL: when it is a path ("/webhooks"),
// the requests go to that path of the served handler; otherwise to "/".
// Set cfg.Secret to the secret h verifies with.
func CheckReceiver(tb TB, h http.Handler, cfg check.Config) *check.Report {
	tb.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	path := "/"
	if strings.HasPrefix(cfg.URL, "/") {
		path = cfg.URL
	}
	cfg.URL = srv.URL + path
	return CheckURL(tb, cfg)
}

// CheckURL runs standin's conformance check against the receiver at
// cfg.URL, already listening, with the test's context, and fails the test
// with the readable report when a probe failed (Errorf: the test goes on,
// and the returned report has every probe). A configuration the check
// refuses stops the test (Fatalf), as any testkit call that cannot do what
// it was asked.
func CheckURL(tb TB, cfg check.Config) *check.Report {
	tb.Helper()
	rep, err := check.Run(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("testkit: check receiver: %v", err)
		return nil // a TB whose Fatalf returns
	}
	if rep.Failed() || !rep.Reachable {
		tb.Errorf("testkit: the receiver at %s failed standin's check:\n%s", cfg.URL, rep)
	}
	return rep
}
