package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/export"
)

// listenFlags configure `standin listen`.
type listenFlags struct {
	port      int
	secret    string
	signing   signingFlags
	failFirst int
	status    int
	delay     time.Duration
	forward   string
	printBody bool
	capture   string
}

func newListenCmd() *cobra.Command {
	var f listenFlags
	cmd := &cobra.Command{
		Use:   "listen [--port P] [--secret S] [flags]",
		Short: "Run a local webhook receiver that prints what standin sends",
		Long: `Run a webhook receiver on 127.0.0.1 that prints one line per request: the time,
the path, the event, the attempt number of that body (retries repeat the same
bytes), key fields (connector_id, sync_id, group, flow_id, status, reason), and
whether the signature is valid, invalid or absent, checked against --secret
with the scheme of the --signing-* flags (default Fivetran's
X-Fivetran-Signature-256), exactly as a receiver would.

It answers as told, so you can watch standin's retries without writing a
receiver: 200 by default, --status CODE for every request, --fail-first N to
answer 500 to the first N attempts of each body and then 200 (except test_event,
the one-shot URL check of a webhook being created or activated, which gets
200), --delay D to hold each answer back (standin's timeout is 10 s). With
--forward URL each request is relayed (same body and headers) to your own
receiver, whose answer is printed and passed back to standin.

--port 0 picks a free port; the secret may also come from
STANDIN_LISTEN_SECRET. Ctrl-C stops it (exit 0).`,
		Example: `  # print what arrives and verify Fivetran signatures
  standin listen --port 9000 --secret my_secret

  # make standin retry: fail each delivery twice, then accept it
  standin listen --port 9000 --secret my_secret --fail-first 2

  # Standard Webhooks, with the bodies
  standin listen --port 9000 --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --signing-scheme standard --print-body

  # watch the traffic on its way to your own receiver
  standin listen --port 9000 --secret my_secret --forward http://127.0.0.1:5000/webhooks/fivetran`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runListen(cmd, f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.port, "port", 9000, "port to listen on at 127.0.0.1; 0 picks a free one")
	fl.StringVar(&f.secret, "secret", "", "the webhook's secret, to verify signatures; empty: only report whether one is present")
	f.signing.add(cmd)
	fl.IntVar(&f.failFirst, "fail-first", 0, "answer 500 to the first N attempts of each body, then 200 (or --forward); test_event URL checks always get 200")
	fl.IntVar(&f.status, "status", http.StatusOK, "HTTP status to answer every request with")
	fl.DurationVar(&f.delay, "delay", 0, "hold each answer back this long")
	fl.StringVar(&f.forward, "forward", "", "relay each request to this URL and answer standin with its response")
	fl.BoolVar(&f.printBody, "print-body", false, "print each request body, indented")
	fl.StringVar(&f.capture, "capture", "", "append each request to this file as a JSON line (method, path, headers, body, at) that standin replay reads")
	bindEnv(cmd, map[string]string{"secret": "STANDIN_LISTEN_SECRET"})
	return cmd
}

func runListen(cmd *cobra.Command, f listenFlags) error {
	signing, err := f.signing.signing()
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	switch {
	case f.port < 0 || f.port > 65535:
		return usageErr("--port %d: want 0 to 65535", f.port)
	case f.failFirst < 0:
		return usageErr("--fail-first must not be negative")
	case fl.Changed("status") && fl.Changed("fail-first"):
		return usageErr("--status and --fail-first do not go together: --fail-first answers 500, then 200")
	case fl.Changed("status") && f.forward != "":
		return usageErr("--status and --forward do not go together: --forward answers with your receiver's status")
	case f.status < 100 || f.status > 999:
		return usageErr("--status %d: want an HTTP status code", f.status)
	case f.delay < 0:
		return usageErr("--delay must not be negative")
	}
	if f.forward != "" {
		u, err := url.Parse(f.forward)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErr("--forward %q: want an absolute http(s) URL", f.forward)
		}
	}

	lis, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ctx := cmd.Context()
	l := &listener{
		flags:    f,
		signing:  signing,
		out:      cmd.OutOrStdout(),
		attempts: map[[sha256.Size]byte]int{},
		stopping: ctx.Done(),
		client:   &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	if f.capture != "" {
		file, err := os.OpenFile(f.capture, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			lis.Close()
			return fmt.Errorf("--capture: %w", err)
		}
		defer file.Close()
		l.capture = json.NewEncoder(file)
		l.capture.SetEscapeHTML(false)
	}
	srv := &http.Server{Handler: l, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()

	fmt.Fprintf(l.out, "Listening on http://%s — point a webhook at it; Ctrl-C stops.\n", lis.Addr())
	fmt.Fprintf(l.out, "  %s; %s.\n", l.describeChecks(), l.describeAnswers())

	select {
	case err := <-done:
		return fmt.Errorf("listen: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	<-done
	l.mu.Lock()
	fmt.Fprintf(l.out, "Stopped after %s.\n", plural(l.requests, "request"))
	l.mu.Unlock()
	return err
}

// listener is the http.Handler of `standin listen`.
type listener struct {
	flags    listenFlags
	signing  delivery.Signing
	out      io.Writer
	client   *http.Client
	stopping <-chan struct{}

	mu       sync.Mutex // guards out, attempts, requests, capture
	attempts map[[sha256.Size]byte]int
	requests int
	// capture, when set, gets each request as a raw capture line.
	capture *json.Encoder
}

func (l *listener) describeChecks() string {
	scheme := l.signing.Scheme
	if scheme == "" {
		scheme = delivery.SchemeFivetran
	}
	switch {
	case scheme == delivery.SchemeNone:
		return "signing scheme none: signatures are not checked"
	case l.flags.secret == "":
		return fmt.Sprintf("no --secret: %s signatures are reported present or absent, not checked", scheme)
	}
	return fmt.Sprintf("checking %s signatures (%s) against --secret", scheme, signatureHeader(l.signing))
}

func (l *listener) describeAnswers() string {
	var s string
	switch {
	case l.flags.failFirst > 0 && l.flags.forward != "":
		s = fmt.Sprintf("answering 500 to the first %s of each body, then forwarding to %s", plural(l.flags.failFirst, "attempt"), l.flags.forward)
	case l.flags.failFirst > 0:
		s = fmt.Sprintf("answering 500 to the first %s of each body, then 200", plural(l.flags.failFirst, "attempt"))
	case l.flags.forward != "":
		s = "forwarding to " + l.flags.forward
	default:
		s = fmt.Sprintf("answering %d", l.flags.status)
	}
	if l.flags.delay > 0 {
		s += " after " + l.flags.delay.String()
	}
	return s
}

// signatureHeader is the header that carries s's signature.
func signatureHeader(s delivery.Signing) string {
	switch s.Scheme {
	case delivery.SchemeHMAC:
		if s.Header != "" {
			return http.CanonicalHeaderKey(s.Header)
		}
		return delivery.HeaderHMACSign
	case delivery.SchemeToken:
		return http.CanonicalHeaderKey(s.Header)
	case delivery.SchemeStandard:
		return delivery.HeaderWebhookSignature
	case delivery.SchemeNone:
		return ""
	}
	return delivery.HeaderFivetranSignature
}

// verdict checks the request's signature: valid, invalid (with why),
// absent, present (not checked: no secret) or unchecked (scheme none).
func (l *listener) verdict(h http.Header, body []byte, now time.Time) string {
	name := signatureHeader(l.signing)
	if name == "" {
		return "unchecked"
	}
	present := h.Get(name) != ""
	if l.flags.secret == "" {
		if present {
			return "present (not checked: no --secret)"
		}
		return "absent"
	}
	err := l.signing.Verify(l.flags.secret, h, body, now)
	switch {
	case err == nil:
		return "valid"
	case errors.Is(err, delivery.ErrMissingSignature):
		return "absent"
	}
	return "invalid (" + err.Error() + ")"
}

// ServeHTTP implements http.Handler.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	now := time.Now()
	sig := l.verdict(r.Header, body, now)
	l.mu.Lock()
	if l.capture != nil {
		if err := l.capture.Encode(export.Captured(r.Method, r.URL.RequestURI(), r.Header, body, now)); err != nil {
			fmt.Fprintf(l.out, "capture: %v\n", err)
		}
	}
	l.requests++
	key := sha256.Sum256(body)
	l.attempts[key]++
	attempt := l.attempts[key]
	l.mu.Unlock()

	if d := l.flags.delay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-l.stopping:
		}
		t.Stop()
	}

	status, note := l.answer(w, r, body, attempt)

	var line strings.Builder
	fmt.Fprintf(&line, "%s  %s %s  %s  attempt=%d", now.Format("15:04:05.000"), r.Method, r.URL.RequestURI(), eventName(body), attempt)
	for _, kv := range keyFields(body) {
		fmt.Fprintf(&line, "  %s=%s", kv[0], kv[1])
	}
	fmt.Fprintf(&line, "  signature=%s  → %d", sig, status)
	if note != "" {
		line.WriteString(" (" + note + ")")
	}
	line.WriteByte('\n')
	if l.flags.printBody {
		var buf bytes.Buffer
		if json.Indent(&buf, body, "    ", "  ") == nil {
			line.WriteString("    " + buf.String() + "\n")
		} else {
			line.WriteString("    " + string(body) + "\n")
		}
	}
	l.mu.Lock()
	io.WriteString(l.out, line.String())
	l.mu.Unlock()
}

// answer writes the response to standin and returns its status and a note
// on why it was chosen.
func (l *listener) answer(w http.ResponseWriter, r *http.Request, body []byte, attempt int) (int, string) {
	f := l.flags
	switch {
	case attempt <= f.failFirst && eventName(body) == "test_event":
		// Fivetran's URL check is one request, never retried: failing it
		// would only refuse the webhook being created.
		w.WriteHeader(http.StatusOK)
		return http.StatusOK, "URL check: --fail-first does not apply"
	case attempt <= f.failFirst:
		http.Error(w, "standin listen: --fail-first", http.StatusInternalServerError)
		return http.StatusInternalServerError, fmt.Sprintf("--fail-first %d", f.failFirst)
	case f.forward != "":
		return l.relay(w, r, body)
	}
	w.WriteHeader(f.status)
	return f.status, ""
}

// hopHeaders are not relayed by --forward (RFC 9110 §7.6.1, plus the ones
// net/http sets itself).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Host"}

// relay forwards the request to --forward and copies its answer back.
func (l *listener) relay(w http.ResponseWriter, r *http.Request, body []byte) (int, string) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, l.flags.forward, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return http.StatusBadGateway, "forward: " + err.Error()
	}
	req.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		http.Error(w, "standin listen: forward failed", http.StatusBadGateway)
		return http.StatusBadGateway, "forward failed: " + unwrapURLErr(err).Error()
	}
	defer resp.Body.Close()
	rbody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	for k, vs := range resp.Header {
		if k == "Content-Length" || k == "Connection" || k == "Transfer-Encoding" {
			continue
		}
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(rbody)
	note := "forwarded: your receiver answered " + strconv.Itoa(resp.StatusCode)
	if ex := strings.TrimSpace(string(rbody)); ex != "" {
		if len(ex) > 80 {
			ex = ex[:80] + "…"
		}
		note += " " + strconv.Quote(ex)
	}
	return resp.StatusCode, note
}

func unwrapURLErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// eventName is the body's "event", or a placeholder when the body is not a
// JSON object with one.
func eventName(body []byte) string {
	var v struct {
		Event string `json:"event"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "(not JSON)"
	}
	return orDash(v.Event)
}

// keyFields picks the fields people look for in a Fivetran or Portable body,
// in a fixed order: connector_id, sync_id, group, flow_id, run_attempt_id,
// status (Portable's, or Fivetran's data.status) and reason.
func keyFields(body []byte) [][2]string {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil
	}
	data, _ := m["data"].(map[string]any)
	var out [][2]string
	add := func(name string, v any) {
		switch v := v.(type) {
		case nil:
		case string:
			if v != "" {
				out = append(out, [2]string{name, quoteIfSpaced(v)})
			}
		case json.Number:
			out = append(out, [2]string{name, v.String()})
		}
	}
	add("connector_id", m["connector_id"])
	add("sync_id", m["sync_id"])
	if g, ok := m["destination_group_id"]; ok {
		add("group", g)
	} else {
		add("group", m["group_id"])
	}
	add("flow_id", m["flow_id"])
	add("run_attempt_id", m["run_attempt_id"])
	if s, ok := m["status"]; ok {
		add("status", s)
	} else if data != nil {
		add("status", data["status"])
	}
	if data != nil {
		add("reason", data["reason"])
	}
	return out
}

func quoteIfSpaced(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return strconv.Quote(s)
	}
	return s
}
