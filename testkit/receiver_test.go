package testkit_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/testkit"
)

// post sends one request to the receiver and returns its answer.
func post(t *testing.T, client *http.Client, url, body string) (*http.Response, string, error) {
	t.Helper()
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// TestReceiverScripts exercises each scripted answer over plain HTTP: a
// custom status, body and header, failing N times then the default, a slow
// answer and a hanging one.
func TestReceiverScripts(t *testing.T) {
	t.Parallel()

	t.Run("custom status body header, then default", func(t *testing.T) {
		t.Parallel()
		rcv := testkit.NewReceiver(t, "")
		rcv.Default = testkit.Response{Status: http.StatusAccepted, Body: "later"}
		rcv.Respond(testkit.Response{Status: http.StatusTeapot, Body: "short and stout", Header: http.Header{"X-Pot": {"1"}}})
		resp, body, err := post(t, http.DefaultClient, rcv.URL+"/a?x=1", `{"n":1}`)
		if err != nil || resp.StatusCode != http.StatusTeapot || body != "short and stout" || resp.Header.Get("X-Pot") != "1" {
			t.Fatalf("scripted answer: %v %q %v", resp, body, err)
		}
		resp, body, err = post(t, http.DefaultClient, rcv.URL+"/b", `{"n":2}`)
		if err != nil || resp.StatusCode != http.StatusAccepted || body != "later" {
			t.Fatalf("default answer: %v %q %v", resp, body, err)
		}
		reqs := rcv.Requests()
		if len(reqs) != 2 || reqs[0].Path != "/a?x=1" || string(reqs[0].Body) != `{"n":1}` || reqs[1].Method != "POST" ||
			reqs[1].Header.Get("Content-Type") != "application/json" || reqs[1].ReceivedAt.IsZero() {
			t.Fatalf("recorded %+v", reqs)
		}
	})

	t.Run("fail first n", func(t *testing.T) {
		t.Parallel()
		rcv := testkit.NewReceiver(t, "")
		rcv.FailFirst(2, 0)
		rcv.FailFirst(1, http.StatusBadGateway)
		var got []int
		for range 4 {
			resp, _, err := post(t, http.DefaultClient, rcv.URL, "{}")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, resp.StatusCode)
		}
		if want := []int{500, 500, 502, 200}; !equal(got, want) {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	})

	t.Run("slow", func(t *testing.T) {
		t.Parallel()
		rcv := testkit.NewReceiver(t, "")
		const delay = 50 * time.Millisecond
		rcv.Respond(testkit.Response{Delay: delay, Status: http.StatusCreated})
		start := time.Now()
		resp, _, err := post(t, http.DefaultClient, rcv.URL, "{}")
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("slow answer: %v %v", resp, err)
		}
		if took := time.Since(start); took < delay {
			t.Errorf("answered after %v, before the %v delay", took, delay)
		}
		// The request is recorded when it arrives, not when it is answered.
		if reqs := rcv.Requests(); len(reqs) != 1 || reqs[0].ReceivedAt.Sub(start) >= delay {
			t.Errorf("recorded %+v", reqs)
		}
	})

	t.Run("hang until the client gives up", func(t *testing.T) {
		t.Parallel()
		rcv := testkit.NewReceiver(t, "")
		rcv.Respond(testkit.Response{Hang: true})
		client := &http.Client{Timeout: 100 * time.Millisecond}
		if resp, _, err := post(t, client, rcv.URL, "{}"); err == nil {
			t.Fatalf("a hanging receiver answered %v", resp)
		}
		// The next request gets the default again.
		if resp, _, err := post(t, http.DefaultClient, rcv.URL, "{}"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("after the hang: %v %v", resp, err)
		}
	})

	t.Run("hang until Close", func(t *testing.T) {
		t.Parallel()
		rcv := testkit.NewReceiver(t, "")
		rcv.Respond(testkit.Response{Hang: true})
		done := make(chan error, 1)
		go func() {
			_, _, err := post(t, http.DefaultClient, rcv.URL, "{}")
			done <- err
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rcv.AwaitRequests(ctx, 1)
		rcv.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Error("the held request got an answer after Close")
			}
		case <-ctx.Done():
			t.Fatal("Close did not release the held request")
		}
	})

	t.Run("zero value", func(t *testing.T) {
		t.Parallel()
		var rcv testkit.Receiver
		rcv.Close() // not started: nothing to do
		rcv.Default = testkit.Response{Status: http.StatusAccepted}
		rcv.Start(t)
		rcv.Start(t) // again: nothing to do
		if !strings.HasPrefix(rcv.URL, "http://127.0.0.1:") {
			t.Fatalf("URL %q after Start", rcv.URL)
		}
		if resp, _, err := post(t, http.DefaultClient, rcv.URL, "{}"); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("zero Receiver: %v %v", resp, err)
		}
		if reqs := rcv.AwaitRequests(t.Context(), 1); len(reqs) != 1 {
			t.Errorf("%d requests recorded", len(reqs))
		}
	})
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReceiverScriptsThroughStandin checks how standin records the slow,
// hanging and custom answers: latency, timeout error, status and excerpt.
func TestReceiverScriptsThroughStandin(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	sd := testkit.Start(t, testkit.Config{TimeScale: 1e6, SendTimeout: timeout})
	rcv := testkit.NewReceiver(t, "")
	const delay = 40 * time.Millisecond
	rcv.Respond(
		testkit.Response{Hang: true},
		testkit.Response{Delay: delay, Status: http.StatusTeapot, Body: "brewing", Header: http.Header{"Retry-After": {"7"}}},
		testkit.Response{Status: http.StatusOK},
	)
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_start"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, attempts := sd.AwaitDelivery(ctx, sd.Emit(testkit.Event{Event: "sync_start"}).Deliveries[0].ID)
	if d.State != testkit.StateSucceeded || len(attempts) != 3 {
		t.Fatalf("state %s after %d attempts, want succeeded after 3", d.State, len(attempts))
	}
	hang, slow := attempts[0], attempts[1]
	if hang.Status != 0 || hang.Error == "" || hang.Latency < timeout {
		t.Errorf("hanging receiver: HTTP %d error %q latency %v; want no status, a timeout error, latency ≥ %v", hang.Status, hang.Error, hang.Latency, timeout)
	}
	if slow.Status != http.StatusTeapot || string(slow.ResponseExcerpt) != "brewing" ||
		slow.ResponseHeaders.Get("Retry-After") != "7" || slow.Latency < delay || slow.Succeeded {
		t.Errorf("slow receiver: %+v", slow)
	}
}

// TestReceiverVerifiesEverySigningScheme sends one event to a webhook per
// signing scheme, each with a receiver that knows the secret and one that
// does not: the first verifies every request, the second none (except
// scheme none, which sends no authentication at all).
func TestReceiverVerifiesEverySigningScheme(t *testing.T) {
	t.Parallel()
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	schemes := []struct {
		name    string
		signing delivery.Signing
		secret  string
		header  string // the header that carries the authentication
	}{
		{"fivetran default", delivery.Signing{}, "s3cret", "X-Fivetran-Signature-256"},
		{"fivetran lower hex", delivery.Signing{Scheme: delivery.SchemeFivetran, LowerHex: true}, "s3cret", "X-Fivetran-Signature-256"},
		{"hmac default", delivery.Signing{Scheme: delivery.SchemeHMAC}, "s3cret", "X-Fivetran-Hmac-Sign"},
		{"hmac sha1 hex", delivery.Signing{Scheme: delivery.SchemeHMAC, Algorithm: "SHA1", Encoding: "HEX", Header: "X-Hub-Signature"}, "s3cret", "X-Hub-Signature"},
		{"hmac sha512 base64", delivery.Signing{Scheme: delivery.SchemeHMAC, Algorithm: "SHA512", Header: "X-Sig"}, "s3cret", "X-Sig"},
		{"hmac md5 lower hex", delivery.Signing{Scheme: delivery.SchemeHMAC, Algorithm: "MD5", Encoding: "HEX", LowerHex: true}, "s3cret", "X-Fivetran-Hmac-Sign"},
		{"token", delivery.Signing{Scheme: delivery.SchemeToken, Header: "X-Api-Token"}, "tok_123", "X-Api-Token"},
		{"standard webhooks", delivery.Signing{Scheme: delivery.SchemeStandard}, whsec, "Webhook-Signature"},
		{"none", delivery.Signing{Scheme: delivery.SchemeNone}, "s3cret", ""},
	}
	sd := testkit.Start(t)
	type pair struct{ good, bad *testkit.Receiver }
	receivers := make([]pair, len(schemes))
	for i, sc := range schemes {
		p := pair{good: testkit.NewReceiver(t, sc.secret), bad: testkit.NewReceiver(t, "wrong")}
		p.good.Signing, p.bad.Signing = sc.signing, sc.signing
		for _, r := range []*testkit.Receiver{p.good, p.bad} {
			sd.CreateWebhook(testkit.WebhookParams{URL: r.URL, Events: []string{"sync_end"}, Secret: sc.secret, Signing: &sc.signing})
		}
		receivers[i] = p
	}
	emitted := sd.Emit(testkit.Event{Event: "sync_end"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sd.AwaitEventDeliveries(ctx, emitted.ID, testkit.StateSucceeded)
	for i, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			good, bad := receivers[i].good.Requests(), receivers[i].bad.Requests()
			if len(good) != 1 || len(bad) != 1 {
				t.Fatalf("got %d and %d requests, want 1 each", len(good), len(bad))
			}
			if err := good[0].SignatureErr; err != nil {
				t.Errorf("receiver with the secret: %v", err)
			}
			if sc.header == "" {
				for _, h := range []string{"X-Fivetran-Signature-256", "X-Fivetran-Hmac-Sign", "Webhook-Signature"} {
					if v := good[0].Header.Get(h); v != "" {
						t.Errorf("scheme none sent %s: %s", h, v)
					}
				}
				return
			}
			if good[0].Header.Get(sc.header) == "" {
				t.Errorf("no %s header in %v", sc.header, good[0].Header)
			}
			if err := bad[0].SignatureErr; !errors.Is(err, delivery.ErrInvalidSignature) {
				t.Errorf("receiver with the wrong secret: %v, want ErrInvalidSignature", err)
			}
		})
	}
}
