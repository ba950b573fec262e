package testkit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/testkit"
)

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSecretsNeverLeak exercises every place a secret passes through — the
// API secret on every call, webhook secrets of every signing scheme on
// create, rotation, URL check, test calls, deliveries, failures and
// retries, over REST and gRPC — and then looks for the secrets in
// everything standin shows or keeps: its logs at debug level (River's
// included), every response body and header and every gRPC answer and
// error, and the delivery log (attempt headers, errors and excerpts). The
// receivers, which must get them, are the control.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		apiKey    = "api-key-1f3a"
		apiSecret = "api-secret-7c1e9b"
		fivetran  = "wh-fivetran-secret-51d0"
		hmacKey   = "wh-hmac-secret-88a2"
		token     = "wh-token-secret-0b6f"
		rotated   = "wh-rotated-secret-93aa"
		refused   = "wh-refused-secret-2d1f"
	)
	standardKey := "wh-standard-key-e4c7"
	standard := "whsec_" + base64.StdEncoding.EncodeToString([]byte(standardKey))
	secrets := []string{apiSecret, fivetran, hmacKey, token, rotated, refused, standard, standardKey,
		base64.StdEncoding.EncodeToString([]byte(apiKey + ":" + apiSecret))}

	logs := &lockedBuffer{}
	sd := testkit.Start(t, testkit.Config{
		TimeScale: 1e6,
		APIKey:    apiKey,
		APISecret: apiSecret,
		URLCheck:  true,
		Logger:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	ok := testkit.NewReceiver(t, "")
	flaky := testkit.NewReceiver(t, "")
	failing := testkit.NewReceiver(t, "")
	failing.Default = testkit.Response{Status: 500, Body: "receiver says no"}

	var seen bytes.Buffer // every response standin gave
	call := func(method, path, body string) []byte {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, sd.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(apiKey, apiSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Header.Write(&seen)
		seen.Write(raw)
		seen.WriteByte('\n')
		return raw
	}
	create := func(url, secret, signing string) string {
		t.Helper()
		raw := call("POST", "/v1/webhooks/account", `{"url":"`+url+`","events":["sync_end"],"secret":"`+secret+`"`+signing+`}`)
		var env struct {
			Code string `json:"code"`
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil || env.Code != "Success" {
			t.Fatalf("create webhook: %s", raw)
		}
		return env.Data.ID
	}
	hooks := map[string]string{
		create(ok.URL+"/fivetran", fivetran, ``):                                                                  "fivetran",
		create(flaky.URL+"/hmac", hmacKey, `,"signing":{"scheme":"hmac","algorithm":"sha512"}`):                   "hmac",
		create(ok.URL+"/token", token, `,"signing":{"scheme":"token","header":"X-Api-Token"}`):                    "token",
		create(ok.URL+"/standard", standard, `,"signing":{"scheme":"standard"}`):                                  "standard",
		create(failing.URL+"/inactive", refused, `,"active":false,"signing":{"scheme":"token","header":"X-Tok"}`): "inactive",
	}
	// Refused requests: the URL check fails; a secret that cannot be sent.
	call("POST", "/v1/webhooks/account", `{"url":"`+failing.URL+`/x","events":["sync_end"],"secret":"`+refused+`","signing":{"scheme":"token","header":"X-Tok"}}`)
	call("POST", "/v1/webhooks/account", `{"url":"`+ok.URL+`/x","events":["sync_end"],"secret":"`+refused+`\n","signing":{"scheme":"token","header":"X-Tok"},"active":false}`)
	for id, name := range hooks {
		call("GET", "/v1/webhooks/"+id, "")
		call("POST", "/v1/webhooks/"+id+"/test", `{"event":"sync_end"}`)
		if name == "inactive" {
			call("PATCH", "/v1/webhooks/"+id, `{"active":true}`) // refused by the URL check
		}
	}
	call("GET", "/v1/webhooks", "")

	// gRPC: create, rotate, read back.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte(apiKey+":"+apiSecret)))
	grpcSeen := func(m proto.Message, err error) {
		if err != nil {
			seen.WriteString(err.Error() + "\n")
			return
		}
		b, _ := protojson.Marshal(m)
		seen.Write(b)
	}
	webhooks := standinv1.NewWebhookServiceClient(sd.GRPCConn())
	created, err := webhooks.CreateAccountWebhook(ctx, &standinv1.CreateAccountWebhookRequest{Webhook: &standinv1.WebhookSpec{
		Url: ok.URL + "/grpc", Events: []string{"sync_end"}, Secret: fivetran + "-grpc",
	}})
	grpcSeen(created, err)
	if err != nil {
		t.Fatal(err)
	}
	hooks[created.GetData().GetId()] = "grpc"
	secrets = append(secrets, fivetran+"-grpc")
	grpcSeen(webhooks.UpdateWebhook(ctx, &standinv1.UpdateWebhookRequest{Id: created.GetData().GetId(), Webhook: &standinv1.WebhookSpec{Secret: rotated}}))
	grpcSeen(webhooks.GetWebhook(ctx, &standinv1.GetWebhookRequest{Id: created.GetData().GetId()}))
	grpcSeen(webhooks.ListWebhooks(ctx, &standinv1.ListWebhooksRequest{}))
	grpcSeen(webhooks.CreateAccountWebhook(ctx, &standinv1.CreateAccountWebhookRequest{Webhook: &standinv1.WebhookSpec{
		Url: failing.URL + "/grpc", Events: []string{"sync_end"}, Secret: refused,
	}}))

	// Deliveries: the hmac receiver fails twice, so there are retries.
	flaky.FailFirst(2, 503)
	raw := call("POST", "/standin/v1/events", `{"event":"sync_end","status":"FAILURE","reason":"boom"}`)
	var emitted struct {
		Data client.EmittedEvent `json:"data"`
	}
	if err := json.Unmarshal(raw, &emitted); err != nil || len(emitted.Data.Deliveries) != 5 {
		t.Fatalf("emit: %s", raw)
	}
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var attempts []testkit.Attempt
	for _, d := range emitted.Data.Deliveries {
		got, as := sd.AwaitDelivery(waitCtx, d.ID)
		if got.State != testkit.StateSucceeded {
			t.Errorf("delivery to %s: %s", hooks[d.WebhookID], got.State)
		}
		if got.LastError != "" {
			seen.WriteString(got.LastError)
		}
		attempts = append(attempts, as...)
		call("GET", "/standin/v1/deliveries/"+d.ID, "")
		res, err := standinv1.NewDeliveryServiceClient(sd.GRPCConn()).GetDelivery(ctx, &standinv1.GetDeliveryRequest{Id: d.ID})
		grpcSeen(res, err)
	}
	call("GET", "/standin/v1/deliveries?limit=1000", "")

	// The delivery log: what it keeps of each attempt.
	var tokenSeen, signaturesKept bool
	for _, a := range attempts {
		_ = a.RequestHeaders.Write(&seen)
		_ = a.ResponseHeaders.Write(&seen)
		seen.WriteString(a.Error + "\n")
		seen.WriteString(a.ResponseExcerpt)
		if v := a.RequestHeaders.Get("X-Api-Token"); v != "" {
			tokenSeen = true
			if v != delivery.Redacted {
				t.Errorf("token header recorded as %q, want %q", v, delivery.Redacted)
			}
		}
		if a.RequestHeaders.Get(delivery.HeaderWebhookSignature) != "" && a.RequestHeaders.Get(delivery.HeaderFivetranSignature) == "" {
			signaturesKept = true
		}
	}
	if !tokenSeen || !signaturesKept {
		t.Errorf("the delivery log lost headers: token recorded %v, standard signature kept %v", tokenSeen, signaturesKept)
	}

	// The control: receivers got the secrets, the logs are at debug level.
	var tokenReceived bool
	for _, r := range ok.Requests() {
		tokenReceived = tokenReceived || r.Header.Get("X-Api-Token") == token
	}
	if !tokenReceived {
		t.Error("the token receiver never got its token")
	}
	for _, want := range []string{`"msg":"http request"`, `"msg":"delivery attempt"`, `"msg":"grpc request"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("debug logs lack %s", want)
		}
	}

	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("secret %q is in the logs", s)
		}
		if strings.Contains(seen.String(), s) {
			t.Errorf("secret %q is in a response, error or the delivery log", s)
		}
	}
}
