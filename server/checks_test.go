package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
)

// verifyingReceiver answers 200 to requests whose X-Fivetran-Signature-256
// verifies with secret and 401 to the rest, and keeps the SHA-256 of every
// body it received.
type verifyingReceiver struct {
	url  string
	mu   sync.Mutex
	sums map[string]int
}

func newVerifyingReceiver(t *testing.T, secret string) *verifyingReceiver {
	t.Helper()
	r := &verifyingReceiver{sums: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		sum := sha256.Sum256(body)
		r.mu.Lock()
		r.sums[hex.EncodeToString(sum[:])]++
		r.mu.Unlock()
		if !delivery.VerifyFivetran(secret, body, req.Header.Get(delivery.HeaderFivetranSignature)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hook"
	return r
}

func (r *verifyingReceiver) received(sum string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sums[sum] > 0
}

// checkReport is the part of a report the tests read.
type checkReport struct {
	ID        string  `json:"id"`
	WebhookID *string `json:"webhook_id"`
	URL       string  `json:"url"`
	SecretSet bool    `json:"secret_set"`
	Events    []string
	TimeoutMS int  `json:"timeout_ms"`
	Reachable bool `json:"reachable"`
	Summary   struct{ Pass, Warn, Fail, Skipped int }
	Probes    []struct {
		ID        string `json:"id"`
		Verdict   string `json:"verdict"`
		Exchanges []struct {
			Status  int `json:"status"`
			Request struct {
				Headers    map[string][]string `json:"headers"`
				BodySHA256 string              `json:"body_sha256"`
			} `json:"request"`
		} `json:"exchanges"`
	} `json:"probes"`
}

func (r checkReport) verdict(id string) string {
	for _, p := range r.Probes {
		if p.ID == id {
			return p.Verdict
		}
	}
	return ""
}

// TestChecksREST runs the receiver check through POST /standin/v1/checks,
// against a webhook and against an explicit URL, and reads the stored
// reports back with GET /standin/v1/checks/{id}.
func TestChecksREST(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	rcv := newVerifyingReceiver(t, "s3cret")
	whID := e.createWebhook("/v1/webhooks/account", `{"url":"`+rcv.url+`","events":["sync_end"],"secret":"s3cret"}`)

	// A webhook: its URL and secret are used, so the forged and unsigned
	// probes are refused by the receiver and the valid ones accepted.
	post := e.mustDo(http.StatusOK, http.MethodPost, "/standin/v1/checks", `{"webhook_id":"`+whID+`","events":["sync_start","sync_end"]}`)
	var env struct {
		Code string          `json:"code"`
		Data json.RawMessage `json:"data"`
	}
	decode(t, post.body, &env)
	require.Equal(t, "Success", env.Code)
	var rep checkReport
	decode(t, env.Data, &rep)
	require.NotEmpty(t, rep.ID)
	require.NotNil(t, rep.WebhookID)
	require.Equal(t, whID, *rep.WebhookID)
	require.Equal(t, rcv.url, rep.URL)
	require.True(t, rep.SecretSet)
	require.True(t, rep.Reachable)
	require.Equal(t, []string{"sync_start", "sync_end"}, rep.Events)
	require.Equal(t, 10000, rep.TimeoutMS)
	for _, id := range []string{"url_check", "accepts_valid", "rejects_forged", "rejects_tampered", "rejects_unsigned", "duplicate"} {
		require.Equal(t, "pass", rep.verdict(id), "probe %s", id)
	}
	require.NotContains(t, string(post.body), "s3cret", "the secret never appears")
	// The evidence is what went over the wire: every exchange's body was
	// received byte for byte.
	n := 0
	for _, p := range rep.Probes {
		for _, x := range p.Exchanges {
			if x.Status == 0 {
				continue
			}
			require.True(t, rcv.received(x.Request.BodySHA256), "probe %s: body %s never arrived", p.ID, x.Request.BodySHA256)
			n++
		}
	}
	require.Greater(t, n, 10)

	// The stored report reads back as it was answered, and its JSON (what
	// check.Report marshals to) loses nothing in the API's form.
	get := e.mustDo(http.StatusOK, http.MethodGet, "/standin/v1/checks/"+rep.ID, "")
	var getEnv struct {
		Data json.RawMessage `json:"data"`
	}
	decode(t, get.body, &getEnv)
	require.Equal(t, string(env.Data), string(getEnv.Data))
	stored, err := e.store.CheckGetByID(t.Context(), rep.ID)
	require.NoError(t, err)
	require.Equal(t, whID, stored.WebhookID)
	var fromStore, fromAPI any
	require.NoError(t, json.Unmarshal(stored.Report, &fromStore))
	require.NoError(t, json.Unmarshal(getEnv.Data, &fromAPI))
	require.Equal(t, fromStore, fromAPI, "the API's report is check.Report's JSON, field for field")

	// An explicit URL with the wrong secret: the receiver refuses the
	// valid deliveries, and the report says so.
	post = e.mustDo(http.StatusOK, http.MethodPost, "/standin/v1/checks",
		`{"url":"`+rcv.url+`","secret":"wrong","events":["sync_end"],"timeout":"2s"}`)
	decode(t, post.body, &env)
	rep = checkReport{}
	decode(t, env.Data, &rep)
	require.Nil(t, rep.WebhookID, "no webhook_id for an explicit url")
	require.Equal(t, 2000, rep.TimeoutMS)
	require.Equal(t, "fail", rep.verdict("accepts_valid"))
	require.Positive(t, rep.Summary.Fail)
	require.NotContains(t, string(post.body), `"wrong"`)

	// A token scheme: the secret is redacted in the evidence.
	post = e.mustDo(http.StatusOK, http.MethodPost, "/standin/v1/checks",
		`{"url":"`+rcv.url+`","secret":"tok_123","signing":{"scheme":"token","header":"X-Api-Token"},"events":["sync_end"]}`)
	require.NotContains(t, string(post.body), "tok_123")
	require.Contains(t, string(post.body), `"X-Api-Token":["******"]`)
}

// TestChecksRESTBadInput: each refused request is a 400 or 404 in
// Fivetran's envelope, and stores nothing.
func TestChecksRESTBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	rcv := newVerifyingReceiver(t, "s")
	whID := e.createWebhook("/v1/webhooks/account", `{"url":"`+rcv.url+`","events":["sync_end"],"secret":"s"}`)
	for _, tc := range []struct {
		body, code, msg string
		status          int
	}{
		{`{}`, "InvalidInput", "Missing field 'webhook_id' or 'url'", 400},
		{`{"webhook_id":"` + whID + `","url":"` + rcv.url + `"}`, "InvalidInput", "cannot be combined", 400},
		{`{"webhook_id":"` + whID + `","secret":"x"}`, "InvalidInput", "cannot be combined", 400},
		{`{"webhook_id":"nope_nope"}`, "NotFound_Webhook", "nope_nope", 404},
		{`{"url":"ftp://x/hook"}`, "InvalidInput", "url", 400},
		{`{"url":"` + rcv.url + `","profile":"zapier"}`, "InvalidInput", "profile", 400},
		{`{"url":"` + rcv.url + `","events":["sync_middle"]}`, "InvalidInput", "sync_middle", 400},
		{`{"url":"` + rcv.url + `","timeout":"2m"}`, "InvalidInput", "timeout", 400},
		{`{"url":"` + rcv.url + `","timeout":"soon"}`, "InvalidInput", "timeout", 400},
		{`{"url":"` + rcv.url + `","signing":{"scheme":"token"}}`, "InvalidInput", "signing", 400},
		{`{"url":"` + rcv.url + `","bogus":1}`, "InvalidInput", "bogus", 400},
	} {
		r := e.do(http.MethodPost, "/standin/v1/checks", tc.body)
		require.Equal(t, tc.status, r.status, "%s: %s", tc.body, r.body)
		var env struct{ Code, Message string }
		decode(t, r.body, &env)
		require.Equal(t, tc.code, env.Code, tc.body)
		require.Contains(t, env.Message, tc.msg, tc.body)
	}
	require.Empty(t, rcv.sums, "no refused request sent anything")
	r := e.do(http.MethodGet, "/standin/v1/checks/nope", "")
	require.Equal(t, http.StatusNotFound, r.status)
	require.Contains(t, string(r.body), `"code":"NotFound_Check"`)
	require.True(t, strings.HasPrefix(string(r.body), `{"code":"NotFound_Check","message":`), string(r.body))
}

// TestChecksGRPC runs and reads a check over gRPC.
func TestChecksGRPC(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	rcv := newVerifyingReceiver(t, "s3cret")
	cli := standinv1.NewCheckServiceClient(startGRPC(t, e))
	ctx := t.Context()

	run, err := cli.RunCheck(ctx, &standinv1.RunCheckRequest{Url: rcv.url, Secret: "s3cret", Events: []string{"sync_end"}})
	require.NoError(t, err)
	rep := run.GetData()
	require.NotEmpty(t, rep.GetId())
	require.Equal(t, rcv.url, rep.GetUrl())
	require.True(t, rep.GetReachable())
	require.Zero(t, rep.GetSummary().GetFail(), "a correct receiver fails no probe")
	var forged *standinv1.CheckProbe
	for _, p := range rep.GetProbes() {
		if p.GetId() == "rejects_forged" {
			forged = p
		}
	}
	require.NotNil(t, forged)
	require.Equal(t, "pass", forged.GetVerdict())
	require.Equal(t, int32(http.StatusUnauthorized), forged.GetExchanges()[0].GetStatus())
	sig := forged.GetExchanges()[0].GetRequest().GetHeaders()[delivery.HeaderFivetranSignature].GetValues()
	require.Len(t, sig, 1)
	require.Len(t, sig[0].GetStringValue(), 64, "the forged signature is sent as hex")

	got, err := cli.GetCheck(ctx, &standinv1.GetCheckRequest{Id: rep.GetId()})
	require.NoError(t, err)
	require.Equal(t, rep.GetWallTimeMs(), got.GetData().GetWallTimeMs())
	require.Equal(t, len(rep.GetProbes()), len(got.GetData().GetProbes()))

	_, err = cli.GetCheck(ctx, &standinv1.GetCheckRequest{Id: "nope"})
	require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
	_, err = cli.RunCheck(ctx, &standinv1.RunCheckRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	_, err = cli.RunCheck(ctx, &standinv1.RunCheckRequest{WebhookId: "nope_nope"})
	require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
}
