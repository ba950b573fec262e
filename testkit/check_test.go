package testkit_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/delivery/check"
	"github.com/standin-dev/standin/testkit"
)

// verifyingHandler is a correct receiver: it verifies the signature of the
// exact body bytes and acknowledges everything that verifies.
func verifyingHandler(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || !delivery.VerifyFivetran(secret, body, r.Header.Get(delivery.HeaderFivetranSignature)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// ExampleCheckReceiver checks a handler the way `standin check` checks a
// URL: in a test, pass t, and a failed probe fails it with the report.
func ExampleCheckReceiver() {
	h := testkit.NewHarness() // in a test: use t
	defer h.Close()

	rep := testkit.CheckReceiver(h, verifyingHandler("my_secret"), check.Config{URL: "/webhooks/fivetran", Secret: "my_secret"})
	for _, p := range rep.Probes {
		if p.Verdict != check.Pass {
			fmt.Println(p.ID, p.Verdict)
		}
	}
	fmt.Printf("%d pass, %d fail, test failed: %v\n", rep.Summary.Pass, rep.Summary.Fail, h.Failed())
	// Output:
	// replay skipped
	// 14 pass, 0 fail, test failed: false
}

// recorder is a TB that keeps what Errorf reports.
type recorder struct {
	*testkit.Harness
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCheckURLFailsWithTheReport(t *testing.T) {
	t.Parallel()
	// testkit's Receiver records and answers 200 to everything: it does
	// not refuse bad signatures.
	rcv := testkit.NewReceiver(t, "s")
	tb := &recorder{Harness: testkit.NewHarness()}
	defer tb.Close()
	rep := testkit.CheckURL(tb, check.Config{URL: rcv.URL + "/hook", Secret: "s", Timeout: 5 * time.Second})
	if len(tb.errs) != 1 {
		t.Fatalf("want one error, got %q", tb.errs)
	}
	for _, want := range []string{
		"failed standin's check",
		"rejects_forged                  FAIL",
		"[signed with another secret] FAIL",
		"> POST " + rcv.URL + "/hook",
		"< 200 in ",
	} {
		if !strings.Contains(tb.errs[0], want) {
			t.Errorf("report lacks %q:\n%s", want, tb.errs[0])
		}
	}
	// Every exchange in the report is a request the receiver got.
	n := 0
	for _, p := range rep.Probes {
		if p.ID != check.ProbeLatency {
			n += len(p.Exchanges)
		}
	}
	if got := len(rcv.Requests()); got != n {
		t.Errorf("the receiver got %d requests, the report shows %d", got, n)
	}
	bad := 0
	for _, req := range rcv.Requests() {
		if req.SignatureErr != nil {
			bad++
		}
	}
	if bad != 3 { // forged, tampered, unsigned
		t.Errorf("%d requests did not verify, want 3", bad)
	}
}

// TestCheckReceiverInvalidConfig checks that a configuration the check
// refuses stops the test (Fatalf), naming the bad field.
func TestCheckReceiverInvalidConfig(t *testing.T) {
	t.Parallel()
	tb := &fatalTB{T: t}
	msg := tb.fatalOf(func() {
		testkit.CheckReceiver(tb, verifyingHandler("s"), check.Config{Profile: "zapier"})
		t.Errorf("CheckReceiver returned for an invalid config")
	})
	if !strings.Contains(msg, `profile "zapier"`) {
		t.Errorf("failed with %q, want the bad profile named", msg)
	}
}
