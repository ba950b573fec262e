package check_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/delivery/check"
)

// ExampleRun checks a receiver that verifies signatures but answers 500 to
// events it does not know.
func ExampleRun() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !delivery.VerifyFivetran("my_secret", body, r.Header.Get(delivery.HeaderFivetranSignature)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if bytes.Contains(body, []byte(check.UnknownEventName)) {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	rep, err := check.Run(context.Background(), check.Config{URL: srv.URL, Secret: "my_secret"})
	if err != nil {
		panic(err)
	}
	for _, p := range rep.Probes {
		if p.Verdict != check.Pass {
			fmt.Println(p.ID, p.Verdict)
		}
	}
	fmt.Println("failed:", rep.Failed())
	// Output:
	// unknown_event fail
	// replay skipped
	// failed: true
}
